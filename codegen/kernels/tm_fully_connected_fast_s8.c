#include "tm_gemm_fast_s8.h"

/* Fully connected as a GEMM on every core: batch rows are the GEMM's pixels
 * (tm_gemm_fast_s8.h), four at a time when there are four, else one uint8 column each. */
int32_t tm_fully_connected_fast_s8_get_buffer_size(const tm_fully_connected_s8_params *p)
{
    return (p->batches >= 4 ? 4 : 1) * p->in_features;
}

int tm_fully_connected_fast_s8(const tm_fully_connected_s8_params *p, const int8_t *input,
                               const int8_t *weights, const int32_t *offset_terms,
                               const int32_t *multiplier, const int32_t *shift, int8_t *output,
                               void *scratch)
{
    const tm_fast_output o = {offset_terms, multiplier, shift, p->output_offset, p->act_min,
                              p->act_max};
    tm_fast_gemm_pixels(input, p->batches, p->in_features, p->in_features, weights,
                        p->out_features, &o, output, p->out_features, (uint8_t *)scratch);
    return TM_OK;
}
