#include "tm_gemm_s8.h"

/* General conv (one group) as a GEMM: each output pixel's window becomes an int16 column in
 * scratch (im2col), four pixels at a time, and meets every output channel (tm_gemm_s8.h).
 * Taps outside the image hold the input zero point, whose offset-added value is 0. Windows
 * are read by pitch and clipped at in_h/in_w, so a region of a larger tensor works as a
 * whole one.
 *
 * Depth layout: with in_c a multiple of 4, taps are whole groups. Otherwise (a first layer's
 * 1 or 3 channels) and without dilation along x, each kernel row's run of kernel_w * in_c
 * bytes is padded to a multiple of 4 with zero weights (tinyml/kernels/conv2d_im2col_dsp_s8.py
 * run_layout), so a run wholly inside the image converts straight from the input: the
 * bytes past the run meet zero weights. Elsewhere the window is gathered in int8 first.
 * Scratch: four interleaved columns, then one int8 window. */
static int tm_run_layout(const tm_conv_geometry *g)
{
    return g->in_c % 4 != 0 && g->dilation_w == 1;
}

static int32_t tm_run4(const tm_conv_geometry *g)
{
    return (g->kernel_w * g->in_c + 3) / 4 * 4;
}

static int32_t tm_im2col_depth4(const tm_conv_geometry *g)
{
    if (tm_run_layout(g)) {
        return g->kernel_h * tm_run4(g);
    }
    return (g->kernel_h * g->kernel_w * g->in_c + 3) / 4 * 4;
}

int32_t tm_conv2d_im2col_dsp_s8_get_buffer_size(const tm_conv2d_s8_params *p)
{
    const int32_t depth4 = tm_im2col_depth4(&p->geometry);
    return 4 * depth4 * (int32_t)sizeof(int16_t) + depth4;
}

static int tm_tap_inside(int32_t i, int32_t size)
{
    return i >= 0 && i < size;
}

/* A few bytes, a word at a time (a memcpy call costs more than these copies). */
static void tm_copy_bytes(int8_t *dst, const int8_t *src, int32_t count)
{
    int32_t i = 0;
    for (; i + 4 <= count; i += 4) {
        const uint32_t v = tm_load_u32(src + i);
        memcpy(dst + i, &v, sizeof v);
    }
    for (; i < count; ++i) {
        dst[i] = src[i];
    }
}

static void tm_fill_bytes(int8_t *dst, int8_t value, int32_t count)
{
    for (int32_t i = 0; i < count; ++i) {
        dst[i] = value;
    }
}

/* The window of output pixel (oy, ox) when it lies wholly inside the image with no dilation
 * along x: kernel_h runs of `count` bytes straight from the input (run layout: each run
 * padded to run4, the bytes past it meeting zero weights, and `end` bounding the read);
 * returns 0, writing nothing, otherwise. */
static inline int tm_im2col_inside(uint32_t *column, int32_t step, const int8_t *input,
                                   const tm_conv_geometry *g, int32_t oy, int32_t ox,
                                   int32_t count, const int8_t *end)
{
    const int32_t iy0 = oy * g->stride_h - g->pad_top;
    const int32_t ix0 = ox * g->stride_w - g->pad_left;
    const int32_t last_row = iy0 + (g->kernel_h - 1) * g->dilation_h;
    if (g->dilation_w != 1 || ix0 < 0 || ix0 + g->kernel_w > g->in_w || iy0 < 0 ||
        last_row >= g->in_h || last_row * g->in_pitch + ix0 * g->in_c + count > end - input) {
        return 0;
    }
    const int8_t *src = input + iy0 * g->in_pitch + ix0 * g->in_c;
    for (int32_t fy = 0; fy < g->kernel_h; ++fy) {
        tm_column_s16(column, src, count, step);
        column += count / 4 * step;
        src += g->dilation_h * g->in_pitch;
    }
    return 1;
}

/* Output pixel (oy, ox)'s window as a column, `step` words per group. A kernel row wholly
 * inside the image with no dilation is one run of kernel_w * in_c bytes. */
static void tm_im2col(uint32_t *column, int32_t step, const int8_t *input,
                      const tm_conv_geometry *g, int32_t oy, int32_t ox, int8_t zero_point,
                      int8_t *window)
{
    const int32_t iy0 = oy * g->stride_h - g->pad_top;
    const int32_t ix0 = ox * g->stride_w - g->pad_left;
    const int32_t run = g->kernel_w * g->in_c;
    const int whole_rows = g->dilation_w == 1 && ix0 >= 0 && ix0 + g->kernel_w <= g->in_w;
    if (tm_run_layout(g)) {
        const int32_t run4 = tm_run4(g);
        const int8_t *end = input + (g->in_h - 1) * g->in_pitch + g->in_w * g->in_c;
        for (int32_t fy = 0; fy < g->kernel_h; ++fy) {
            const int32_t iy = iy0 + fy * g->dilation_h;
            const int row_inside = tm_tap_inside(iy, g->in_h);
            const int8_t *src = input + iy * g->in_pitch + ix0 * g->in_c;
            if (row_inside && whole_rows && src + run4 <= end) {
                tm_column_s16(column, src, run4, step);
            } else {
                for (int32_t fx = 0; fx < g->kernel_w; ++fx) {
                    const int32_t ix = ix0 + fx;
                    int8_t *w = window + fx * g->in_c;
                    if (row_inside && tm_tap_inside(ix, g->in_w)) {
                        tm_copy_bytes(w, input + iy * g->in_pitch + ix * g->in_c, g->in_c);
                    } else {
                        tm_fill_bytes(w, zero_point, g->in_c);
                    }
                }
                tm_fill_bytes(window + run, 0, run4 - run);
                tm_column_s16(column, window, run4, step);
            }
            column += run4 / 4 * step;
        }
        return;
    }
    if (g->in_c % 4 == 0) {
        const uint32_t zero16 = (uint32_t)(uint16_t)zero_point * 0x00010001u;
        const int32_t groups = g->in_c / 4;
        for (int32_t fy = 0; fy < g->kernel_h; ++fy) {
            const int32_t iy = iy0 + fy * g->dilation_h;
            const int row_inside = tm_tap_inside(iy, g->in_h);
            if (row_inside && whole_rows) {
                tm_column_s16(column, input + iy * g->in_pitch + ix0 * g->in_c, run, step);
                column += groups * g->kernel_w * step;
                continue;
            }
            for (int32_t fx = 0; fx < g->kernel_w; ++fx) {
                const int32_t ix = ix0 + fx * g->dilation_w;
                if (row_inside && tm_tap_inside(ix, g->in_w)) {
                    tm_column_s16(column, input + iy * g->in_pitch + ix * g->in_c, g->in_c, step);
                } else {
                    for (int32_t k = 0; k < groups; ++k) {
                        column[k * step] = zero16;
                        column[k * step + 1] = zero16;
                    }
                }
                column += groups * step;
            }
        }
        return;
    }
    int8_t *w = window;
    for (int32_t fy = 0; fy < g->kernel_h; ++fy) {
        const int32_t iy = iy0 + fy * g->dilation_h;
        const int row_inside = tm_tap_inside(iy, g->in_h);
        if (row_inside && whole_rows) {
            tm_copy_bytes(w, input + iy * g->in_pitch + ix0 * g->in_c, run);
            w += run;
            continue;
        }
        for (int32_t fx = 0; fx < g->kernel_w; ++fx) {
            const int32_t ix = ix0 + fx * g->dilation_w;
            if (row_inside && tm_tap_inside(ix, g->in_w)) {
                tm_copy_bytes(w, input + iy * g->in_pitch + ix * g->in_c, g->in_c);
            } else {
                tm_fill_bytes(w, zero_point, g->in_c);
            }
            w += g->in_c;
        }
    }
    const int32_t depth = g->kernel_h * g->kernel_w * g->in_c;
    tm_column_padded_s16(column, window, depth, step);
}

int tm_conv2d_im2col_dsp_s8(const tm_conv2d_s8_params *p, const int8_t *input,
                            const int8_t *weights, const int32_t *offset_terms,
                            const int32_t *multiplier, const int32_t *shift, int8_t *output,
                            void *scratch)
{
    const tm_conv_geometry *g = &p->geometry;
    const int32_t depth4 = tm_im2col_depth4(g);
    const tm_gemm_output o = tm_gemm_output_of(offset_terms, multiplier, shift, g->out_c,
                                               p->output_offset, p->act_min, p->act_max);
    uint32_t *columns = (uint32_t *)scratch;
    int8_t *window = (int8_t *)(columns + 2 * depth4);
    const int8_t zero_point = (int8_t)(-p->input_offset);
    /* the bytes of one kernel row the inside path converts, and where the input ends */
    const int32_t run = tm_run_layout(g) ? tm_run4(g) : g->kernel_w * g->in_c;
    /* four pixels share one call when their outputs are out_c apart: within a row, or
     * across rows of a whole tensor */
    const int contiguous = g->out_pitch == g->out_w * g->out_c;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *image = input + b * g->in_h * g->in_pitch;
        const int8_t *end = image + (g->in_h - 1) * g->in_pitch + g->in_w * g->in_c;
        const int32_t rows = contiguous ? 1 : g->out_h;
        const int32_t width = contiguous ? g->out_h * g->out_w : g->out_w;
        for (int32_t row = 0; row < rows; ++row) {
            int8_t *y = output + (b * g->out_h + row) * g->out_pitch;
            int32_t i = 0;
            for (; i + 4 <= width; i += 4) {
                for (int32_t c = 0; c < 4; ++c) {
                    const int32_t pixel = row * g->out_w + i + c;
                    const int32_t oy = pixel / g->out_w, ox = pixel % g->out_w;
                    if (!tm_im2col_inside(columns + 2 * c, 8, image, g, oy, ox, run, end)) {
                        tm_im2col(columns + 2 * c, 8, image, g, oy, ox, zero_point, window);
                    }
                }
                tm_gemm_4_columns(columns, weights, depth4, g->out_c, &o, y + i * g->out_c,
                                  g->out_c);
            }
            for (; i < width; ++i) {
                const int32_t pixel = row * g->out_w + i;
                tm_im2col(columns, 2, image, g, pixel / g->out_w, pixel % g->out_w, zero_point,
                          window);
                tm_gemm_1_column(columns, weights, depth4, g->out_c, &o, y + i * g->out_c);
            }
        }
    }
    return TM_OK;
}
