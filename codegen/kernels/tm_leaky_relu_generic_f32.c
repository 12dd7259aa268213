#include "tm_nn.h"

int tm_leaky_relu_generic_f32(const tm_leaky_relu_f32_params *p, const float *input,
                              float *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const float x = input[i];
        output[i] = x > 0.0f ? x : x * p->alpha;
    }
    return TM_OK;
}
