#include "tm_train.h"

#include <math.h>

/* The integer copy of a master: rounded half away from zero (roundf), saturated; a NaN
 * master (a diverged step) reads as the low bound, so the copy stays defined. */
static int8_t tm_train_round_s8(float m)
{
    float r = roundf(m);
    r = r > -127.0f ? r : -127.0f;
    return (int8_t)(r < 127.0f ? r : 127.0f);
}

static int32_t tm_train_round_s32(float m)
{
    float r = roundf(m);
    r = r > -2147483648.0f ? r : -2147483648.0f;
    return (int32_t)(r < 2147483520.0f ? r : 2147483520.0f);   /* float32 below 2^31 */
}

float tm_train_xent_s8(const int8_t *logits, int32_t n, float scale, int32_t zero_point,
                       float beta, int32_t label, float *grad)
{
    const float k = beta * scale;
    float top = -INFINITY;
    for (int32_t i = 0; i < n; ++i) {
        const float z = k * (float)(logits[i] - zero_point);
        top = z > top ? z : top;
    }
    float sum = 0.0f;
    for (int32_t i = 0; i < n; ++i) {
        grad[i] = expf(k * (float)(logits[i] - zero_point) - top);
        sum += grad[i];
    }
    for (int32_t i = 0; i < n; ++i) {
        grad[i] = beta * (grad[i] / sum - (i == label ? 1.0f : 0.0f));
    }
    return -(k * (float)(logits[label] - zero_point) - top - logf(sum));
}

void tm_train_mask_s8(float *grad, const int8_t *y, int32_t n, int32_t lo, int32_t hi)
{
    for (int32_t i = 0; i < n; ++i) {
        if (y[i] <= lo || y[i] >= hi) {
            grad[i] = 0.0f;
        }
    }
}

void tm_train_zero_f32(float *x, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        x[i] = 0.0f;
    }
}

void tm_train_add_f32(float *dst, const float *src, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        dst[i] += src[i];
    }
}

/* The input row of output row oy at kernel row kh, or -1 in the padding; likewise columns. */
static inline int32_t tm_train_in_row(const tm_train_window *g, int32_t oy, int32_t kh)
{
    const int32_t iy = oy * g->stride_h + kh * g->dilation_h - g->pad_top;
    return iy >= 0 && iy < g->in_h ? iy : -1;
}

static inline int32_t tm_train_in_col(const tm_train_window *g, int32_t ox, int32_t kw)
{
    const int32_t ix = ox * g->stride_w + kw * g->dilation_w - g->pad_left;
    return ix >= 0 && ix < g->in_w ? ix : -1;
}

static inline int32_t tm_train_pixel(const tm_train_window *g, int32_t b, int32_t y, int32_t x)
{
    return (b * g->in_h + y) * g->in_w + x;
}

/* dx += dy through the weights at every tap inside the input: a convolution's weights are
 * [out_c][kh][kw][in_c], a depthwise one's [kh][kw][out_c]. */
static void tm_train_input_grad(const tm_train_window *g, const float *dy, const int8_t *weights,
                                const float *w_scale, float *dx, int depthwise)
{
    const int32_t kernel = g->kernel_h * g->kernel_w * g->in_c;
    for (int32_t b = 0; b < g->batches; ++b) {
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            for (int32_t ox = 0; ox < g->out_w; ++ox) {
                const float *d = dy + ((b * g->out_h + oy) * g->out_w + ox) * g->out_c;
                for (int32_t kh = 0; kh < g->kernel_h; ++kh) {
                    const int32_t iy = tm_train_in_row(g, oy, kh);
                    for (int32_t kw = 0; iy >= 0 && kw < g->kernel_w; ++kw) {
                        const int32_t ix = tm_train_in_col(g, ox, kw);
                        if (ix < 0) {
                            continue;
                        }
                        const int32_t tap = kh * g->kernel_w + kw;
                        float *out = dx + tm_train_pixel(g, b, iy, ix) * g->in_c;
                        for (int32_t o = 0; o < g->out_c; ++o) {
                            if (d[o] == 0.0f) {
                                continue;   /* masked: most of a ReLU layer's outputs */
                            }
                            const float v = d[o] * w_scale[o];
                            if (depthwise) {
                                out[o / g->depth_multiplier] += v * (float)weights[tap * g->out_c + o];
                                continue;
                            }
                            const int8_t *w = weights + o * kernel + tap * g->in_c;
                            for (int32_t c = 0; c < g->in_c; ++c) {
                                out[c] += v * (float)w[c];
                            }
                        }
                    }
                }
            }
        }
    }
}

void tm_train_conv2d_grad_s8(const tm_train_window *g, const float *dy, const int8_t *weights,
                             const float *w_scale, float *dx)
{
    tm_train_input_grad(g, dy, weights, w_scale, dx, 0);
}

/* The gradient of one weight: dy of output channel o against input channel c at tap
 * (kh, kw), over every output position, in real units. */
static float tm_train_tap_grad(const tm_train_window *g, const float *dy, const int8_t *x,
                               float x_scale, int32_t x_zero_point, int32_t o, int32_t c,
                               int32_t kh, int32_t kw)
{
    float sum = 0.0f;
    for (int32_t b = 0; b < g->batches; ++b) {
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            const int32_t iy = tm_train_in_row(g, oy, kh);
            for (int32_t ox = 0; iy >= 0 && ox < g->out_w; ++ox) {
                const int32_t ix = tm_train_in_col(g, ox, kw);
                if (ix >= 0) {
                    const float d = dy[((b * g->out_h + oy) * g->out_w + ox) * g->out_c + o];
                    sum += d * (float)(x[tm_train_pixel(g, b, iy, ix) * g->in_c + c] - x_zero_point);
                }
            }
        }
    }
    return sum * x_scale;
}

void tm_train_conv2d_update_s8(const tm_train_window *g, const float *dy, const int8_t *x,
                               float x_scale, int32_t x_zero_point, const tm_train_span *span,
                               float lr, const float *factor, float *master, int8_t *weights)
{
    for (int32_t o = 0; o < span->trained; ++o) {
        const float rate = lr * factor[o];
        for (int32_t kh = 0; kh < g->kernel_h; ++kh) {
            for (int32_t kw = 0; kw < g->kernel_w; ++kw) {
                for (int32_t c = 0; c < g->in_c; ++c) {
                    const int32_t i = (o * g->kernel_h + kh) * g->kernel_w * g->in_c + kw * g->in_c + c;
                    master[i] -= rate * tm_train_tap_grad(g, dy, x, x_scale, x_zero_point, o, c, kh, kw);
                    weights[i] = tm_train_round_s8(master[i]);
                }
            }
        }
    }
}

void tm_train_depthwise_grad_s8(const tm_train_window *g, const float *dy,
                                const int8_t *weights, const float *w_scale, float *dx)
{
    tm_train_input_grad(g, dy, weights, w_scale, dx, 1);
}

void tm_train_depthwise_update_s8(const tm_train_window *g, const float *dy, const int8_t *x,
                                  float x_scale, int32_t x_zero_point,
                                  const tm_train_span *span, float lr, const float *factor,
                                  float *master, int8_t *weights)
{
    const int32_t mult = g->depth_multiplier;
    for (int32_t kh = 0; kh < g->kernel_h; ++kh) {
        for (int32_t kw = 0; kw < g->kernel_w; ++kw) {
            const int32_t tap = kh * g->kernel_w + kw;
            for (int32_t o = 0; o < span->trained; ++o) {
                float *m = master + tap * span->trained + o;
                *m -= lr * factor[o] * tm_train_tap_grad(g, dy, x, x_scale, x_zero_point, o,
                                                         o / mult, kh, kw);
                weights[tap * g->out_c + o] = tm_train_round_s8(*m);
            }
        }
    }
}

void tm_train_bias_update_s32(const float *dy, int32_t positions, const tm_train_span *span,
                              float lr, const float *factor, float *master, int32_t *bias)
{
    for (int32_t o = 0; o < span->trained; ++o) {
        float sum = 0.0f;
        for (int32_t p = 0; p < positions; ++p) {
            sum += dy[p * span->channels + o];
        }
        master[o] -= lr * factor[o] * sum;
        bias[o] = tm_train_round_s32(master[o]);
    }
}

void tm_train_avgpool_grad_f32(const tm_train_window *g, const float *dy, float *dx)
{
    for (int32_t b = 0; b < g->batches; ++b) {
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            const int32_t y0 = oy * g->stride_h - g->pad_top;
            const int32_t top = TM_MAX(y0, 0), bottom = TM_MIN(y0 + g->kernel_h, g->in_h);
            for (int32_t ox = 0; ox < g->out_w; ++ox) {
                const int32_t x0 = ox * g->stride_w - g->pad_left;
                const int32_t left = TM_MAX(x0, 0), right = TM_MIN(x0 + g->kernel_w, g->in_w);
                const int32_t count = (bottom - top) * (right - left);
                if (count <= 0) {
                    continue;
                }
                const float *d = dy + ((b * g->out_h + oy) * g->out_w + ox) * g->out_c;
                for (int32_t iy = top; iy < bottom; ++iy) {
                    for (int32_t ix = left; ix < right; ++ix) {
                        float *out = dx + tm_train_pixel(g, b, iy, ix) * g->in_c;
                        for (int32_t c = 0; c < g->in_c; ++c) {
                            out[c] += d[c] / (float)count;
                        }
                    }
                }
            }
        }
    }
}

void tm_train_master(const void *ints, int32_t wide, const tm_train_span *span, float *master)
{
    for (int32_t o = 0; o < span->outer; ++o) {
        for (int32_t c = 0; c < span->trained; ++c) {
            for (int32_t i = 0; i < span->inner; ++i) {
                const int32_t k = (o * span->channels + c) * span->inner + i;
                master[(o * span->trained + c) * span->inner + i] =
                    wide ? (float)((const int32_t *)ints)[k] : (float)((const int8_t *)ints)[k];
            }
        }
    }
}
