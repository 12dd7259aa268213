#include "tm_fpu_f32.h"

/* 4 pixels x 4 channels over their window: acc[p * 4 + j] = the sum, kernel row by row and
 * column by column, of x[p][j] * w[j]; a tap's weights are one row of 4 channels, the next
 * tap's `channels` further on (the weights' layout [kernel_h, kernel_w, channels]). */
static inline void window_4x4(float *acc, const tm_f32_window *win, const float *x,
                              const float *w, int32_t channels)
{
    float a00 = 0.0f, a01 = 0.0f, a02 = 0.0f, a03 = 0.0f;
    float a10 = 0.0f, a11 = 0.0f, a12 = 0.0f, a13 = 0.0f;
    float a20 = 0.0f, a21 = 0.0f, a22 = 0.0f, a23 = 0.0f;
    float a30 = 0.0f, a31 = 0.0f, a32 = 0.0f, a33 = 0.0f;
    const int32_t xs = win->x_step;
    for (int32_t r = 0; r < win->rows; ++r) {
        const float *x0 = x + r * win->row_step;
        const float *wt = w + r * win->w_row_step;
        for (int32_t t = 0; t < win->taps; ++t) {
            const float w0 = wt[0], w1 = wt[1], w2 = wt[2], w3 = wt[3];
            const float *x1 = x0 + xs, *x2 = x1 + xs, *x3 = x2 + xs;
            a00 += x0[0] * w0; a01 += x0[1] * w1; a02 += x0[2] * w2; a03 += x0[3] * w3;
            a10 += x1[0] * w0; a11 += x1[1] * w1; a12 += x1[2] * w2; a13 += x1[3] * w3;
            a20 += x2[0] * w0; a21 += x2[1] * w1; a22 += x2[2] * w2; a23 += x2[3] * w3;
            a30 += x3[0] * w0; a31 += x3[1] * w1; a32 += x3[2] * w2; a33 += x3[3] * w3;
            x0 += win->tap_step;
            wt += channels;
        }
    }
    acc[0] = a00; acc[1] = a01; acc[2] = a02; acc[3] = a03;
    acc[4] = a10; acc[5] = a11; acc[6] = a12; acc[7] = a13;
    acc[8] = a20; acc[9] = a21; acc[10] = a22; acc[11] = a23;
    acc[12] = a30; acc[13] = a31; acc[14] = a32; acc[15] = a33;
}

/* One pixel x 4 channels, the same order. */
static inline void window_1x4(float *acc, const tm_f32_window *win, const float *x,
                              const float *w, int32_t channels)
{
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    for (int32_t r = 0; r < win->rows; ++r) {
        const float *xt = x + r * win->row_step;
        const float *wt = w + r * win->w_row_step;
        for (int32_t t = 0; t < win->taps; ++t) {
            a0 += xt[0] * wt[0]; a1 += xt[1] * wt[1]; a2 += xt[2] * wt[2]; a3 += xt[3] * wt[3];
            xt += win->tap_step;
            wt += channels;
        }
    }
    acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3;
}

/* `pixels` pixels x one channel, the same order. */
static inline void window_row(float *acc, int32_t pixels, const tm_f32_window *win,
                              const float *x, const float *w, int32_t channels)
{
    for (int32_t q = 0; q < pixels; ++q) {
        float a = 0.0f;
        for (int32_t r = 0; r < win->rows; ++r) {
            const float *xt = x + q * win->x_step + r * win->row_step;
            const float *wt = w + r * win->w_row_step;
            for (int32_t t = 0; t < win->taps; ++t) {
                a += xt[0] * wt[0];
                xt += win->tap_step;
                wt += channels;
            }
        }
        acc[q] = a;
    }
}

/* Depth multiplier 1, weights [kernel_h, kernel_w, channels] as the portable kernel reads
 * them. Each output sums in tm_depthwise_conv2d_generic_f32's order (kernel row, column) over
 * the window points inside the image, then the bias, then the clamp. Blocks of 4 channels x
 * 4 pixels of a row whose windows cover the same kernel columns; the rest one pixel or one
 * channel at a time. */
int tm_depthwise_conv2d_blocked_f32(const tm_depthwise_conv2d_f32_params *p,
                                    const float *input, const float *weights,
                                    const float *bias, float *output)
{
    const tm_conv_geometry *g = &p->geometry;
    const int32_t channels = g->out_c;
    const int32_t full = channels - channels % TM_F32_BLOCK;
    const int32_t x_step = g->stride_w * channels;
    const int32_t tap_step = g->dilation_w * channels;
    const int32_t row_step = g->dilation_h * g->in_pitch;
    for (int32_t b = 0; b < g->batches; ++b) {
        const float *image = input + b * g->in_h * g->in_pitch;
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            const int32_t fy0 = tm_window_begin(iy0, g->dilation_h);
            const int32_t fy1 = tm_window_end(iy0, g->dilation_h, g->in_h, g->kernel_h);
            float *y_row = output + (b * g->out_h + oy) * g->out_pitch;
            for (int32_t ox = 0; ox < g->out_w;) {
                const int32_t ix0 = ox * g->stride_w - g->pad_left;
                const int32_t fx0 = tm_window_begin(ix0, g->dilation_w);
                const int32_t fx1 = tm_window_end(ix0, g->dilation_w, g->in_w, g->kernel_w);
                /* window bounds only shrink along a row: equal at both ends, equal between */
                const int32_t ix3 = ix0 + (TM_F32_BLOCK - 1) * g->stride_w;
                const int32_t pixels =
                    ox + TM_F32_BLOCK <= g->out_w &&
                            tm_window_begin(ix3, g->dilation_w) == fx0 &&
                            tm_window_end(ix3, g->dilation_w, g->in_w, g->kernel_w) == fx1
                        ? TM_F32_BLOCK
                        : 1;
                const tm_f32_window win = {fy1 - fy0, fx1 - fx0, 1, x_step, row_step, tap_step,
                                           g->kernel_w * channels};
                const float *x =
                    image + (iy0 + fy0 * g->dilation_h) * g->in_pitch +
                    (ix0 + fx0 * g->dilation_w) * channels;
                const float *w = weights + (fy0 * g->kernel_w + fx0) * channels;
                float *y = y_row + ox * channels;
                for (int32_t c = 0; c < channels; c += c < full ? TM_F32_BLOCK : 1) {
                    float acc[16];
                    if (c >= full) {
                        window_row(acc, pixels, &win, x + c, w + c, channels);
                    } else if (pixels == 1) {
                        window_1x4(acc, &win, x + c, w + c, channels);
                    } else {
                        window_4x4(acc, &win, x + c, w + c, channels);
                    }
                    tm_f32_store(acc, pixels, c < full ? TM_F32_BLOCK : 1, bias ? bias + c : NULL,
                                 p->act_min, p->act_max, y + c, channels);
                }
                ox += pixels;
            }
        }
    }
    return TM_OK;
}
