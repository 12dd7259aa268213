#include "tm_nn.h"

int tm_mean_generic_f32(const tm_mean_f32_params *p, const float *input, float *output)
{
    for (int32_t o = 0; o < p->outer; ++o) {
        const float *block = input + o * p->reduce * p->inner;
        for (int32_t i = 0; i < p->inner; ++i) {
            float sum = 0.0f;
            for (int32_t r = 0; r < p->reduce; ++r) {
                sum += block[r * p->inner + i];
            }
            *output++ = sum / (float)p->reduce;
        }
    }
    return TM_OK;
}
