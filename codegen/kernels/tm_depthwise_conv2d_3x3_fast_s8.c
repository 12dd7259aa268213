#include "tm_gemm_fast_s8.h"

/* Depthwise 3x3 (dilation 1, stride_w 1 or 2, multiplier 1) on every core. One channel at a
 * time, a band of output rows at a time, the input window those rows read is copied to a
 * uint8 plane in scratch (x + 128; the input zero point + 128 where the window leaves the
 * image), so every output reads all nine taps at fixed offsets: four outputs of a row per
 * step, each loaded input used by up to three of them, offset terms folded as in
 * tm_gemm_fast_s8.h. Weights are [channel][9] (tinyml/kernels/depthwise_conv2d_3x3_fast_s8.py).
 * The window is read by pitch and its padding given per side, so a region of a larger
 * tensor works as a whole one. */
#define TM_DW3_FAST_BUDGET 2048   /* plane bytes a band aims at (one output row at least) */

static int32_t tm_dw3_plane_w(const tm_conv_geometry *g)
{
    return (g->out_w - 1) * g->stride_w + 3;
}

static int32_t tm_dw3_band_rows(const tm_conv_geometry *g)
{
    const int32_t plane_rows = TM_DW3_FAST_BUDGET / tm_dw3_plane_w(g);
    const int32_t rows = plane_rows < 3 ? 1 : (plane_rows - 3) / g->stride_h + 1;
    return TM_MAX(TM_MIN(rows, g->out_h), 1);
}

/* A band's plane is at most the budget (or one output row's plane, if larger) and at most
 * the whole window's plane; a region of the output needs no more than that bound. */
int32_t tm_depthwise_conv2d_3x3_fast_s8_get_buffer_size(const tm_depthwise_conv2d_s8_params *p)
{
    const tm_conv_geometry *g = &p->geometry;
    const int32_t plane_w = tm_dw3_plane_w(g);
    const int32_t whole = ((g->out_h - 1) * g->stride_h + 3) * plane_w;
    return TM_MIN(whole, TM_MAX(TM_DW3_FAST_BUDGET, 3 * plane_w));
}

/* Plane rows [0, rows) from image rows iy0.., columns from ix0 = -pad_left, channel c. */
static void tm_dw3_plane(uint8_t *plane, int32_t plane_w, int32_t rows, const int8_t *image,
                         const tm_conv_geometry *g, int32_t iy0, int32_t c, uint8_t padding)
{
    const int32_t before = TM_MIN(g->pad_left, plane_w);
    const int32_t inside = TM_MAX(TM_MIN(g->in_w, plane_w - before), 0);
    for (int32_t r = 0; r < rows; ++r) {
        uint8_t *out = plane + r * plane_w;
        const int32_t iy = iy0 + r;
        if (iy < 0 || iy >= g->in_h) {
            tm_fast_fill(out, padding, plane_w, 1);
            continue;
        }
        const int8_t *x = image + iy * g->in_pitch + c;
        tm_fast_fill(out, padding, before, 1);
        for (int32_t i = 0; i < inside; ++i) {
            out[before + i] = (uint8_t)((uint8_t)x[i * g->in_c] ^ 0x80u);
        }
        tm_fast_fill(out + before + inside, padding, plane_w - before - inside, 1);
    }
}

/* Four outputs of one row, one kernel row: taps r[j * stride + f]. */
static inline void tm_dw3_row4(const uint8_t *r, const int8_t *w, int32_t stride, int32_t a[4])
{
    const int32_t w0 = w[0], w1 = w[1], w2 = w[2];
    for (int32_t j = 0; j < 4; ++j) {
        a[j] += r[j * stride] * w0 + r[j * stride + 1] * w1 + r[j * stride + 2] * w2;
    }
}

/* One band's output rows of channel c from its plane; stride_w is a constant where this
 * is inlined, so every tap is an immediate offset. */
static inline void tm_dw3_band(const uint8_t *plane, int32_t plane_w, int32_t rows,
                               const tm_conv_geometry *g, const int8_t *w, int32_t c,
                               const tm_fast_output *o, int8_t *y, int32_t stride_w)
{
    const int32_t t = o->offset_terms[c];
    for (int32_t row = 0; row < rows; ++row) {
        const uint8_t *r = plane + row * g->stride_h * plane_w;
        int8_t *out = y + row * g->out_pitch;
        int32_t ox = 0;
        for (; ox + 4 <= g->out_w; ox += 4) {
            int32_t acc[4] = {t, t, t, t};
            const uint8_t *r0 = r + ox * stride_w;
            tm_dw3_row4(r0, w, stride_w, acc);
            tm_dw3_row4(r0 + plane_w, w + 3, stride_w, acc);
            tm_dw3_row4(r0 + 2 * plane_w, w + 6, stride_w, acc);
            tm_fast_store(o, c, acc, 4, out + ox * g->out_c, g->out_c);
        }
        for (; ox < g->out_w; ++ox) {
            const uint8_t *r0 = r + ox * stride_w;
            int32_t acc = t;
            for (int32_t fy = 0; fy < 3; ++fy) {
                for (int32_t fx = 0; fx < 3; ++fx) {
                    acc += r0[fy * plane_w + fx] * w[fy * 3 + fx];
                }
            }
            tm_fast_store(o, c, &acc, 1, out + ox * g->out_c, 1);
        }
    }
}

int tm_depthwise_conv2d_3x3_fast_s8(const tm_depthwise_conv2d_s8_params *p, const int8_t *input,
                                    const int8_t *weights, const int32_t *offset_terms,
                                    const int32_t *multiplier, const int32_t *shift,
                                    int8_t *output, void *scratch)
{
    const tm_conv_geometry *g = &p->geometry;
    const tm_fast_output o = {offset_terms, multiplier, shift, p->output_offset, p->act_min,
                              p->act_max};
    const uint8_t padding = (uint8_t)((uint8_t)(int8_t)(-p->input_offset) ^ 0x80u);
    const int32_t plane_w = tm_dw3_plane_w(g), band = tm_dw3_band_rows(g);
    uint8_t *plane = (uint8_t *)scratch;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *image = input + b * g->in_h * g->in_pitch;
        for (int32_t oy = 0; oy < g->out_h; oy += band) {
            const int32_t rows = TM_MIN(band, g->out_h - oy);
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            int8_t *y = output + (b * g->out_h + oy) * g->out_pitch;
            for (int32_t c = 0; c < g->out_c; ++c) {
                tm_dw3_plane(plane, plane_w, (rows - 1) * g->stride_h + 3, image, g, iy0, c,
                             padding);
                if (g->stride_w == 1) {
                    tm_dw3_band(plane, plane_w, rows, g, weights + 9 * c, c, &o, y + c, 1);
                } else {
                    tm_dw3_band(plane, plane_w, rows, g, weights + 9 * c, c, &o, y + c, 2);
                }
            }
        }
    }
    return TM_OK;
}
