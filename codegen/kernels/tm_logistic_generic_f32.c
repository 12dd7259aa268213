#include <math.h>

#include "tm_nn.h"

/* As TFLite Micro's float reference: exactly 1 above 16.62, exp(x) below -9. */
int tm_logistic_generic_f32(const float *input, float *output, int32_t size)
{
    for (int32_t i = 0; i < size; ++i) {
        const float x = input[i];
        if (x > 16.619047164916992188f) {
            output[i] = 1.0f;
        } else if (x < -9.0f) {
            output[i] = expf(x);
        } else {
            output[i] = 1.0f / (1.0f + expf(-x));
        }
    }
    return TM_OK;
}
