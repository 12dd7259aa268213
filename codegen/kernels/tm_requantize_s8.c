#include "tm_nn.h"

int tm_requantize_s8(const tm_requantize_s8_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t value = tm_requantize(input[i] + p->input_offset, p->multiplier, p->shift) +
                              p->output_offset;
        output[i] = tm_clamp_s8(value, INT8_MIN, INT8_MAX);
    }
    return TM_OK;
}
