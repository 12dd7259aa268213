#include "tm_gemm_s8t2.h"

/* The GEMM loops of tm_gemm_s8t2.h, shared by the DSP kernels on ternary weights. */

/* Byte i of the s1 mask is 0xFF where code i is 11 (-1); of the s2 mask, where it is not 01
 * (+1): 00 (0) and the unused 10 read as 0. */
#define TM_T2_M1(c, i) ((((c) >> (2 * (i))) & 3u) == 3u ? 0xFFu << (8 * (i)) : 0u)
#define TM_T2_M2(c, i) ((((c) >> (2 * (i))) & 3u) != 1u ? 0xFFu << (8 * (i)) : 0u)
#define TM_T2_E(c)                                                                    \
    {TM_T2_M1(c, 0) | TM_T2_M1(c, 1) | TM_T2_M1(c, 2) | TM_T2_M1(c, 3),                   \
     TM_T2_M2(c, 0) | TM_T2_M2(c, 1) | TM_T2_M2(c, 2) | TM_T2_M2(c, 3)}
#define TM_T2_E4(c) TM_T2_E(c), TM_T2_E((c) + 1u), TM_T2_E((c) + 2u), TM_T2_E((c) + 3u)
#define TM_T2_E16(c) TM_T2_E4(c), TM_T2_E4((c) + 4u), TM_T2_E4((c) + 8u), TM_T2_E4((c) + 12u)
#define TM_T2_E64(c) \
    TM_T2_E16(c), TM_T2_E16((c) + 16u), TM_T2_E16((c) + 32u), TM_T2_E16((c) + 48u)

const uint32_t tm_t2_masks[256][2] = {TM_T2_E64(0u), TM_T2_E64(64u), TM_T2_E64(128u),
                                      TM_T2_E64(192u)};

/* Four interleaved columns (4 words per group) against one channel's codes, `step` bytes
 * apart (4 in a block, 1 in a plain row), groups >= 1: acc[column] += both planes' sums. */
#if TM_DSP_ACLE
#define TM_T2_GROUP(step)                                                                \
    "ldrb %[m1], [%[w]], #" #step "\n\t"                                                  \
    "add %[m1], %[lut], %[m1], lsl #3\n\t"                                                \
    "ldrd %[m1], %[m2], [%[m1]]\n\t"                                                      \
    "ldmia %[x]!, {r4, r5, r6, r8}\n\t"                                                   \
    "usada8 %[a0], r4, %[m1], %[a0]\n\t"                                                  \
    "usada8 %[a0], r4, %[m2], %[a0]\n\t"                                                  \
    "usada8 %[a1], r5, %[m1], %[a1]\n\t"                                                  \
    "usada8 %[a1], r5, %[m2], %[a1]\n\t"                                                  \
    "usada8 %[a2], r6, %[m1], %[a2]\n\t"                                                  \
    "usada8 %[a2], r6, %[m2], %[a2]\n\t"                                                  \
    "usada8 %[a3], r8, %[m1], %[a3]\n\t"                                                  \
    "usada8 %[a3], r8, %[m2], %[a3]\n\t"
/* n = groups / 2 with C = an odd group and Z = no pair, as tm_dot_4x1 */
#define TM_T2_DOT_4X1(step)                                                              \
    __asm__ volatile("lsrs %[n], %[n], #1\n\t"                                            \
                     "bcc 2f\n\t" TM_T2_GROUP(step) "2:\n\t"                              \
                     "beq 3f\n\t"                                                         \
                     "1:\n\t" TM_T2_GROUP(step) TM_T2_GROUP(step)                         \
                     "subs %[n], %[n], #1\n\t"                                            \
                     "bne 1b\n\t"                                                         \
                     "3:\n\t"                                                             \
                     : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),        \
                       [x] "+r"(x), [w] "+r"(w), [n] "+r"(groups), [m1] "=&r"(m1),        \
                       [m2] "=&r"(m2)                                                     \
                     : [lut] "r"(tm_t2_masks)                                             \
                     : "r4", "r5", "r6", "r8", "cc", "memory")
#endif

#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline void tm_t2_dot_4x1(const uint32_t *x, const uint8_t *w, int32_t step,
                                 int32_t groups, uint32_t acc[4])
{
    uint32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
#if TM_DSP_ACLE
    uint32_t m1, m2;
    if (step == TM_GEMM_BLOCK) {
        TM_T2_DOT_4X1(4);
    } else {
        TM_T2_DOT_4X1(1);
    }
#else
    for (int32_t g = 0; g < groups; ++g, w += step, x += 4) {
        const uint32_t m1 = tm_t2_masks[*w][0], m2 = tm_t2_masks[*w][1];
        a0 = tm_usada8(x[0], m2, tm_usada8(x[0], m1, a0));
        a1 = tm_usada8(x[1], m2, tm_usada8(x[1], m1, a1));
        a2 = tm_usada8(x[2], m2, tm_usada8(x[2], m1, a2));
        a3 = tm_usada8(x[3], m2, tm_usada8(x[3], m1, a3));
    }
#endif
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* One column (1 word per group) against one channel's codes, `step` bytes apart. */
static uint32_t tm_t2_dot_row(const uint32_t *x, const uint8_t *w, int32_t step, int32_t groups)
{
    uint32_t a = 0;
    for (int32_t g = 0; g < groups; ++g, w += step) {
        const uint32_t *m = tm_t2_masks[*w];
        a = tm_usada8(x[g], m[1], tm_usada8(x[g], m[0], a));
    }
    return a;
}

/* One column against a block of four channels (4 code bytes per group), groups >= 1:
 * acc[channel] += both planes' sums. */
static void tm_t2_dot_1x4(const uint32_t *x, const uint8_t *w, int32_t groups, uint32_t acc[4])
{
    uint32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
#if TM_DSP_ACLE
    uint32_t u, m1, m2;
#define TM_T2_1X4_CHANNEL(a, load)                                                       \
    load                                                                                 \
    "add %[m1], %[lut], %[m1], lsl #3\n\t"                                               \
    "ldrd %[m1], %[m2], [%[m1]]\n\t"                                                     \
    "usada8 %[" #a "], %[u], %[m1], %[" #a "]\n\t"                                       \
    "usada8 %[" #a "], %[u], %[m2], %[" #a "]\n\t"
/* the first channel's code load steps to the next group */
#define TM_T2_1X4_GROUP                                                                  \
    "ldr %[u], [%[x]], #4\n\t"                                                           \
    TM_T2_1X4_CHANNEL(a0, "ldrb %[m1], [%[w]], #4\n\t")                                  \
    TM_T2_1X4_CHANNEL(a1, "ldrb %[m1], [%[w], #-3]\n\t")                                 \
    TM_T2_1X4_CHANNEL(a2, "ldrb %[m1], [%[w], #-2]\n\t")                                 \
    TM_T2_1X4_CHANNEL(a3, "ldrb %[m1], [%[w], #-1]\n\t")
    /* as tm_t2_dot_4x1: the odd group first, then two per turn */
    __asm__ volatile("lsrs %[n], %[n], #1\n\t"
                     "bcc 2f\n\t" TM_T2_1X4_GROUP "2:\n\t"
                     "beq 3f\n\t"
                     "1:\n\t" TM_T2_1X4_GROUP TM_T2_1X4_GROUP
                     "subs %[n], %[n], #1\n\t"
                     "bne 1b\n\t"
                     "3:\n\t"
                     : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x),
                       [w] "+r"(w), [n] "+r"(groups), [u] "=&r"(u), [m1] "=&r"(m1),
                       [m2] "=&r"(m2)
                     : [lut] "r"(tm_t2_masks)
                     : "cc", "memory");
#undef TM_T2_1X4_GROUP
#undef TM_T2_1X4_CHANNEL
#else
    for (int32_t g = 0; g < groups; ++g, w += 4) {
        const uint32_t u = x[g];
        const uint32_t *m0 = tm_t2_masks[w[0]], *m1 = tm_t2_masks[w[1]];
        const uint32_t *m2 = tm_t2_masks[w[2]], *m3 = tm_t2_masks[w[3]];
        a0 = tm_usada8(u, m0[1], tm_usada8(u, m0[0], a0));
        a1 = tm_usada8(u, m1[1], tm_usada8(u, m1[0], a1));
        a2 = tm_usada8(u, m2[1], tm_usada8(u, m2[0], a2));
        a3 = tm_usada8(u, m3[1], tm_usada8(u, m3[0], a3));
    }
#endif
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* The accumulator of channel oc from both planes' sum (tm_gemm_s8t2.h). */
static inline int32_t tm_t2_acc(const tm_gemm_output *o, const tm_t2_weights *w, int32_t oc,
                                uint32_t sum)
{
    return tm_trit_finish((int32_t)(sum + (uint32_t)o->offset_terms[oc]) >> 1, w->gain, w->bias,
                          oc);
}

/* Channels from oc on, any output stage (tm_store4), with or without a gain. Apart from the
 * common loop, so that one keeps its registers. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void tm_t2_4_columns_any(const uint32_t *x, const uint8_t *codes, int32_t groups,
                                int32_t channels, int32_t oc, const uint8_t *block,
                                const tm_gemm_output *o, const tm_t2_weights *w, int8_t *y,
                                int32_t stride)
{
    const int32_t blocked = channels / TM_GEMM_BLOCK * TM_GEMM_BLOCK;
    const int32_t *terms = o->offset_terms, *gain = w->gain, *bias = w->bias;
    for (; oc < channels; ++oc) {
        const uint32_t t = (uint32_t)terms[oc];
        uint32_t sums[4] = {t, t, t, t};
        if (oc < blocked) {
            tm_t2_dot_4x1(x, block + (oc & 3), TM_GEMM_BLOCK, groups, sums);
            if ((oc & 3) == 3) {
                block += TM_GEMM_BLOCK * groups;
            }
        } else {
            tm_t2_dot_4x1(x, codes + oc * groups, 1, groups, sums);
        }
        int32_t a0 = (int32_t)sums[0] >> 1, a1 = (int32_t)sums[1] >> 1;
        int32_t a2 = (int32_t)sums[2] >> 1, a3 = (int32_t)sums[3] >> 1;
        if (gain) {
            const int32_t q = gain[oc], b = bias[oc];
            a0 = a0 * q + b;
            a1 = a1 * q + b;
            a2 = a2 * q + b;
            a3 = a3 * q + b;
        }
        tm_store4(o, oc, a0, a1, a2, a3, y + oc, stride);
    }
}

void tm_gemm_t2_4_columns(const uint32_t *x, const uint8_t *codes, int32_t groups,
                          int32_t channels, const tm_gemm_output *o, const tm_t2_weights *w,
                          int8_t *y, int32_t stride)
{
    const int32_t blocked = channels / TM_GEMM_BLOCK * TM_GEMM_BLOCK;
    const uint8_t *block = codes;
    int32_t oc = 0;
    if (o->lo == -128 && o->hi == 127 && !w->gain) {
        /* nearly every layer: the whole int8 range, a shift either way per channel; locals,
         * as the int8 stores may alias *o */
        const int32_t *terms = o->offset_terms, *multiplier = o->multiplier, *shift = o->shift;
        const int32_t off = o->output_offset;
        int8_t *y1 = y + stride, *y2 = y + 2 * stride, *y3 = y + 3 * stride;
        for (; oc < blocked; ++oc) {
            const uint32_t t = (uint32_t)terms[oc];
            uint32_t sums[4] = {t, t, t, t};   /* the doubled accumulators (tm_gemm_s8t2.h) */
            tm_t2_dot_4x1(x, block + (oc & 3), TM_GEMM_BLOCK, groups, sums);
            if ((oc & 3) == 3) {
                block += TM_GEMM_BLOCK * groups;
            }
            const int32_t m = multiplier[oc], s = shift[oc];
            int32_t v0, v1, v2, v3;
            if (s < 0) {
                const int32_t right = -s, half = 1 << (right - 1);
                v0 = tm_t2_right(sums[0], m, half, right);
                v1 = tm_t2_right(sums[1], m, half, right);
                v2 = tm_t2_right(sums[2], m, half, right);
                v3 = tm_t2_right(sums[3], m, half, right);
            } else {
                v0 = tm_smmulr((int32_t)(sums[0] << s), m);
                v1 = tm_smmulr((int32_t)(sums[1] << s), m);
                v2 = tm_smmulr((int32_t)(sums[2] << s), m);
                v3 = tm_smmulr((int32_t)(sums[3] << s), m);
            }
            y[oc] = (int8_t)tm_ssat(v0 + off, 8);
            y1[oc] = (int8_t)tm_ssat(v1 + off, 8);
            y2[oc] = (int8_t)tm_ssat(v2 + off, 8);
            y3[oc] = (int8_t)tm_ssat(v3 + off, 8);
        }
    }
    if (oc < channels) {
        tm_t2_4_columns_any(x, codes, groups, channels, oc, block, o, w, y, stride);
    }
}

void tm_gemm_t2_1_column(const uint32_t *x, const uint8_t *codes, int32_t groups,
                         int32_t channels, const tm_gemm_output *o, const tm_t2_weights *w,
                         int8_t *y)
{
    const int32_t *terms = o->offset_terms;
    const int32_t blocked = channels / TM_GEMM_BLOCK * TM_GEMM_BLOCK;
    int32_t oc = 0;
    if (o->lo == -128 && o->hi == 127 && !w->gain) {
        /* the whole int8 range, a shift either way per channel, from the doubled sums */
        const int32_t *multiplier = o->multiplier, *shift = o->shift;
        const int32_t off = o->output_offset;
        for (; oc < blocked; oc += TM_GEMM_BLOCK) {
            uint32_t sums[4] = {(uint32_t)terms[oc], (uint32_t)terms[oc + 1],
                                (uint32_t)terms[oc + 2], (uint32_t)terms[oc + 3]};
            tm_t2_dot_1x4(x, codes + oc * groups, groups, sums);
            for (int32_t c = 0; c < 4; ++c) {
                const int32_t m = multiplier[oc + c], s = shift[oc + c];
                const int32_t v = s < 0 ? tm_t2_right(sums[c], m, 1 << (-s - 1), -s)
                                        : tm_smmulr((int32_t)(sums[c] << s), m);
                y[oc + c] = (int8_t)tm_ssat(v + off, 8);
            }
        }
    }
    for (; oc < blocked; oc += TM_GEMM_BLOCK) {
        uint32_t sums[4] = {0, 0, 0, 0};
        tm_t2_dot_1x4(x, codes + oc * groups, groups, sums);
        for (int32_t c = 0; c < 4; ++c) {
            y[oc + c] = tm_store1(o, oc + c, tm_t2_acc(o, w, oc + c, sums[c]));
        }
    }
    for (; oc < channels; ++oc) {
        y[oc] = tm_store1(o, oc, tm_t2_acc(o, w, oc, tm_t2_dot_row(x, codes + oc * groups, 1,
                                                                    groups)));
    }
}
