#include <string.h>

#include "tm_nn.h"

int tm_concat_generic_s8(const tm_concat_params *p, const int32_t *copy_sizes,
                         const int8_t *const *inputs, int8_t *output)
{
    int32_t row = 0;
    for (int32_t i = 0; i < p->inputs_count; ++i) {
        row += copy_sizes[i];
    }
    for (int32_t i = 0; i < p->inputs_count; ++i) {
        const int8_t *input = inputs[i];
        for (int32_t o = 0; o < p->outer; ++o) {
            memcpy(output + o * row, input, (size_t)copy_sizes[i] * sizeof(*input));
            input += copy_sizes[i];
        }
        output += copy_sizes[i];
    }
    return TM_OK;
}
