#include "tm_nn.h"

int tm_mean_generic_s8(const tm_mean_s8_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t o = 0; o < p->outer; ++o) {
        const int8_t *block = input + o * p->reduce * p->inner;
        for (int32_t i = 0; i < p->inner; ++i) {
            int32_t sum = p->sum_offset;
            for (int32_t r = 0; r < p->reduce; ++r) {
                sum += block[r * p->inner + i];
            }
            const int32_t out = tm_requantize(sum, p->multiplier, p->shift) + p->output_offset;
            *output++ = tm_clamp_s8(out, INT8_MIN, INT8_MAX);
        }
    }
    return TM_OK;
}
