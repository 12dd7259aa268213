/* The int8 GEMM core of the DSP conv and fully connected kernels.
 *
 * Columns (one per output pixel, or per batch row) are int16 in scratch, made by
 * tm_column_s16 from int8 in groups of 4: x0 x1 x2 x3 becomes the words SXTB16(x) = (x0, x2)
 * and SXTB16(x ROR 8) = (x1, x3). Weights keep their bytes (flash grows only by the padding
 * of each row to a multiple of 4, `depth4`) and are read the same way, so one SMLAD
 * multiplies matching lanes with no repacking. tinyml/kernels/gemm_s8.py lays them out at
 * compile time: output channels in blocks of 4 whose 4-byte groups alternate (16 bytes per
 * group: one LDM feeds 4 channels), the last out_c % 4 channels as plain rows.
 *
 * Two inner loops, in Thumb-2 assembly on DSP cores (the compiler neither pairs the loads
 * into LDM nor keeps every accumulator in a register) and in C elsewhere, the same sums:
 * four columns against one channel (conv: one weight word extended once feeds 8 SMLAD), and
 * one column against a block of four channels (fully connected, leftover pixels).
 *
 * The input offset is folded into one constant per channel (offset_terms = bias +
 * input_offset * sum(weights)), so a column holds raw inputs; padding taps hold the input
 * zero point, whose offset-added value is 0, so they add nothing, as TFLite's skipped taps. */
#ifndef TM_GEMM_S8_H
#define TM_GEMM_S8_H

#include <string.h>

#include "tm_dsp.h"
#include "tm_nn.h"

#define TM_GEMM_BLOCK 4   /* output channels per weight block */

static inline uint32_t tm_load_u32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* count int8 values (a multiple of 4) to int16 lanes in the SXTB16 order, two words per
 * group, `step` words from one group to the next (2: one column; 8: four interleaved). */
static inline void tm_column_s16(uint32_t *column, const int8_t *x, int32_t count, int32_t step)
{
    for (int32_t i = 0; i < count; i += 4) {
        const uint32_t v = tm_load_u32(x + i);
        column[0] = tm_sxtb16(v);
        column[1] = tm_sxtb16_ror8(v);
        column += step;
    }
}

/* count int8 values to a column of depth4: zeros fill the last group (its weights are zero). */
static inline void tm_column_padded_s16(uint32_t *column, const int8_t *x, int32_t count,
                                        int32_t step)
{
    const int32_t whole = count / 4 * 4;
    tm_column_s16(column, x, whole, step);
    if (whole < count) {
        int8_t group[4] = {0, 0, 0, 0};
        for (int32_t i = whole; i < count; ++i) {
            group[i - whole] = x[i];
        }
        tm_column_s16(column + whole / 4 * step, group, 4, step);
    }
}

/* Four interleaved columns (8 words per group) against one channel of a block (its groups
 * 16 bytes apart), groups >= 1: acc[column]. */
static inline void tm_dot_4x1(const uint32_t *x, const int8_t *w, int32_t groups, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
#if TM_DSP_ACLE
    uint32_t lo, hi;
#define TM_DOT_4X1_GROUP                                                                     \
    "ldr %[lo], [%[w]], #16\n\t"                                                              \
    "sxtb16 %[hi], %[lo], ror #8\n\t"                                                         \
    "sxtb16 %[lo], %[lo]\n\t"                                                                 \
    "ldmia %[x]!, {r4, r5, r6, r7}\n\t"                                                       \
    "smlad %[a0], %[lo], r4, %[a0]\n\t"                                                       \
    "smlad %[a0], %[hi], r5, %[a0]\n\t"                                                       \
    "smlad %[a1], %[lo], r6, %[a1]\n\t"                                                       \
    "smlad %[a1], %[hi], r7, %[a1]\n\t"                                                       \
    "ldmia %[x]!, {r4, r5, r6, r7}\n\t"                                                       \
    "smlad %[a2], %[lo], r4, %[a2]\n\t"                                                       \
    "smlad %[a2], %[hi], r5, %[a2]\n\t"                                                       \
    "smlad %[a3], %[lo], r6, %[a3]\n\t"                                                       \
    "smlad %[a3], %[hi], r7, %[a3]\n\t"
    /* n = groups / 2 with C = an odd group and Z = no pair (the group's instructions leave
     * the flags alone): the odd group first, then two groups per turn of the loop */
    __asm__ volatile(
        "lsrs %[n], %[n], #1\n\t"
        "bcc 2f\n\t"
        TM_DOT_4X1_GROUP
        "2:\n\t"
        "beq 3f\n\t"
        "1:\n\t"
        TM_DOT_4X1_GROUP
        TM_DOT_4X1_GROUP
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        "3:\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x),
          [w] "+r"(w), [n] "+r"(groups), [lo] "=&r"(lo), [hi] "=&r"(hi)
        :
        : "r4", "r5", "r6", "r7", "cc", "memory");
#undef TM_DOT_4X1_GROUP
#else
    for (int32_t g = 0; g < groups; ++g) {
        const uint32_t w0 = tm_load_u32(w);
        const uint32_t lo = tm_sxtb16(w0), hi = tm_sxtb16_ror8(w0);
        a0 = tm_smlad(hi, x[1], tm_smlad(lo, x[0], a0));
        a1 = tm_smlad(hi, x[3], tm_smlad(lo, x[2], a1));
        a2 = tm_smlad(hi, x[5], tm_smlad(lo, x[4], a2));
        a3 = tm_smlad(hi, x[7], tm_smlad(lo, x[6], a3));
        x += 8;
        w += 16;
    }
#endif
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* One column (2 words per group) against a block of four channels (16 bytes per group),
 * groups >= 1: acc[channel]. */
static inline void tm_dot_1x4(const uint32_t *x, const int8_t *w, int32_t groups, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
#if TM_DSP_ACLE
    uint32_t xa, xb, w0, w1, hi;
    __asm__ volatile(
        "1:\n\t"
        "ldrd %[xa], %[xb], [%[x]], #8\n\t"
        "ldrd %[w0], %[w1], [%[w]], #8\n\t"
        "sxtb16 %[hi], %[w0], ror #8\n\t"
        "sxtb16 %[w0], %[w0]\n\t"
        "smlad %[a0], %[w0], %[xa], %[a0]\n\t"
        "smlad %[a0], %[hi], %[xb], %[a0]\n\t"
        "sxtb16 %[hi], %[w1], ror #8\n\t"
        "sxtb16 %[w1], %[w1]\n\t"
        "smlad %[a1], %[w1], %[xa], %[a1]\n\t"
        "smlad %[a1], %[hi], %[xb], %[a1]\n\t"
        "ldrd %[w0], %[w1], [%[w]], #8\n\t"
        "sxtb16 %[hi], %[w0], ror #8\n\t"
        "sxtb16 %[w0], %[w0]\n\t"
        "smlad %[a2], %[w0], %[xa], %[a2]\n\t"
        "smlad %[a2], %[hi], %[xb], %[a2]\n\t"
        "sxtb16 %[hi], %[w1], ror #8\n\t"
        "sxtb16 %[w1], %[w1]\n\t"
        "smlad %[a3], %[w1], %[xa], %[a3]\n\t"
        "smlad %[a3], %[hi], %[xb], %[a3]\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x),
          [w] "+r"(w), [n] "+r"(groups), [xa] "=&r"(xa), [xb] "=&r"(xb), [w0] "=&r"(w0),
          [w1] "=&r"(w1), [hi] "=&r"(hi)
        :
        : "cc", "memory");
#else
    for (int32_t g = 0; g < groups; ++g) {
        const uint32_t xa = x[0], xb = x[1];
        int32_t *accs[4] = {&a0, &a1, &a2, &a3};
        for (int32_t c = 0; c < 4; ++c) {
            const uint32_t w0 = tm_load_u32(w + 4 * c);
            *accs[c] = tm_smlad(tm_sxtb16_ror8(w0), xb, tm_smlad(tm_sxtb16(w0), xa, *accs[c]));
        }
        x += 2;
        w += 16;
    }
#endif
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* The products of one group of four inputs, as int16 lanes xa = (x0, x2) and xb = (x1, x3)
 * in registers, with a block of two row pairs (16 bytes from w, advanced): shared by the
 * column kernels and the direct one (tm_fully_connected_direct_dsp_s8.c). */
#define TM_PAIRS_GROUP_BODY                                                                   \
    "ldrd %[w0], %[w1], [%[w]], #8\n\t"                                                        \
    "smlad %[s0], %[w0], %[xa], %[s0]\n\t"                                                     \
    "sxtb16 %[b], %[w0], ror #8\n\t"                                                           \
    "smlad %[t0], %[b], %[xa], %[t0]\n\t"                                                      \
    "smlad %[s0], %[w1], %[xb], %[s0]\n\t"                                                     \
    "sxtb16 %[b], %[w1], ror #8\n\t"                                                           \
    "smlad %[t0], %[b], %[xb], %[t0]\n\t"                                                      \
    "ldrd %[w0], %[w1], [%[w]], #8\n\t"                                                        \
    "smlad %[s1], %[w0], %[xa], %[s1]\n\t"                                                     \
    "sxtb16 %[b], %[w0], ror #8\n\t"                                                           \
    "smlad %[t1], %[b], %[xa], %[t1]\n\t"                                                      \
    "smlad %[s1], %[w1], %[xb], %[s1]\n\t"                                                     \
    "sxtb16 %[b], %[w1], ror #8\n\t"                                                           \
    "smlad %[t1], %[b], %[xb], %[t1]\n\t"

/* The same in C, for cores without the DSP extension (and the host). */
static inline void tm_pairs_group(const uint32_t x[2], const int8_t *w, uint32_t acc[4])
{
    for (int32_t pair = 0; pair < 2; ++pair) {
        for (int32_t half = 0; half < 2; ++half) {
            const uint32_t word = tm_load_u32(w + 8 * pair + 4 * half);
            uint32_t *s = &acc[2 * pair], *t = &acc[2 * pair + 1];
            *s = (uint32_t)tm_smlad(word, x[half], tm_dsp_s32(*s));
            *t = (uint32_t)tm_smlad(tm_sxtb16_ror8(word), x[half], tm_dsp_s32(*t));
        }
    }
}

/* Fully connected: one column (2 words per group) against a block of two row pairs in the
 * pair layout (tinyml/kernels/gemm_s8.py pack_row_pairs): a word [a + 128, b, a' + 128, b']
 * read as halfwords is (a + 128) + 256 b, so one SMLAD with the column word adds
 * sum (a + 128) x + 256 sum b x to s, and one SXTB16 (ROR 8) of the same word gives b's lanes
 * for t = sum b x: three instructions for four products where two SXTB16 and two SMLAD take
 * four. The caller removes 256 t and 128 sum x (tm_gemm_pairs). Wrapping is exact: the
 * true sums fit int32. acc = {s0, t0, s1, t1}. */
static inline void tm_dot_pairs_1x4(const uint32_t *x, const int8_t *w, int32_t groups,
                                    uint32_t acc[4])
{
#if TM_DSP_ACLE
    uint32_t s0 = acc[0], t0 = acc[1], s1 = acc[2], t1 = acc[3];
    uint32_t xa, xb, w0, w1, b;
#define TM_DOT_PAIRS_GROUP "ldrd %[xa], %[xb], [%[x]], #8\n\t" TM_PAIRS_GROUP_BODY
    /* as tm_dot_4x1: the odd group first, then two per turn */
    __asm__ volatile(
        "lsrs %[n], %[n], #1\n\t"
        "bcc 2f\n\t"
        TM_DOT_PAIRS_GROUP
        "2:\n\t"
        "beq 3f\n\t"
        "1:\n\t"
        TM_DOT_PAIRS_GROUP
        TM_DOT_PAIRS_GROUP
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        "3:\n\t"
        : [s0] "+r"(s0), [t0] "+r"(t0), [s1] "+r"(s1), [t1] "+r"(t1), [x] "+r"(x),
          [w] "+r"(w), [n] "+r"(groups), [xa] "=&r"(xa), [xb] "=&r"(xb), [w0] "=&r"(w0),
          [w1] "=&r"(w1), [b] "=&r"(b)
        :
        : "cc", "memory");
#undef TM_DOT_PAIRS_GROUP
    acc[0] = s0;
    acc[1] = t0;
    acc[2] = s1;
    acc[3] = t1;
#else
    for (int32_t g = 0; g < groups; ++g) {
        tm_pairs_group(x, w, acc);
        x += 2;
        w += 16;
    }
#endif
}

/* One column (`step` words per group) against one plain row (4 bytes per group). */
static inline int32_t tm_dot_row(const uint32_t *x, int32_t step, const int8_t *w, int32_t groups,
                                 int32_t acc)
{
    for (int32_t g = 0; g < groups; ++g) {
        const uint32_t w0 = tm_load_u32(w);
        acc = tm_smlad(tm_sxtb16_ror8(w0), x[1], tm_smlad(tm_sxtb16(w0), x[0], acc));
        x += step;
        w += 4;
    }
    return acc;
}

/* The requantization constants and output range of a layer; `common`: every channel shifts
 * right and the range is all of int8 (ReLU outputs at zero point -128, or none), the case of
 * nearly every layer, which has its own loop (tm_gemm_4_columns). */
typedef struct {
    const int32_t *offset_terms, *multiplier, *shift;
    int32_t output_offset, lo, hi;
    int common;
} tm_gemm_output;

static inline tm_gemm_output tm_gemm_output_of(const int32_t *offset_terms,
                                               const int32_t *multiplier, const int32_t *shift,
                                               int32_t channels, int32_t output_offset,
                                               int32_t lo, int32_t hi)
{
    tm_gemm_output o = {offset_terms, multiplier, shift, output_offset, lo, hi,
                        lo == -128 && hi == 127};
    for (int32_t c = 0; c < channels && o.common; ++c) {
        o.common = shift[c] < 0;
    }
    return o;
}

/* Where channel oc's first group is: blocks of 4 channels, then plain rows. */
static inline const int8_t *tm_gemm_row(const int8_t *weights, int32_t depth4, int32_t oc)
{
    const int32_t block = oc / TM_GEMM_BLOCK * TM_GEMM_BLOCK;
    return weights + block * depth4 + (oc - block) * 4;
}

/* One output: the scaled accumulator x (before the output offset) to int8. */
static inline int8_t tm_gemm_clamp(int32_t x, int32_t offset, int32_t lo, int32_t hi, int full)
{
    x += offset;
    return (int8_t)(full ? tm_ssat(x, 8) : tm_clamp_s8(x, lo, hi));
}

/* acc << 1 (or << shift + 1) times the multiplier, rounded at bit 32: TFLite's doubling high
 * multiply, exact while the shifted accumulator stays inside int32 (the variant's bound). */
static inline int32_t tm_gemm_right(int32_t acc, int32_t multiplier, int32_t half, int32_t right)
{
    const int32_t x = tm_smmulr((int32_t)((uint32_t)acc << 1), multiplier);
    return (x + half + (x >> 31)) >> right;
}

static inline int32_t tm_gemm_left(int32_t acc, int32_t multiplier, int32_t left)
{
    return tm_smmulr((int32_t)((uint32_t)acc << left), multiplier);
}

/* Four outputs of one channel, `stride` bytes apart. The channel's scale is read once and
 * the four cases (rounding shift or not, full int8 range or not) are apart, so each output
 * is a few instructions. */
static inline void tm_store4(const tm_gemm_output *o, int32_t oc, int32_t a0, int32_t a1, int32_t a2,
                      int32_t a3, int8_t *y, int32_t stride)
{
    const int32_t m = o->multiplier[oc], shift = o->shift[oc];
    const int32_t off = o->output_offset, lo = o->lo, hi = o->hi;
    if (shift < 0) {
        const int32_t right = -shift, half = 1 << (right - 1);
        if (lo == -128 && hi == 127) {
            y[0] = tm_gemm_clamp(tm_gemm_right(a0, m, half, right), off, lo, hi, 1);
            y[stride] = tm_gemm_clamp(tm_gemm_right(a1, m, half, right), off, lo, hi, 1);
            y[2 * stride] = tm_gemm_clamp(tm_gemm_right(a2, m, half, right), off, lo, hi, 1);
            y[3 * stride] = tm_gemm_clamp(tm_gemm_right(a3, m, half, right), off, lo, hi, 1);
        } else {
            y[0] = tm_gemm_clamp(tm_gemm_right(a0, m, half, right), off, lo, hi, 0);
            y[stride] = tm_gemm_clamp(tm_gemm_right(a1, m, half, right), off, lo, hi, 0);
            y[2 * stride] = tm_gemm_clamp(tm_gemm_right(a2, m, half, right), off, lo, hi, 0);
            y[3 * stride] = tm_gemm_clamp(tm_gemm_right(a3, m, half, right), off, lo, hi, 0);
        }
    } else {
        const int32_t left = shift + 1;
        y[0] = tm_gemm_clamp(tm_gemm_left(a0, m, left), off, lo, hi, 0);
        y[stride] = tm_gemm_clamp(tm_gemm_left(a1, m, left), off, lo, hi, 0);
        y[2 * stride] = tm_gemm_clamp(tm_gemm_left(a2, m, left), off, lo, hi, 0);
        y[3 * stride] = tm_gemm_clamp(tm_gemm_left(a3, m, left), off, lo, hi, 0);
    }
}

/* One output of channel oc, as tm_store4 for a single accumulator. */
static inline int8_t tm_store1(const tm_gemm_output *o, int32_t oc, int32_t acc)
{
    const int32_t m = o->multiplier[oc], shift = o->shift[oc];
    const int full = o->lo == -128 && o->hi == 127;
    const int32_t x = shift < 0 ? tm_gemm_right(acc, m, 1 << (-shift - 1), -shift)
                                : tm_gemm_left(acc, m, shift + 1);
    return tm_gemm_clamp(x, o->output_offset, o->lo, o->hi, full);
}

/* 128 times the sum of a column's values (2 words per group). */
static inline int32_t tm_column_sum128(const uint32_t *x, int32_t groups)
{
    int32_t sum = 0;
    for (int32_t g = 0; g < 2 * groups; ++g) {
        sum = tm_smlad(x[g], 0x00010001u, sum);
    }
    return (int32_t)((uint32_t)sum << 7);
}

/* Every output channel of one column (2 words per group) against the pair layout, written
 * to y: sum128 is 128 times the column's sum, the bias the pair words carry. */
static inline void tm_gemm_pairs(const uint32_t *x, int32_t sum128, const int8_t *weights,
                                 int32_t depth4, int32_t channels, const tm_gemm_output *o,
                                 int8_t *y)
{
    const int32_t groups = depth4 / 4;
    const int32_t blocked = channels / TM_GEMM_BLOCK * TM_GEMM_BLOCK;
    const int32_t *terms = o->offset_terms;
    for (int32_t oc = 0; oc < blocked; oc += TM_GEMM_BLOCK) {
        /* s starts where removing 256 t (t from terms[b]) and 128 sum x leaves terms[a] */
        uint32_t acc[4] = {(uint32_t)terms[oc] - (uint32_t)sum128 + ((uint32_t)terms[oc + 1] << 8),
                           (uint32_t)terms[oc + 1],
                           (uint32_t)terms[oc + 2] - (uint32_t)sum128 + ((uint32_t)terms[oc + 3] << 8),
                           (uint32_t)terms[oc + 3]};
        tm_dot_pairs_1x4(x, weights + oc * depth4, groups, acc);
        y[oc] = tm_store1(o, oc, tm_dsp_s32(acc[0] - (acc[1] << 8)));
        y[oc + 1] = tm_store1(o, oc + 1, tm_dsp_s32(acc[1]));
        y[oc + 2] = tm_store1(o, oc + 2, tm_dsp_s32(acc[2] - (acc[3] << 8)));
        y[oc + 3] = tm_store1(o, oc + 3, tm_dsp_s32(acc[3]));
    }
    for (int32_t oc = blocked; oc < channels; ++oc) {
        y[oc] = tm_store1(o, oc, tm_dot_row(x, 2, weights + oc * depth4, groups, terms[oc]));
    }
}

/* The GEMM loops, compiled once in tm_gemm_s8.c for every kernel that uses them. */
/* Every output channel of four interleaved columns, whose outputs are `stride` bytes apart
 * from y (the next pixel's same channel). */
void tm_gemm_4_columns(const uint32_t *x, const int8_t *weights, int32_t depth4,
                       int32_t channels, const tm_gemm_output *o, int8_t *y,
                       int32_t stride);

/* Every output channel of one column (2 words per group), written to y. */
void tm_gemm_1_column(const uint32_t *x, const int8_t *weights, int32_t depth4,
                      int32_t channels, const tm_gemm_output *o, int8_t *y);

#endif
