#include "tm_gemm_s8.h"

/* Fully connected as a GEMM: each batch row becomes one int16 column in scratch and meets
 * the weights four output rows at a time in the pair layout (tm_gemm_s8.h tm_gemm_pairs:
 * three instructions for four products). */
int32_t tm_fully_connected_dsp_s8_get_buffer_size(const tm_fully_connected_s8_params *p)
{
    const int32_t depth4 = (p->in_features + 3) / 4 * 4;
    return depth4 * (int32_t)sizeof(int16_t);
}

int tm_fully_connected_dsp_s8(const tm_fully_connected_s8_params *p, const int8_t *input,
                              const int8_t *weights, const int32_t *offset_terms,
                              const int32_t *multiplier, const int32_t *shift, int8_t *output,
                              void *scratch)
{
    const int32_t depth4 = (p->in_features + 3) / 4 * 4;
    const tm_gemm_output o = tm_gemm_output_of(offset_terms, multiplier, shift,
                                               p->out_features, p->output_offset, p->act_min,
                                               p->act_max);
    uint32_t *column = (uint32_t *)scratch;
    for (int32_t b = 0; b < p->batches; ++b) {
        tm_column_padded_s16(column, input + b * p->in_features, p->in_features, 2);
        tm_gemm_pairs(column, tm_column_sum128(column, depth4 / 4), weights, depth4,
                      p->out_features, &o, output + b * p->out_features);
    }
    return TM_OK;
}
