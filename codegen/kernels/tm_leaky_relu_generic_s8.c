#include "tm_nn.h"

int tm_leaky_relu_generic_s8(const tm_leaky_relu_s8_params *p, const int8_t *input,
                             int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t value = input[i] - p->input_zero_point;
        int32_t out = p->output_zero_point;
        if (value >= 0) {
            out += tm_requantize(value, p->multiplier_identity, p->shift_identity);
        } else {
            const int32_t scaled = tm_requantize(value, p->multiplier_alpha, p->shift_alpha);
            out += p->alpha_negative ? -scaled : scaled;
        }
        output[i] = tm_clamp_s8(out, INT8_MIN, INT8_MAX);
    }
    return TM_OK;
}
