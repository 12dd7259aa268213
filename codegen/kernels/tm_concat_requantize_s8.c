#include "tm_nn.h"

int tm_concat_requantize_s8(const tm_concat_s8_params *p, const int32_t *copy_sizes,
                            const int32_t *input_offsets, const int32_t *multipliers,
                            const int32_t *shifts, const int8_t *const *inputs, int8_t *output)
{
    int32_t row = 0;
    for (int32_t i = 0; i < p->inputs_count; ++i) {
        row += copy_sizes[i];
    }
    for (int32_t i = 0; i < p->inputs_count; ++i) {
        const int8_t *input = inputs[i];
        for (int32_t o = 0; o < p->outer; ++o) {
            int8_t *dst = output + o * row;
            for (int32_t k = 0; k < copy_sizes[i]; ++k) {
                const int32_t value = tm_requantize(*input++ + input_offsets[i], multipliers[i],
                                                    shifts[i]) + p->output_offset;
                dst[k] = tm_clamp_s8(value, INT8_MIN, INT8_MAX);
            }
        }
        output += copy_sizes[i];
    }
    return TM_OK;
}
