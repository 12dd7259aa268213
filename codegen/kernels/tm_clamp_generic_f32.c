#include "tm_nn.h"

int tm_clamp_generic_f32(const tm_clamp_f32_params *p, const float *input, float *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = tm_clamp_f32(input[i], p->lo, p->hi);
    }
    return TM_OK;
}
