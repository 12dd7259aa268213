#include "tm_gemm_fast_s8.h"

/* Pointwise conv as a GEMM on every core: four pixels of a row at a time become interleaved
 * uint8 columns in scratch and meet every output channel pair (tm_gemm_fast_s8.h); a row's
 * last pixels one by one. Rows are read and written by pitch, so a region of a larger tensor
 * works as a whole one; a whole tensor (rows back to back) is one long row. */
int32_t tm_conv2d_1x1_fast_s8_get_buffer_size(const tm_conv2d_s8_params *p)
{
    return 4 * p->geometry.in_c;
}

int tm_conv2d_1x1_fast_s8(const tm_conv2d_s8_params *p, const int8_t *input,
                          const int8_t *weights, const int32_t *offset_terms,
                          const int32_t *multiplier, const int32_t *shift, int8_t *output,
                          void *scratch)
{
    const tm_conv_geometry *g = &p->geometry;
    const tm_fast_output o = {offset_terms, multiplier, shift, p->output_offset, p->act_min,
                              p->act_max};
    const int contiguous = g->in_pitch == g->in_w * g->in_c && g->out_pitch == g->out_w * g->out_c;
    const int32_t rows = contiguous ? 1 : g->batches * g->out_h;
    const int32_t width = contiguous ? g->batches * g->out_h * g->out_w : g->out_w;
    for (int32_t row = 0; row < rows; ++row) {
        tm_fast_gemm_pixels(input + row * g->in_pitch, width, g->in_c, g->in_c, weights,
                            g->out_c, &o, output + row * g->out_pitch, g->out_c,
                            (uint8_t *)scratch);
    }
    return TM_OK;
}
