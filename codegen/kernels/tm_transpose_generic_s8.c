#include "tm_nn.h"

int tm_transpose_generic_s8(const tm_transpose_params *p, const int8_t *input, int8_t *output)
{
    /* an odometer over the output dims; offset is the input element under it */
    int32_t index[TM_MAX_DIMS] = {0};
    int32_t offset = 0;
    for (int32_t n = 0; n < p->count; ++n) {
        output[n] = input[offset];
        for (int32_t d = p->rank - 1; d >= 0; --d) {
            offset += p->strides[d];
            if (++index[d] < p->dims[d]) {
                break;
            }
            offset -= p->strides[d] * p->dims[d];
            index[d] = 0;
        }
    }
    return TM_OK;
}
