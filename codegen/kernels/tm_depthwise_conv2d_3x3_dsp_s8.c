#include "tm_depthwise_dsp.h"

/* Depthwise 3x3, dilation 1, stride_w 1 or 2, on int16 planes (tm_depthwise_dsp.h). Each
 * kernel row is two weight words, (w0, w1) and (w1, w2), so two outputs take four multiplies
 * per kernel row from two new plane words: with plane words P01 = (x0, x1), P23 = (x2, x3),
 * P45 = (x4, x5) of a row,
 *   stride 1: out0 = P01 . (w0, w1) + x2 w2       out1 = x1 w0 + P23 . (w1, w2)
 *   stride 2: out0 = P01 . (w0, w1) + x2 w2       out1 = P23 . (w0, w1) + x4 w2
 * (SMLAD/SMUAD for the pairs, SMLABT/SMLATB for the single taps); the last word read becomes
 * the next step's first. Kernel rows 0 and 1 make the accumulators, row 2 adds to them: one
 * pass over three rows would need more registers than the core has. The bias is pass B's. */

typedef struct {
    uint32_t w01[3], w12[3];
} tm_dw3x3_weights;

/* The passes take flags for single taps that are zero (constants at each call, so each
 * set compiles to its own loop without those multiplies): z0a, z2a for taps 0 and 2 of the
 * first row (taps 0 and 2), z0b, z2b of the second (taps 3 and 5); the last pass z0, z2 of
 * the third (taps 6 and 8). int8 weights run the loops without flags; ternary ones, about a
 * third of whose taps are zero, the loop of their channel's zeros. */
#if defined(__GNUC__)
#define TM_DW3_INLINE static inline __attribute__((always_inline))
#else
#define TM_DW3_INLINE static inline
#endif

/* Rows 0 and 1 of `pairs` output pairs, stride 1. */
TM_DW3_INLINE void tm_dw3x3_s1_first_z(const uint32_t *r0, const uint32_t *r1,
                                       const tm_dw3x3_weights *w, int32_t *acc, int32_t pairs,
                                       int z0a, int z2a, int z0b, int z2b)
{
    const uint32_t a01 = w->w01[0], a12 = w->w12[0], b01 = w->w01[1], b12 = w->w12[1];
    uint32_t x0 = *r0++, x1 = *r1++;
    for (; pairs > 0; --pairs, acc += 2) {
        uint32_t y = *r0++;
        int32_t s0 = tm_smuad(x0, a01), s1 = tm_smuad(y, a12);
        s0 = z2a ? s0 : tm_smlabt(y, a12, s0);
        s1 = z0a ? s1 : tm_smlatb(x0, a01, s1);
        x0 = y;
        y = *r1++;
        s0 = tm_smlad(x1, b01, s0);
        s1 = tm_smlad(y, b12, s1);
        acc[0] = z2b ? s0 : tm_smlabt(y, b12, s0);
        acc[1] = z0b ? s1 : tm_smlatb(x1, b01, s1);
        x1 = y;
    }
}

/* Row 2 added, stride 1. */
TM_DW3_INLINE void tm_dw3x3_s1_last_z(const uint32_t *r, uint32_t c01, uint32_t c12,
                                      int32_t *acc, int32_t pairs, int z0, int z2)
{
    uint32_t x = *r++;
    for (; pairs > 0; --pairs, acc += 2) {
        const uint32_t y = *r++;
        const int32_t s0 = tm_smlad(x, c01, acc[0]), s1 = tm_smlad(y, c12, acc[1]);
        acc[0] = z2 ? s0 : tm_smlabt(y, c12, s0);
        acc[1] = z0 ? s1 : tm_smlatb(x, c01, s1);
        x = y;
    }
}

/* Rows 0 and 1, stride 2: both single taps are tap 2. */
TM_DW3_INLINE void tm_dw3x3_s2_first_z(const uint32_t *r0, const uint32_t *r1,
                                       const tm_dw3x3_weights *w, int32_t *acc, int32_t pairs,
                                       int z2a, int z2b)
{
    const uint32_t a01 = w->w01[0], a12 = w->w12[0], b01 = w->w01[1], b12 = w->w12[1];
    uint32_t x0 = *r0++, x1 = *r1++;
    for (; pairs > 0; --pairs, acc += 2) {
        uint32_t y = r0[0], z = r0[1];
        r0 += 2;
        int32_t s0 = tm_smuad(x0, a01), s1 = tm_smuad(y, a01);
        s0 = z2a ? s0 : tm_smlabt(y, a12, s0);
        s1 = z2a ? s1 : tm_smlabt(z, a12, s1);
        x0 = z;
        y = r1[0];
        z = r1[1];
        r1 += 2;
        s0 = tm_smlad(x1, b01, s0);
        s1 = tm_smlad(y, b01, s1);
        acc[0] = z2b ? s0 : tm_smlabt(y, b12, s0);
        acc[1] = z2b ? s1 : tm_smlabt(z, b12, s1);
        x1 = z;
    }
}

TM_DW3_INLINE void tm_dw3x3_s2_last_z(const uint32_t *r, uint32_t c01, uint32_t c12,
                                      int32_t *acc, int32_t pairs, int z2)
{
    uint32_t x = *r++;
    for (; pairs > 0; --pairs, acc += 2) {
        const uint32_t y = r[0], z = r[1];
        r += 2;
        const int32_t s0 = tm_smlad(x, c01, acc[0]), s1 = tm_smlad(y, c01, acc[1]);
        acc[0] = z2 ? s0 : tm_smlabt(y, c12, s0);
        acc[1] = z2 ? s1 : tm_smlabt(z, c12, s1);
        x = z;
    }
}

typedef void (*tm_dw3x3_first)(const uint32_t *, const uint32_t *, const tm_dw3x3_weights *,
                               int32_t *, int32_t);
typedef void (*tm_dw3x3_last)(const uint32_t *, uint32_t, uint32_t, int32_t *, int32_t);

/* One loop per set of zero flags: bit 0 z0a (or z0), 1 z2a (z2), 2 z0b, 3 z2b. */
#define TM_DW3_S1_FIRST(n)                                                                \
    static void tm_dw3x3_s1_first_##n(const uint32_t *r0, const uint32_t *r1,               \
                                      const tm_dw3x3_weights *w, int32_t *acc, int32_t k) \
    {                                                                                      \
        tm_dw3x3_s1_first_z(r0, r1, w, acc, k, (n) & 1, ((n) >> 1) & 1, ((n) >> 2) & 1,    \
                            ((n) >> 3) & 1);                                               \
    }
#define TM_DW3_S2_FIRST(n)                                                                \
    static void tm_dw3x3_s2_first_##n(const uint32_t *r0, const uint32_t *r1,               \
                                      const tm_dw3x3_weights *w, int32_t *acc, int32_t k) \
    {                                                                                      \
        tm_dw3x3_s2_first_z(r0, r1, w, acc, k, ((n) >> 1) & 1, ((n) >> 3) & 1);            \
    }
#define TM_DW3_S1_LAST(n)                                                                 \
    static void tm_dw3x3_s1_last_##n(const uint32_t *r, uint32_t c01, uint32_t c12,         \
                                     int32_t *acc, int32_t k)                              \
    {                                                                                      \
        tm_dw3x3_s1_last_z(r, c01, c12, acc, k, (n) & 1, ((n) >> 1) & 1);                  \
    }
#define TM_DW3_S2_LAST(n)                                                                 \
    static void tm_dw3x3_s2_last_##n(const uint32_t *r, uint32_t c01, uint32_t c12,         \
                                     int32_t *acc, int32_t k)                              \
    {                                                                                      \
        tm_dw3x3_s2_last_z(r, c01, c12, acc, k, ((n) >> 1) & 1);                           \
    }
TM_DW3_S1_FIRST(0) TM_DW3_S1_FIRST(1) TM_DW3_S1_FIRST(2) TM_DW3_S1_FIRST(3)
TM_DW3_S1_FIRST(4) TM_DW3_S1_FIRST(5) TM_DW3_S1_FIRST(6) TM_DW3_S1_FIRST(7)
TM_DW3_S1_FIRST(8) TM_DW3_S1_FIRST(9) TM_DW3_S1_FIRST(10) TM_DW3_S1_FIRST(11)
TM_DW3_S1_FIRST(12) TM_DW3_S1_FIRST(13) TM_DW3_S1_FIRST(14) TM_DW3_S1_FIRST(15)
TM_DW3_S2_FIRST(0) TM_DW3_S2_FIRST(2) TM_DW3_S2_FIRST(8) TM_DW3_S2_FIRST(10)
TM_DW3_S1_LAST(0) TM_DW3_S1_LAST(1) TM_DW3_S1_LAST(2) TM_DW3_S1_LAST(3)
TM_DW3_S2_LAST(0) TM_DW3_S2_LAST(2)

static const tm_dw3x3_first tm_dw3x3_s1_firsts[16] = {
    tm_dw3x3_s1_first_0, tm_dw3x3_s1_first_1, tm_dw3x3_s1_first_2, tm_dw3x3_s1_first_3,
    tm_dw3x3_s1_first_4, tm_dw3x3_s1_first_5, tm_dw3x3_s1_first_6, tm_dw3x3_s1_first_7,
    tm_dw3x3_s1_first_8, tm_dw3x3_s1_first_9, tm_dw3x3_s1_first_10, tm_dw3x3_s1_first_11,
    tm_dw3x3_s1_first_12, tm_dw3x3_s1_first_13, tm_dw3x3_s1_first_14, tm_dw3x3_s1_first_15};
static const tm_dw3x3_first tm_dw3x3_s2_firsts[16] = {
    tm_dw3x3_s2_first_0, tm_dw3x3_s2_first_0, tm_dw3x3_s2_first_2, tm_dw3x3_s2_first_2,
    tm_dw3x3_s2_first_0, tm_dw3x3_s2_first_0, tm_dw3x3_s2_first_2, tm_dw3x3_s2_first_2,
    tm_dw3x3_s2_first_8, tm_dw3x3_s2_first_8, tm_dw3x3_s2_first_10, tm_dw3x3_s2_first_10,
    tm_dw3x3_s2_first_8, tm_dw3x3_s2_first_8, tm_dw3x3_s2_first_10, tm_dw3x3_s2_first_10};
static const tm_dw3x3_last tm_dw3x3_s1_lasts[4] = {tm_dw3x3_s1_last_0, tm_dw3x3_s1_last_1,
                                                   tm_dw3x3_s1_last_2, tm_dw3x3_s1_last_3};
static const tm_dw3x3_last tm_dw3x3_s2_lasts[4] = {tm_dw3x3_s2_last_0, tm_dw3x3_s2_last_0,
                                                   tm_dw3x3_s2_last_2, tm_dw3x3_s2_last_2};

/* One output whose row-0 plane word is r0[0] (either stride). */
static int32_t tm_dw3x3_single(const uint32_t *r0, const uint32_t *r1, const uint32_t *r2,
                               const tm_dw3x3_weights *w)
{
    int32_t s = tm_smlabt(r0[1], w->w12[0], tm_smuad(r0[0], w->w01[0]));
    s = tm_smlabt(r1[1], w->w12[1], tm_smlad(r1[0], w->w01[1], s));
    return tm_smlabt(r2[1], w->w12[2], tm_smlad(r2[0], w->w01[2], s));
}

/* Fewest outputs per row for which a ternary channel's zero taps are looked for: below, the
 * flags cost more than the multiplies they save. */
#define TM_DW3_ZEROS_MIN_WIDTH 8

/* A band of one channel; `ternary`: the weights are the band's codes times gain; `zeros`:
 * the loops for the channel's zero single taps run (worth its flags on wide rows). */
TM_DW3_INLINE void tm_dw3x3_band_z(const tm_dw_band *b, const uint32_t *plane, int32_t *acc,
                                   int ternary, int zeros)
{
    const tm_conv_geometry *g = b->g;
    tm_dw3x3_weights w;
    int first = 0, last = 0;   /* zero flags of rows 0 and 1, of row 2 */
    if (ternary) {
        const uint32_t s = b->signs;
        const int32_t unit = b->gain * (1 << b->scale);
        /* unrolled: each tap one signed bit-field extract and one multiply */
        const int32_t t0 = tm_dw_trit(s, 0) * unit, t1 = tm_dw_trit(s, 1) * unit;
        const int32_t t2 = tm_dw_trit(s, 2) * unit, t3 = tm_dw_trit(s, 3) * unit;
        const int32_t t4 = tm_dw_trit(s, 4) * unit, t5 = tm_dw_trit(s, 5) * unit;
        const int32_t t6 = tm_dw_trit(s, 6) * unit, t7 = tm_dw_trit(s, 7) * unit;
        const int32_t t8 = tm_dw_trit(s, 8) * unit;
        w.w01[0] = tm_lanes16(t0, t1);
        w.w12[0] = tm_lanes16(t1, t2);
        w.w01[1] = tm_lanes16(t3, t4);
        w.w12[1] = tm_lanes16(t4, t5);
        w.w01[2] = tm_lanes16(t6, t7);
        w.w12[2] = tm_lanes16(t7, t8);
        if (zeros) {
            /* bit 2i of `zero`: tap i's code is 00 */
            const uint32_t zero = ~(s | s >> 1);
            first = (int)((zero & 1u) | (zero >> 3 & 2u) | (zero >> 4 & 4u) | (zero >> 7 & 8u));
            last = (int)((zero >> 12 & 1u) | (zero >> 15 & 2u));
        }
    } else {
        for (int32_t fy = 0; fy < 3; ++fy) {
            const int32_t w0 = tm_dw_weight(b, 3 * fy), w1 = tm_dw_weight(b, 3 * fy + 1);
            w.w01[fy] = tm_lanes16(w0, w1);
            w.w12[fy] = tm_lanes16(w1, tm_dw_weight(b, 3 * fy + 2));
        }
    }
    const tm_dw3x3_first pass_first = g->stride_w == 1 ? tm_dw3x3_s1_firsts[first]
                                                       : tm_dw3x3_s2_firsts[first];
    const tm_dw3x3_last pass_last = g->stride_w == 1 ? tm_dw3x3_s1_lasts[last]
                                                     : tm_dw3x3_s2_lasts[last];
    const int32_t pairs = g->out_w / 2;
    const int32_t tail = pairs * g->stride_w;   /* the plane word of an odd last output */
    for (int32_t oy = 0; oy < b->rows; ++oy, acc += g->out_w) {
        const uint32_t *r0 = plane + oy * g->stride_h * b->words;
        const uint32_t *r1 = r0 + b->words, *r2 = r1 + b->words;
        pass_first(r0, r1, &w, acc, pairs);
        pass_last(r2, w.w01[2], w.w12[2], acc, pairs);
        if (g->out_w & 1) {
            acc[2 * pairs] = tm_dw3x3_single(r0 + tail, r1 + tail, r2 + tail, &w);
        }
    }
}

static void tm_dw3x3_band(const tm_dw_band *b, const uint32_t *plane, int32_t *acc)
{
    tm_dw3x3_band_z(b, plane, acc, 0, 0);
}

static void tm_dw3x3_band_ternary(const tm_dw_band *b, const uint32_t *plane, int32_t *acc)
{
    tm_dw3x3_band_z(b, plane, acc, 1, 0);
}

static void tm_dw3x3_band_ternary_zeros(const tm_dw_band *b, const uint32_t *plane,
                                        int32_t *acc)
{
    tm_dw3x3_band_z(b, plane, acc, 1, 1);
}

int32_t tm_depthwise_conv2d_3x3_dsp_s8_get_buffer_size(const tm_depthwise_conv2d_dsp_s8_params *p)
{
    return tm_dw_buffer_size(p, 0);
}

int tm_depthwise_conv2d_3x3_dsp_s8(const tm_depthwise_conv2d_dsp_s8_params *p,
                                   const int8_t *input, const int8_t *weights,
                                   const int32_t *bias, const int32_t *multiplier,
                                   const int32_t *shift, int8_t *output, void *scratch)
{
    tm_dw_run(p, input, weights, NULL, bias, multiplier, shift, output, scratch, tm_dw3x3_band);
    return TM_OK;
}

/* The same on ternary weights (tm_depthwise_dsp.h tm_dw_ternary): a channel's nine taps read
 * from its codes, then the same SMLAD passes without the multiplies of its zero single taps. */
int32_t tm_depthwise_conv2d_3x3_dsp_s8t2_get_buffer_size(const tm_depthwise_conv2d_dsp_s8_params *p)
{
    return tm_dw_buffer_size(p, 0);
}

int tm_depthwise_conv2d_3x3_dsp_s8t2(const tm_depthwise_conv2d_dsp_s8_params *p,
                                     const int8_t *input, const uint8_t *signs,
                                     const int32_t *gain, const int32_t *bias,
                                     const int32_t *multiplier, const int32_t *shift,
                                     int8_t *output, void *scratch)
{
    const tm_dw_ternary ternary = {signs, gain};
    /* two calls, not a chosen pointer: each inlines its pass as the int8 kernel's does */
    if (p->geometry.out_w >= TM_DW3_ZEROS_MIN_WIDTH) {
        tm_dw_run(p, input, NULL, &ternary, bias, multiplier, shift, output, scratch,
                  tm_dw3x3_band_ternary_zeros);
    } else {
        tm_dw_run(p, input, NULL, &ternary, bias, multiplier, shift, output, scratch,
                  tm_dw3x3_band_ternary);
    }
    return TM_OK;
}
