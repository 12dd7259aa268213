#include "tm_gemm_fast_s8.h"

/* General conv (one group) as a GEMM on every core: each output pixel's window becomes a
 * uint8 column in scratch (im2col), four pixels interleaved, and meets every output channel
 * pair (tm_gemm_fast_s8.h). Taps outside the image hold the input zero point (+ 128), which
 * adds nothing. Windows are read by pitch and clipped at in_h/in_w, so a region of a larger
 * tensor works as a whole one. */
static int32_t tm_im2col_fast_depth(const tm_conv_geometry *g)
{
    return g->kernel_h * g->kernel_w * g->in_c;
}

int32_t tm_conv2d_im2col_fast_s8_get_buffer_size(const tm_conv2d_s8_params *p)
{
    return 4 * tm_im2col_fast_depth(&p->geometry);
}

/* Output pixel (oy, ox)'s window as a column, `step` bytes apart. A kernel row wholly
 * inside the image with no dilation is one run of kernel_w * in_c bytes. */
static void tm_im2col_fast(uint8_t *column, int32_t step, const int8_t *image,
                           const tm_conv_geometry *g, int32_t oy, int32_t ox, uint8_t padding)
{
    const int32_t iy0 = oy * g->stride_h - g->pad_top;
    const int32_t ix0 = ox * g->stride_w - g->pad_left;
    const int32_t run = g->kernel_w * g->in_c;
    const int whole_rows = g->dilation_w == 1 && ix0 >= 0 && ix0 + g->kernel_w <= g->in_w;
    for (int32_t fy = 0; fy < g->kernel_h; ++fy) {
        const int32_t iy = iy0 + fy * g->dilation_h;
        const int row_inside = iy >= 0 && iy < g->in_h;
        const int8_t *row = row_inside ? image + iy * g->in_pitch : image;
        if (row_inside && whole_rows) {
            tm_fast_column(column, row + ix0 * g->in_c, run, step);
            column += run * step;
            continue;
        }
        for (int32_t fx = 0; fx < g->kernel_w; ++fx) {
            const int32_t ix = ix0 + fx * g->dilation_w;
            if (row_inside && ix >= 0 && ix < g->in_w) {
                tm_fast_column(column, row + ix * g->in_c, g->in_c, step);
            } else {
                tm_fast_fill(column, padding, g->in_c, step);
            }
            column += g->in_c * step;
        }
    }
}

int tm_conv2d_im2col_fast_s8(const tm_conv2d_s8_params *p, const int8_t *input,
                             const int8_t *weights, const int32_t *offset_terms,
                             const int32_t *multiplier, const int32_t *shift, int8_t *output,
                             void *scratch)
{
    const tm_conv_geometry *g = &p->geometry;
    const int32_t depth = tm_im2col_fast_depth(g);
    const tm_fast_output o = {offset_terms, multiplier, shift, p->output_offset, p->act_min,
                              p->act_max};
    uint8_t *columns = (uint8_t *)scratch;
    const uint8_t padding = (uint8_t)((uint8_t)(int8_t)(-p->input_offset) ^ 0x80u);
    /* four pixels share one pass when their outputs are out_c apart: within a row, or
     * across rows of a whole tensor */
    const int contiguous = g->out_pitch == g->out_w * g->out_c;
    const int32_t rows = contiguous ? 1 : g->out_h;
    const int32_t width = contiguous ? g->out_h * g->out_w : g->out_w;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *image = input + b * g->in_h * g->in_pitch;
        for (int32_t row = 0; row < rows; ++row) {
            int8_t *y = output + (b * g->out_h + row) * g->out_pitch;
            int32_t i = 0;
            for (; i + 4 <= width; i += 4) {
                for (int32_t c = 0; c < 4; ++c) {
                    const int32_t pixel = row * g->out_w + i + c;
                    tm_im2col_fast(columns + c, 4, image, g, pixel / g->out_w,
                                   pixel % g->out_w, padding);
                }
                tm_fast_gemm_4(columns, weights, depth, g->out_c, &o, y + i * g->out_c,
                               g->out_c);
            }
            for (; i < width; ++i) {
                const int32_t pixel = row * g->out_w + i;
                tm_im2col_fast(columns, 1, image, g, pixel / g->out_w, pixel % g->out_w,
                               padding);
                tm_fast_gemm_1(columns, weights, depth, g->out_c, &o, y + i * g->out_c);
            }
        }
    }
    return TM_OK;
}
