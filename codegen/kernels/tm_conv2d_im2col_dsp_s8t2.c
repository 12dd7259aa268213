#include "tm_gemm_s8t2.h"

/* General conv (one group) on ternary weights as a GEMM (tm_gemm_s8t2.h): each output pixel's
 * window becomes an offset-binary column in scratch, four pixels at a time, and meets every
 * output channel. Taps outside the image hold the input zero point, whose offset-added value
 * is 0. Windows are read by pitch and clipped at in_h/in_w, so a region of a larger tensor
 * works as a whole one. With in_c a multiple of 4 every tap is whole groups, converted
 * straight from the input; otherwise the window is gathered in int8 first (a first layer's
 * few channels). Scratch: four interleaved columns, then one int8 window. */
static int32_t tm_t2_groups(const tm_conv_geometry *g)
{
    return (g->kernel_h * g->kernel_w * g->in_c + 3) / 4;
}

int32_t tm_conv2d_im2col_dsp_s8t2_get_buffer_size(const tm_conv2d_s8_params *p)
{
    const int32_t groups = tm_t2_groups(&p->geometry);
    return 4 * groups * (int32_t)sizeof(uint32_t) + 4 * groups;
}

static int tm_t2_inside(int32_t i, int32_t size)
{
    return i >= 0 && i < size;
}

/* Output pixel (oy, ox)'s window as a column, `step` words per group. */
static void tm_t2_im2col(uint32_t *column, int32_t step, const int8_t *input,
                         const tm_conv_geometry *g, int32_t oy, int32_t ox, int8_t zero_point,
                         int8_t *window)
{
    const int32_t iy0 = oy * g->stride_h - g->pad_top;
    const int32_t ix0 = ox * g->stride_w - g->pad_left;
    if (g->in_c % 4 == 0) {
        const uint32_t padding = ((uint32_t)(uint8_t)zero_point * 0x01010101u) ^ 0x80808080u;
        const int32_t groups = g->in_c / 4;
        const int whole_rows = g->dilation_w == 1 && ix0 >= 0 && ix0 + g->kernel_w <= g->in_w;
        for (int32_t fy = 0; fy < g->kernel_h; ++fy) {
            const int32_t iy = iy0 + fy * g->dilation_h;
            const int row_inside = tm_t2_inside(iy, g->in_h);
            if (row_inside && whole_rows) {   /* one run of kernel_w * in_c bytes */
                tm_column_u8(column, input + iy * g->in_pitch + ix0 * g->in_c,
                             g->kernel_w * g->in_c, step);
                column += g->kernel_w * groups * step;
                continue;
            }
            for (int32_t fx = 0; fx < g->kernel_w; ++fx, column += groups * step) {
                const int32_t ix = ix0 + fx * g->dilation_w;
                if (row_inside && tm_t2_inside(ix, g->in_w)) {
                    tm_column_u8(column, input + iy * g->in_pitch + ix * g->in_c, g->in_c, step);
                } else {
                    for (int32_t k = 0; k < groups; ++k) {
                        column[k * step] = padding;
                    }
                }
            }
        }
        return;
    }
    int8_t *w = window;
    for (int32_t fy = 0; fy < g->kernel_h; ++fy) {
        const int32_t iy = iy0 + fy * g->dilation_h;
        for (int32_t fx = 0; fx < g->kernel_w; ++fx) {
            const int32_t ix = ix0 + fx * g->dilation_w;
            const int inside = tm_t2_inside(iy, g->in_h) && tm_t2_inside(ix, g->in_w);
            const int8_t *x = input + iy * g->in_pitch + ix * g->in_c;
            for (int32_t c = 0; c < g->in_c; ++c) {
                *w++ = inside ? x[c] : zero_point;
            }
        }
    }
    tm_column_padded_u8(column, window, g->kernel_h * g->kernel_w * g->in_c, step);
}

int tm_conv2d_im2col_dsp_s8t2(const tm_conv2d_s8_params *p, const int8_t *input,
                              const uint8_t *codes, const int32_t *offset_terms,
                              const int32_t *gain, const int32_t *bias,
                              const int32_t *multiplier, const int32_t *shift, int8_t *output,
                              void *scratch)
{
    const tm_conv_geometry *g = &p->geometry;
    const int32_t groups = tm_t2_groups(g);
    const tm_gemm_output o = tm_gemm_output_of(offset_terms, multiplier, shift, g->out_c,
                                               p->output_offset, p->act_min, p->act_max);
    const tm_t2_weights w = {gain, bias};
    uint32_t *columns = (uint32_t *)scratch;
    int8_t *window = (int8_t *)(columns + 4 * groups);
    const int8_t zero_point = (int8_t)(-p->input_offset);
    /* four pixels share one call when their outputs are out_c apart: within a row, or
     * across rows of a whole tensor */
    const int contiguous = g->out_pitch == g->out_w * g->out_c;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *image = input + b * g->in_h * g->in_pitch;
        const int32_t rows = contiguous ? 1 : g->out_h;
        const int32_t width = contiguous ? g->out_h * g->out_w : g->out_w;
        for (int32_t row = 0; row < rows; ++row) {
            int8_t *y = output + (b * g->out_h + row) * g->out_pitch;
            int32_t i = 0;
            for (; i + 4 <= width; i += 4) {
                for (int32_t c = 0; c < 4; ++c) {
                    const int32_t pixel = row * g->out_w + i + c;
                    tm_t2_im2col(columns + c, 4, image, g, pixel / g->out_w, pixel % g->out_w,
                                 zero_point, window);
                }
                tm_gemm_t2_4_columns(columns, codes, groups, g->out_c, &o, &w, y + i * g->out_c,
                                     g->out_c);
            }
            for (; i < width; ++i) {
                const int32_t pixel = row * g->out_w + i;
                tm_t2_im2col(columns, 1, image, g, pixel / g->out_w, pixel % g->out_w, zero_point,
                             window);
                tm_gemm_t2_1_column(columns, codes, groups, g->out_c, &o, &w, y + i * g->out_c);
            }
        }
    }
    return TM_OK;
}
