#include "tm_gemm_s8t2.h"

/* 1x1 conv without padding on ternary weights, any stride, as a GEMM (tm_gemm_s8t2.h): four
 * output pixels of a row at a time become interleaved offset-binary columns in scratch and
 * meet every output channel; a row's last pixels one by one. Rows by pitch, as
 * tm_conv2d_1x1_dsp_s8; a strided layer reads every stride_w-th pixel of every stride_h-th
 * row, with no im2col window. */
int32_t tm_conv2d_1x1_dsp_s8t2_get_buffer_size(const tm_conv2d_s8_params *p)
{
    return 4 * ((p->geometry.in_c + 3) / 4) * (int32_t)sizeof(uint32_t);
}

int tm_conv2d_1x1_dsp_s8t2(const tm_conv2d_s8_params *p, const int8_t *input,
                           const uint8_t *codes, const int32_t *offset_terms, const int32_t *gain,
                           const int32_t *bias, const int32_t *multiplier, const int32_t *shift,
                           int8_t *output, void *scratch)
{
    const tm_conv_geometry *g = &p->geometry;
    const int32_t groups = (g->in_c + 3) / 4;
    const tm_gemm_output o = tm_gemm_output_of(offset_terms, multiplier, shift, g->out_c,
                                               p->output_offset, p->act_min, p->act_max);
    const tm_t2_weights w = {gain, bias};
    uint32_t *columns = (uint32_t *)scratch;
    const int unit = g->stride_h == 1 && g->stride_w == 1;
    const int contiguous = unit && g->in_pitch == g->in_w * g->in_c
                           && g->out_pitch == g->out_w * g->out_c;
    const int32_t rows = contiguous ? 1 : g->batches * g->out_h;
    const int32_t width = contiguous ? g->batches * g->out_h * g->out_w : g->out_w;
    const int32_t pixel = g->stride_w * g->in_c;   /* from one output pixel's input to the next */
    for (int32_t row = 0; row < rows; ++row) {
        const int32_t b = row / g->out_h, oy = row % g->out_h;
        const int8_t *x = input + (b * g->in_h + oy * g->stride_h) * g->in_pitch;
        int8_t *y = output + row * g->out_pitch;
        int32_t i = 0;
        for (; i + 4 <= width; i += 4) {
            for (int32_t c = 0; c < 4; ++c) {
                tm_column_padded_u8(columns + c, x + (i + c) * pixel, g->in_c, 4);
            }
            tm_gemm_t2_4_columns(columns, codes, groups, g->out_c, &o, &w, y + i * g->out_c,
                                 g->out_c);
        }
        for (; i < width; ++i) {
            tm_column_padded_u8(columns, x + i * pixel, g->in_c, 1);
            tm_gemm_t2_1_column(columns, codes, groups, g->out_c, &o, &w, y + i * g->out_c);
        }
    }
    return TM_OK;
}
