/* What the DSP depthwise kernels share (tm_depthwise_conv2d_3x3_dsp_s8.c,
 * tm_depthwise_conv2d_dsp_s8.c).
 *
 * Four input channels at a time, a band of output rows at a time, the input rows the band
 * reads become int16 planes in scratch, one per channel: plane column j holds input column
 * j - pad_left plus the input offset, and every column or row outside the image holds 0, so
 * a padded tap adds exactly 0, as TFLM skips it, and no tap needs a bounds test. Two columns
 * make one word, so SMLAD multiplies two taps of one channel at once. Each output channel
 * then sweeps its plane with its weights in registers (pass A, the kernel's own), into an
 * int32 accumulator per output of the band, which pass B requantizes and stores.
 *
 * Pass A accumulates with the weights and bias scaled by 2^(left + 1) (left: the
 * requantization's left shift), so pass B's first rounding is one SMMULR: floor((2^(left+1)
 * acc * m + 2^31) / 2^32) is TFLite's SaturatingRoundingDoublingHighMul of acc << left. That
 * and the rounding add after it are exact where the variant's condition holds
 * (tinyml/kernels/depthwise_dsp.py): the scaled accumulator, weights and rounding sums fit.
 *
 * Scratch (4-aligned): the planes [4][band input rows][plane_words] words, then the
 * accumulators [band rows][out_w], then `extra` bytes a kernel asks for. */
#ifndef TM_DEPTHWISE_DSP_H
#define TM_DEPTHWISE_DSP_H

#include <string.h>

#include "tm_dsp.h"
#include "tm_nn.h"

#define TM_DW_GROUP 4

/* Kept out of line where inlining would crowd the caller's registers into spills; the layer
 * loop inlined into each kernel, so its pass is a known function the compiler inlines. */
#if defined(__GNUC__)
#define TM_DW_NOINLINE __attribute__((noinline))
#define TM_DW_INLINE static inline __attribute__((always_inline))
#else
#define TM_DW_NOINLINE
#define TM_DW_INLINE static inline
#endif

/* Words of a plane row: every column a pass A reads, and one more for its last pair. */
static inline int32_t tm_dw_plane_words(const tm_conv_geometry *g)
{
    const int32_t cols = (g->out_w - 1) * g->stride_w + (g->kernel_w - 1) * g->dilation_w + 2;
    return (cols + 1) / 2;
}

static inline int32_t tm_dw_band_rows(const tm_depthwise_conv2d_dsp_s8_params *p)
{
    return TM_MAX(TM_MIN(p->band_rows, p->geometry.out_h), 1);
}

/* Input rows that `rows` output rows read. */
static inline int32_t tm_dw_band_in_rows(const tm_conv_geometry *g, int32_t rows)
{
    return (rows - 1) * g->stride_h + (g->kernel_h - 1) * g->dilation_h + 1;
}

static inline int32_t tm_dw_buffer_size(const tm_depthwise_conv2d_dsp_s8_params *p,
                                        int32_t extra)
{
    const tm_conv_geometry *g = &p->geometry;
    const int32_t rows = tm_dw_band_rows(p);
    const int32_t words = TM_DW_GROUP * tm_dw_band_in_rows(g, rows) * tm_dw_plane_words(g)
                          + rows * g->out_w;
    return words * 4 + extra;
}

static inline uint32_t tm_dw_load32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* One input row (NULL: a row of padding) of channels c0 .. c0 + n - 1 into plane row `dst`
 * (channel k's at dst + k * plane_stride), `words` words each. */
TM_DW_NOINLINE static void tm_dw_convert_row(const int8_t *row, const tm_conv_geometry *g,
                                             int32_t c0, int32_t n, int32_t offset,
                                             uint32_t *dst, int32_t words, int32_t plane_stride)
{
    int32_t j = 0;
    if (row != NULL) {
        const int32_t c = g->in_c;
        const int32_t first = TM_MIN(g->pad_left, 2 * words);
        const int32_t end = TM_MAX(TM_MIN(g->pad_left + g->in_w, 2 * words), first);
        const int8_t *x = row + c0;   /* x[(col - pad_left) * c + k]: column col, channel k */
        const int32_t pl = g->pad_left;
        int32_t col = first;
        for (; 2 * j + 1 < first; ++j) {
            for (int32_t k = 0; k < n; ++k) {
                dst[k * plane_stride + j] = 0;
            }
        }
        if (col < end && (col & 1)) {   /* the first image column is a word's top half */
            for (int32_t k = 0; k < n; ++k) {
                dst[k * plane_stride + j] = tm_lanes16(0, x[(col - pl) * c + k] + offset);
            }
            ++col;
            ++j;
        }
        if (n == TM_DW_GROUP) {
            const uint32_t offsets = tm_lanes16(offset, offset);
            uint32_t *d0 = dst, *d1 = dst + plane_stride, *d2 = d1 + plane_stride,
                     *d3 = d2 + plane_stride;
            for (; col + 1 < end; col += 2, ++j) {
                const uint32_t a = tm_dw_load32(x + (col - pl) * c);
                const uint32_t b = tm_dw_load32(x + (col + 1 - pl) * c);
                const uint32_t lo = tm_pkhbt(a, b, 16);   /* a0 a1 b0 b1 */
                const uint32_t hi = tm_pkhtb(b, a, 16);   /* a2 a3 b2 b3 */
                d0[j] = tm_sxtab16(offsets, lo);
                d1[j] = tm_sxtab16_ror8(offsets, lo);
                d2[j] = tm_sxtab16(offsets, hi);
                d3[j] = tm_sxtab16_ror8(offsets, hi);
            }
        } else {
            for (; col + 1 < end; col += 2, ++j) {
                for (int32_t k = 0; k < n; ++k) {
                    dst[k * plane_stride + j] = tm_lanes16(x[(col - pl) * c + k] + offset,
                                                           x[(col + 1 - pl) * c + k] + offset);
                }
            }
        }
        if (col < end) {   /* the last image column is a word's bottom half */
            for (int32_t k = 0; k < n; ++k) {
                dst[k * plane_stride + j] = tm_lanes16(x[(col - pl) * c + k] + offset, 0);
            }
            ++j;
        }
    }
    for (; j < words; ++j) {
        for (int32_t k = 0; k < n; ++k) {
            dst[k * plane_stride + j] = 0;
        }
    }
}

/* A band's output rows of one output channel: `rows` rows of out_w accumulators from a
 * plane whose row 0 is the band's first input row. The kernel's pass A. */
typedef struct {
    const tm_conv_geometry *g;
    int32_t rows;
    int32_t words;          /* of a plane row */
    const int8_t *weights;  /* this output channel's w[0][0]; taps out_c apart */
    uint32_t signs;         /* ternary weights: the channel's 2-bit codes, tap i at bit 2i */
    int32_t gain;           /* ternary weights: q */
    int32_t scale;          /* left + 1: weights and bias are multiplied by 2^scale */
    void *extra;            /* the kernel's own scratch */
} tm_dw_band;

typedef void (*tm_dw_pass_a)(const tm_dw_band *band, const uint32_t *plane, int32_t *acc);

/* Weight w scaled by 2^scale, as an int16 lane. */
static inline int32_t tm_dw_weight(const tm_dw_band *b, int32_t tap)
{
    return b->weights[tap * b->g->out_c] * (1 << b->scale);
}

/* The sign of ternary tap `tap` (-1, 0 or 1): its code read as a signed 2-bit field. */
static inline int32_t tm_dw_trit(uint32_t signs, int32_t tap)
{
    return (int32_t)(signs << (30 - 2 * tap)) >> 30;
}

/* Pass B's loop; `rounds` (right > 0) and `full` (the clamp is int8's own range) are constants
 * at each call, so each call compiles to its own branch-free loop. */
static inline void tm_dw_output_rows(const int32_t *acc, int32_t rows, int32_t out_w,
                                     int32_t out_c, int32_t pitch, int8_t *y, int32_t bias,
                                     int32_t multiplier, int32_t round, int32_t right,
                                     int32_t lo, int32_t hi, int rounds, int full)
{
    for (int32_t r = 0; r < rows; ++r, y += pitch) {
        int8_t *out = y;
        for (const int32_t *end = acc + out_w; acc < end; ++acc, out += out_c) {
            int32_t v = tm_smmulr(*acc + bias, multiplier);
            v = rounds ? (v + round + (v >> 31)) >> right : v + round;
            *out = full ? (int8_t)tm_ssat(v, 8) : tm_clamp_s8(v, lo, hi);
        }
    }
}

/* Pass B: add the (scaled) bias to `rows` x out_w accumulators, requantize them into the
 * output, y at (row 0, column 0) of this channel. The output zero point joins the rounding
 * constant: (v + 2^(right-1) + zp 2^right - (v < 0)) >> right. */
TM_DW_NOINLINE static void tm_dw_output(const int32_t *acc, int32_t rows,
                                        const tm_conv_geometry *g, int8_t *y, int32_t bias,
                                        int32_t multiplier, int32_t shift,
                                        int32_t output_offset, int32_t lo, int32_t hi)
{
    const int32_t right = shift > 0 ? 0 : -shift;
    const int32_t out_w = g->out_w, out_c = g->out_c, pitch = g->out_pitch;
    if (right == 0) {   /* a left-shifting requantization: no rounding shift */
        if (lo == -128 && hi == 127) {
            tm_dw_output_rows(acc, rows, out_w, out_c, pitch, y, bias, multiplier,
                              output_offset, 0, lo, hi, 0, 1);
        } else {
            tm_dw_output_rows(acc, rows, out_w, out_c, pitch, y, bias, multiplier,
                              output_offset, 0, lo, hi, 0, 0);
        }
        return;
    }
    const int32_t round = (1 << (right - 1)) + output_offset * (1 << right);
    if (lo == -128 && hi == 127) {
        tm_dw_output_rows(acc, rows, out_w, out_c, pitch, y, bias, multiplier, round, right,
                          lo, hi, 1, 1);
    } else {
        tm_dw_output_rows(acc, rows, out_w, out_c, pitch, y, bias, multiplier, round, right,
                          lo, hi, 1, 0);
    }
}

/* The weights of the ternary kernels: signs packed channel by channel (kernel_h * kernel_w
 * codes each, at most 13, tm_ternary.h's codes; the array padded with 3 bytes) times
 * gain[oc] (NULL: 1). */
typedef struct {
    const uint8_t *signs;
    const int32_t *gain;
} tm_dw_ternary;

/* Channel oc's codes, tap i at bit 2i (the bits above its last tap belong to the next
 * channels: tm_dw_trit reads fields, never the whole word). */
static inline uint32_t tm_dw_channel_signs(const tm_dw_ternary *t, int32_t taps, int32_t oc)
{
    const int32_t bit = 2 * taps * oc;
    return tm_dw_load32(t->signs + (bit >> 3)) >> (bit & 7);
}

/* The whole layer: bands of output rows, groups of four input channels, pass A per output
 * channel. `extra`: the kernel's own scratch after the planes and accumulators. Weights:
 * int8 [kh][kw][out_c], or, where `ternary` is not NULL, each channel's codes in the band. */
TM_DW_INLINE void tm_dw_run(const tm_depthwise_conv2d_dsp_s8_params *p, const int8_t *input,
                             const int8_t *weights, const tm_dw_ternary *ternary,
                             const int32_t *bias, const int32_t *multiplier,
                             const int32_t *shift, int8_t *output, void *scratch,
                             tm_dw_pass_a pass_a)
{
    const tm_conv_geometry *g = &p->geometry;
    const int32_t band_rows = tm_dw_band_rows(p);
    const int32_t words = tm_dw_plane_words(g);
    const int32_t plane_stride = tm_dw_band_in_rows(g, band_rows) * words;
    const int32_t taps = g->kernel_h * g->kernel_w;
    uint32_t *planes = (uint32_t *)scratch;
    int32_t *acc = (int32_t *)(planes + TM_DW_GROUP * plane_stride);
    tm_dw_band band = {g, 0, words, NULL, 0, 1, 0, acc + band_rows * g->out_w};
    /* a copy: the int8 stores below may alias *ternary, which would be read again each time */
    const tm_dw_ternary codes = ternary ? *ternary : (tm_dw_ternary){NULL, NULL};
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *image = input + b * g->in_h * g->in_pitch;
        int8_t *out_image = output + b * g->out_h * g->out_pitch;
        for (int32_t c0 = 0; c0 < g->in_c; c0 += TM_DW_GROUP) {
            const int32_t n = TM_MIN(TM_DW_GROUP, g->in_c - c0);
            for (int32_t oy = 0; oy < g->out_h; oy += band_rows) {
                band.rows = TM_MIN(band_rows, g->out_h - oy);
                const int32_t in_rows = tm_dw_band_in_rows(g, band.rows);
                for (int32_t i = 0; i < in_rows; ++i) {
                    const int32_t iy = oy * g->stride_h - g->pad_top + i;
                    const int8_t *row = iy >= 0 && iy < g->in_h ? image + iy * g->in_pitch : NULL;
                    tm_dw_convert_row(row, g, c0, n, p->input_offset, planes + i * words, words,
                                      plane_stride);
                }
                for (int32_t k = 0; k < n; ++k) {
                    for (int32_t m = 0; m < p->depth_multiplier; ++m) {
                        const int32_t oc = (c0 + k) * p->depth_multiplier + m;
                        const int32_t left = shift[oc] > 0 ? shift[oc] : 0;
                        if (ternary) {
                            band.signs = tm_dw_channel_signs(&codes, taps, oc);
                            band.gain = codes.gain ? codes.gain[oc] : 1;
                        } else {
                            band.weights = weights + oc;
                        }
                        band.scale = left + 1;
                        const int32_t scaled_bias = (bias ? bias[oc] : 0) * (1 << band.scale);
                        pass_a(&band, planes + k * plane_stride, acc);
                        tm_dw_output(acc, band.rows, g, out_image + oy * g->out_pitch + oc,
                                     scaled_bias, multiplier[oc], shift[oc], p->output_offset,
                                     p->act_min, p->act_max);
                    }
                }
            }
        }
    }
}

#endif /* TM_DEPTHWISE_DSP_H */
