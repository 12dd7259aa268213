/* The int8 GEMM core of the portable fast conv and fully connected kernels: no core
 * feature, so it runs on every Cortex-M (and the host).
 *
 * Columns (one per output pixel, or per batch row) are copied to scratch as uint8 x + 128
 * (x ^ 0x80): ARMv6-M loads an unsigned byte with an immediate offset but a signed one only
 * with a register offset. Four columns are interleaved ([depth][4] bytes), so one pointer
 * reaches all four. The shift by 128 and the input offset are folded into one constant per
 * channel, offset_terms = bias + (input_offset - 128) * sum(weights); padding taps hold the
 * input zero point + 128, which then adds exactly what TFLite's skipped taps add: nothing.
 *
 * Weights (tinyml/kernels/gemm_fast_s8.py) keep their int8 bytes and size: output channels
 * in pairs whose rows are interleaved ([depth][2]), the last of an odd count as a plain row,
 * so channel oc's data starts at oc * depth either way. The inner loop is four columns
 * against one pair: eight accumulators, each loaded weight used four times, each loaded
 * input twice, plain 32-bit multiply-accumulates (MLA on ARMv7-M).
 *
 * Sums never leave int32 (the variants' condition bounds them at compile time), and the
 * output stage is tm_requant.h's bounded requantization, exact under the same bounds. */
#ifndef TM_GEMM_FAST_S8_H
#define TM_GEMM_FAST_S8_H

#include "tm_requant.h"

/* The requantization constants and output range of a layer. */
typedef struct {
    const int32_t *offset_terms, *multiplier, *shift;
    int32_t output_offset, lo, hi;
} tm_fast_output;

/* count int8 values to uint8 x + 128, `step` bytes apart in the column */
static inline void tm_fast_column(uint8_t *column, const int8_t *x, int32_t count, int32_t step)
{
    for (int32_t k = 0; k < count; ++k) {
        column[k * step] = (uint8_t)((uint8_t)x[k] ^ 0x80u);
    }
}

static inline void tm_fast_fill(uint8_t *column, uint8_t value, int32_t count, int32_t step)
{
    for (int32_t k = 0; k < count; ++k) {
        column[k * step] = value;
    }
}

/* TFLite's requantization of acc, for one channel's left and right shifts (half is
 * 2^(right-1), or 0); tm_requantize_bounded with the shifts split once per channel. */
static inline int32_t tm_fast_scale(int32_t acc, int32_t multiplier, int32_t left, int32_t right,
                                    int32_t half)
{
    const int64_t ab = (int64_t)(int32_t)((uint32_t)acc << left) * multiplier;
    const int32_t x = (int32_t)((ab + (1LL << 30)) >> 31);
    return right > 0 ? (x + half + (x >> 31)) >> right : x;
}

/* count outputs of channel oc, `stride` bytes apart from y: its constants read once. */
static inline void tm_fast_store(const tm_fast_output *o, int32_t oc, const int32_t *acc,
                                 int32_t count, int8_t *y, int32_t stride)
{
    const int32_t m = o->multiplier[oc], shift = o->shift[oc];
    const int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    const int32_t half = right > 0 ? 1 << (right - 1) : 0;
    for (int32_t i = 0; i < count; ++i) {
        const int32_t v = tm_fast_scale(acc[i], m, left, right, half) + o->output_offset;
        y[i * stride] = tm_clamp_s8(v, o->lo, o->hi);
    }
}

#define TM_FAST_STEP_4X2(k)                                                                   \
    do {                                                                                      \
        const int32_t w0 = w[2 * (k)], w1 = w[2 * (k) + 1];                                   \
        int32_t v = x[4 * (k)];                                                               \
        a0 += v * w0;                                                                         \
        a4 += v * w1;                                                                         \
        v = x[4 * (k) + 1];                                                                   \
        a1 += v * w0;                                                                         \
        a5 += v * w1;                                                                         \
        v = x[4 * (k) + 2];                                                                   \
        a2 += v * w0;                                                                         \
        a6 += v * w1;                                                                         \
        v = x[4 * (k) + 3];                                                                   \
        a3 += v * w0;                                                                         \
        a7 += v * w1;                                                                         \
    } while (0)

/* Four interleaved columns against one channel pair: acc[pixel] for the pair's first
 * channel, acc[4 + pixel] for its second. Two depth steps per turn of the loop. */
static inline void tm_fast_dot_4x2(const uint8_t *x, const int8_t *w, int32_t depth,
                                   int32_t acc[8])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t a4 = acc[4], a5 = acc[5], a6 = acc[6], a7 = acc[7];
    for (int32_t n = depth >> 1; n > 0; --n) {
        TM_FAST_STEP_4X2(0);
        TM_FAST_STEP_4X2(1);
        x += 8;
        w += 4;
    }
    if (depth & 1) {
        TM_FAST_STEP_4X2(0);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    acc[4] = a4;
    acc[5] = a5;
    acc[6] = a6;
    acc[7] = a7;
}

#undef TM_FAST_STEP_4X2

/* Four interleaved columns against one plain row (the last channel of an odd count). */
static inline void tm_fast_dot_4x1(const uint8_t *x, const int8_t *w, int32_t depth,
                                   int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (int32_t k = 0; k < depth; ++k) {
        const int32_t w0 = w[k];
        a0 += x[0] * w0;
        a1 += x[1] * w0;
        a2 += x[2] * w0;
        a3 += x[3] * w0;
        x += 4;
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* Every output channel of four interleaved columns; pixel i's outputs start at
 * y + i * stride. */
static inline void tm_fast_gemm_4(const uint8_t *columns, const int8_t *weights, int32_t depth,
                                  int32_t channels, const tm_fast_output *o, int8_t *y,
                                  int32_t stride)
{
    int32_t oc = 0;
    for (; oc + 2 <= channels; oc += 2) {
        const int32_t t0 = o->offset_terms[oc], t1 = o->offset_terms[oc + 1];
        int32_t acc[8] = {t0, t0, t0, t0, t1, t1, t1, t1};
        tm_fast_dot_4x2(columns, weights + oc * depth, depth, acc);
        tm_fast_store(o, oc, acc, 4, y + oc, stride);
        tm_fast_store(o, oc + 1, acc + 4, 4, y + oc + 1, stride);
    }
    if (oc < channels) {
        const int32_t t = o->offset_terms[oc];
        int32_t acc[4] = {t, t, t, t};
        tm_fast_dot_4x1(columns, weights + oc * depth, depth, acc);
        tm_fast_store(o, oc, acc, 4, y + oc, stride);
    }
}

/* Every output channel of one column (contiguous), written to y. */
static inline void tm_fast_gemm_1(const uint8_t *x, const int8_t *weights, int32_t depth,
                                  int32_t channels, const tm_fast_output *o, int8_t *y)
{
    int32_t oc = 0;
    for (; oc + 2 <= channels; oc += 2) {
        const int8_t *w = weights + oc * depth;
        int32_t acc[2] = {o->offset_terms[oc], o->offset_terms[oc + 1]};
        for (int32_t k = 0; k < depth; ++k) {
            const int32_t v = x[k];
            acc[0] += v * w[2 * k];
            acc[1] += v * w[2 * k + 1];
        }
        tm_fast_store(o, oc, acc, 1, y + oc, 1);
        tm_fast_store(o, oc + 1, acc + 1, 1, y + oc + 1, 1);
    }
    if (oc < channels) {
        const int8_t *w = weights + oc * depth;
        int32_t acc = o->offset_terms[oc];
        for (int32_t k = 0; k < depth; ++k) {
            acc += x[k] * w[k];
        }
        tm_fast_store(o, oc, &acc, 1, y + oc, 1);
    }
}

/* count pixels of `depth` int8 values each, x_step elements apart, whose outputs are y_step
 * elements apart: four at a time through the interleaved columns, the rest one by one.
 * columns: 4 * depth bytes of scratch (depth when count < 4). */
static inline void tm_fast_gemm_pixels(const int8_t *x, int32_t count, int32_t x_step,
                                       int32_t depth, const int8_t *weights, int32_t channels,
                                       const tm_fast_output *o, int8_t *y, int32_t y_step,
                                       uint8_t *columns)
{
    int32_t i = 0;
    for (; i + 4 <= count; i += 4) {
        for (int32_t c = 0; c < 4; ++c) {
            tm_fast_column(columns + c, x + (i + c) * x_step, depth, 4);
        }
        tm_fast_gemm_4(columns, weights, depth, channels, o, y + i * y_step, y_step);
    }
    for (; i < count; ++i) {
        tm_fast_column(columns, x + i * x_step, depth, 1);
        tm_fast_gemm_1(columns, weights, depth, channels, o, y + i * y_step);
    }
}

#endif
