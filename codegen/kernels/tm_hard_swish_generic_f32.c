#include "tm_nn.h"

int tm_hard_swish_generic_f32(const float *input, float *output, int32_t size)
{
    for (int32_t i = 0; i < size; ++i) {
        const float x = input[i];
        output[i] = x * tm_clamp_f32(x + 3.0f, 0.0f, 6.0f) / 6.0f;
    }
    return TM_OK;
}
