/* Register-blocked float32 steps shared by the FPU kernel variants (tm_conv2d_1x1_f32,
 * tm_conv2d_blocked_f32, tm_depthwise_conv2d_blocked_f32, tm_fully_connected_blocked_f32).
 *
 * A block of accumulators stays in FPU registers, so every loaded input and weight feeds
 * several multiply-adds. Every accumulator starts at 0.0f and adds its terms one `acc += x * w`
 * at a time, in the portable kernel's order; only which accumulators run side by side changes,
 * so each output is rounded exactly as the portable kernel rounds it under the same flags (both
 * contract to VFMA where the build contracts, neither does elsewhere).
 *
 * Packed weights ("by 4"): a [channels, depth] matrix stored block by block; a full block of 4
 * channels interleaved (w[k * 4 + j] is channel 4b + j's k-th weight), the channels % 4 left
 * over as plain rows after them, so channel c's row of a leftover starts at c * depth. */
#ifndef TM_FPU_F32_H
#define TM_FPU_F32_H

#include "tm_nn.h"

/* GCC's SLP vectorizer turns side-by-side multiply-adds into vector multiplies and adds on
 * MVE (two roundings each, where the scalar portable kernels fuse into one VFMA): these
 * kernels stay scalar, so every core rounds them as it rounds the portable ones. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-slp-vectorize")
#endif

#define TM_F32_BLOCK 4 /* output channels per weight block, and pixels per pixel block */

/* Where a block's terms are: `rows` x `taps` runs of `n` consecutive inputs, a run starting at
 * x + r * row_step + t * tap_step; the block's next pixel reads x_step further on. The weights
 * of the runs are consecutive within a row; the next row's start w_row_step further on. A GEMM
 * is one row of one tap. */
typedef struct {
    int32_t rows, taps, n;
    int32_t x_step, row_step, tap_step, w_row_step;
} tm_f32_window;

/* acc[p * 4 + j] = the block's sum, in order, of x[p][k] * w[k * 4 + j] (weights by 4). */
static inline void tm_f32_window_4x4(float *acc, const tm_f32_window *win, const float *x,
                                     const float *w)
{
    float a00 = 0.0f, a01 = 0.0f, a02 = 0.0f, a03 = 0.0f;
    float a10 = 0.0f, a11 = 0.0f, a12 = 0.0f, a13 = 0.0f;
    float a20 = 0.0f, a21 = 0.0f, a22 = 0.0f, a23 = 0.0f;
    float a30 = 0.0f, a31 = 0.0f, a32 = 0.0f, a33 = 0.0f;
    const int32_t xs = win->x_step, n = win->n;
    for (int32_t r = 0; r < win->rows; ++r) {
        const float *wr = w + r * win->w_row_step;
        for (int32_t t = 0; t < win->taps; ++t) {
            const float *x0 = x + r * win->row_step + t * win->tap_step;
            const float *x1 = x0 + xs, *x2 = x1 + xs, *x3 = x2 + xs;
            for (int32_t k = 0; k < n; ++k) {
                const float w0 = wr[0], w1 = wr[1], w2 = wr[2], w3 = wr[3];
                const float u0 = x0[k], u1 = x1[k], u2 = x2[k], u3 = x3[k];
                wr += TM_F32_BLOCK;
                a00 += u0 * w0; a01 += u0 * w1; a02 += u0 * w2; a03 += u0 * w3;
                a10 += u1 * w0; a11 += u1 * w1; a12 += u1 * w2; a13 += u1 * w3;
                a20 += u2 * w0; a21 += u2 * w1; a22 += u2 * w2; a23 += u2 * w3;
                a30 += u3 * w0; a31 += u3 * w1; a32 += u3 * w2; a33 += u3 * w3;
            }
        }
    }
    acc[0] = a00; acc[1] = a01; acc[2] = a02; acc[3] = a03;
    acc[4] = a10; acc[5] = a11; acc[6] = a12; acc[7] = a13;
    acc[8] = a20; acc[9] = a21; acc[10] = a22; acc[11] = a23;
    acc[12] = a30; acc[13] = a31; acc[14] = a32; acc[15] = a33;
}

/* One pixel, 4 channels: acc[j] = the sum, in order, of x[k] * w[k * 4 + j]. */
static inline void tm_f32_window_1x4(float *acc, const tm_f32_window *win, const float *x,
                                     const float *w)
{
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    for (int32_t r = 0; r < win->rows; ++r) {
        const float *wr = w + r * win->w_row_step;
        for (int32_t t = 0; t < win->taps; ++t) {
            const float *xk = x + r * win->row_step + t * win->tap_step;
            int32_t k = 0;
            for (; k + 2 <= win->n; k += 2) {   /* two terms a step: less loop per load */
                const float u = xk[k], v = xk[k + 1];
                a0 += u * wr[0]; a1 += u * wr[1]; a2 += u * wr[2]; a3 += u * wr[3];
                a0 += v * wr[4]; a1 += v * wr[5]; a2 += v * wr[6]; a3 += v * wr[7];
                wr += 2 * TM_F32_BLOCK;
            }
            if (k < win->n) {
                const float u = xk[k];
                a0 += u * wr[0]; a1 += u * wr[1]; a2 += u * wr[2]; a3 += u * wr[3];
                wr += TM_F32_BLOCK;
            }
        }
    }
    acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3;
}

/* `pixels` pixels, one channel of plain weights: acc[p] = the sum, in order, of x[p][k] * w[k]. */
static inline void tm_f32_window_row(float *acc, int32_t pixels, const tm_f32_window *win,
                                     const float *x, const float *w)
{
    for (int32_t p = 0; p < pixels; ++p) {
        float a = 0.0f;
        for (int32_t r = 0; r < win->rows; ++r) {
            const float *wr = w + r * win->w_row_step;
            for (int32_t t = 0; t < win->taps; ++t) {
                const float *xk = x + p * win->x_step + r * win->row_step + t * win->tap_step;
                for (int32_t k = 0; k < win->n; ++k) {
                    a += xk[k] * wr[k];
                }
                wr += win->n;
            }
        }
        acc[p] = a;
    }
}

/* y[p * y_step + j] = clamp(acc[p * channels + j] + bias[j]); the bias is added after the sum,
 * as the portable kernels add it; bias may be NULL. */
static inline void tm_f32_store(const float *acc, int32_t pixels, int32_t channels,
                                const float *bias, float lo, float hi, float *y, int32_t y_step)
{
    for (int32_t p = 0; p < pixels; ++p) {
        for (int32_t j = 0; j < channels; ++j) {
            float v = acc[p * channels + j];
            if (bias) {
                v += bias[j];
            }
            y[p * y_step + j] = tm_clamp_f32(v, lo, hi);
        }
    }
}

/* y[rows, cols] = clamp(x[rows, depth] . w^T + bias), w packed by 4: the pointwise conv and
 * the fully connected layer. Blocks of 4 rows x 4 columns, then the leftovers. */
static inline void tm_f32_gemm(int32_t rows, int32_t depth, int32_t cols, const float *x,
                               const float *w, const float *bias, float lo, float hi, float *y)
{
    const tm_f32_window win = {1, 1, depth, depth, 0, 0, 0};
    const int32_t full = cols - cols % TM_F32_BLOCK;
    for (int32_t r = 0; r < rows;) {
        const int32_t pixels = r + TM_F32_BLOCK <= rows ? TM_F32_BLOCK : 1;
        const float *xr = x + r * depth;
        float *yr = y + r * cols;
        for (int32_t o = 0; o < cols; o += o < full ? TM_F32_BLOCK : 1) {
            float acc[16];
            const int32_t channels = o < full ? TM_F32_BLOCK : 1;
            if (channels == 1) {
                tm_f32_window_row(acc, pixels, &win, xr, w + o * depth);
            } else if (pixels == 1) {
                tm_f32_window_1x4(acc, &win, xr, w + o * depth);
            } else {
                tm_f32_window_4x4(acc, &win, xr, w + o * depth);
            }
            tm_f32_store(acc, pixels, channels, bias ? bias + o : NULL, lo, hi, yr + o, cols);
        }
        r += pixels;
    }
}

#endif
