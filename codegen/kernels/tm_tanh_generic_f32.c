#include <math.h>

#include "tm_nn.h"

int tm_tanh_generic_f32(const float *input, float *output, int32_t size)
{
    for (int32_t i = 0; i < size; ++i) {
        output[i] = tanhf(input[i]);
    }
    return TM_OK;
}
