#include "tm_gemm_s8t2.h"

/* Fully connected on ternary weights as a GEMM (tm_gemm_s8t2.h): each batch row becomes one
 * offset-binary column in scratch and meets four output rows at a time. */
int32_t tm_fully_connected_dsp_s8t2_get_buffer_size(const tm_fully_connected_s8_params *p)
{
    return (p->in_features + 3) / 4 * (int32_t)sizeof(uint32_t);
}

int tm_fully_connected_dsp_s8t2(const tm_fully_connected_s8_params *p, const int8_t *input,
                                const uint8_t *codes, const int32_t *offset_terms,
                                const int32_t *gain, const int32_t *bias,
                                const int32_t *multiplier, const int32_t *shift, int8_t *output,
                                void *scratch)
{
    const int32_t groups = (p->in_features + 3) / 4;
    const tm_gemm_output o = tm_gemm_output_of(offset_terms, multiplier, shift,
                                               p->out_features, p->output_offset, p->act_min,
                                               p->act_max);
    const tm_t2_weights w = {gain, bias};
    uint32_t *column = (uint32_t *)scratch;
    for (int32_t b = 0; b < p->batches; ++b) {
        tm_row_padded_u8(column, input + b * p->in_features, p->in_features);
        tm_gemm_t2_1_column(column, codes, groups, p->out_features, &o, &w,
                            output + b * p->out_features);
    }
    return TM_OK;
}
