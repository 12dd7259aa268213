#include "tm_nn.h"

int tm_clamp_generic_s8(const tm_clamp_s8_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t out = p->output_zero_point +
                            tm_requantize(input[i] - p->input_zero_point, p->multiplier, p->shift);
        output[i] = tm_clamp_s8(out, p->act_min, p->act_max);
    }
    return TM_OK;
}
