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

/* Rows 0 and 1 of `pairs` output pairs, stride 1. */
static void tm_dw3x3_s1_first(const uint32_t *r0, const uint32_t *r1, const tm_dw3x3_weights *w,
                              int32_t *acc, int32_t pairs)
{
    const uint32_t a01 = w->w01[0], a12 = w->w12[0], b01 = w->w01[1], b12 = w->w12[1];
    uint32_t x0 = *r0++, x1 = *r1++;
    for (; pairs > 0; --pairs, acc += 2) {
        uint32_t y = *r0++;
        int32_t s0 = tm_smlabt(y, a12, tm_smuad(x0, a01));
        int32_t s1 = tm_smlatb(x0, a01, tm_smuad(y, a12));
        x0 = y;
        y = *r1++;
        s0 = tm_smlabt(y, b12, tm_smlad(x1, b01, s0));
        acc[1] = tm_smlatb(x1, b01, tm_smlad(y, b12, s1));
        acc[0] = s0;
        x1 = y;
    }
}

/* Row 2 added, stride 1. */
static void tm_dw3x3_s1_last(const uint32_t *r, uint32_t c01, uint32_t c12, int32_t *acc,
                             int32_t pairs)
{
    uint32_t x = *r++;
    for (; pairs > 0; --pairs, acc += 2) {
        const uint32_t y = *r++;
        const int32_t s0 = acc[0], s1 = acc[1];
        acc[0] = tm_smlabt(y, c12, tm_smlad(x, c01, s0));
        acc[1] = tm_smlatb(x, c01, tm_smlad(y, c12, s1));
        x = y;
    }
}

static void tm_dw3x3_s2_first(const uint32_t *r0, const uint32_t *r1, const tm_dw3x3_weights *w,
                              int32_t *acc, int32_t pairs)
{
    const uint32_t a01 = w->w01[0], a12 = w->w12[0], b01 = w->w01[1], b12 = w->w12[1];
    uint32_t x0 = *r0++, x1 = *r1++;
    for (; pairs > 0; --pairs, acc += 2) {
        uint32_t y = r0[0], z = r0[1];
        r0 += 2;
        int32_t s0 = tm_smlabt(y, a12, tm_smuad(x0, a01));
        int32_t s1 = tm_smlabt(z, a12, tm_smuad(y, a01));
        x0 = z;
        y = r1[0];
        z = r1[1];
        r1 += 2;
        acc[0] = tm_smlabt(y, b12, tm_smlad(x1, b01, s0));
        acc[1] = tm_smlabt(z, b12, tm_smlad(y, b01, s1));
        x1 = z;
    }
}

static void tm_dw3x3_s2_last(const uint32_t *r, uint32_t c01, uint32_t c12, int32_t *acc,
                             int32_t pairs)
{
    uint32_t x = *r++;
    for (; pairs > 0; --pairs, acc += 2) {
        const uint32_t y = r[0], z = r[1];
        r += 2;
        const int32_t s0 = acc[0], s1 = acc[1];
        acc[0] = tm_smlabt(y, c12, tm_smlad(x, c01, s0));
        acc[1] = tm_smlabt(z, c12, tm_smlad(y, c01, s1));
        x = z;
    }
}

/* One output whose row-0 plane word is r0[0] (either stride). */
static int32_t tm_dw3x3_single(const uint32_t *r0, const uint32_t *r1, const uint32_t *r2,
                               const tm_dw3x3_weights *w)
{
    int32_t s = tm_smlabt(r0[1], w->w12[0], tm_smuad(r0[0], w->w01[0]));
    s = tm_smlabt(r1[1], w->w12[1], tm_smlad(r1[0], w->w01[1], s));
    return tm_smlabt(r2[1], w->w12[2], tm_smlad(r2[0], w->w01[2], s));
}

static void tm_dw3x3_band(const tm_dw_band *b, const uint32_t *plane, int32_t *acc)
{
    const tm_conv_geometry *g = b->g;
    tm_dw3x3_weights w;
    for (int32_t fy = 0; fy < 3; ++fy) {
        const int32_t w0 = tm_dw_weight(b, 3 * fy), w1 = tm_dw_weight(b, 3 * fy + 1);
        w.w01[fy] = tm_lanes16(w0, w1);
        w.w12[fy] = tm_lanes16(w1, tm_dw_weight(b, 3 * fy + 2));
    }
    const int32_t pairs = g->out_w / 2;
    const int32_t tail = pairs * g->stride_w;   /* the plane word of an odd last output */
    for (int32_t oy = 0; oy < b->rows; ++oy, acc += g->out_w) {
        const uint32_t *r0 = plane + oy * g->stride_h * b->words;
        const uint32_t *r1 = r0 + b->words, *r2 = r1 + b->words;
        if (g->stride_w == 1) {
            tm_dw3x3_s1_first(r0, r1, &w, acc, pairs);
            tm_dw3x3_s1_last(r2, w.w01[2], w.w12[2], acc, pairs);
        } else {
            tm_dw3x3_s2_first(r0, r1, &w, acc, pairs);
            tm_dw3x3_s2_last(r2, w.w01[2], w.w12[2], acc, pairs);
        }
        if (g->out_w & 1) {
            acc[2 * pairs] = tm_dw3x3_single(r0 + tail, r1 + tail, r2 + tail, &w);
        }
    }
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

/* The same on ternary weights (tm_depthwise_dsp.h tm_dw_ternary): a channel's signs decoded
 * to its nine int8 taps, then the same SMLAD passes. */
int32_t tm_depthwise_conv2d_3x3_dsp_s8t2_get_buffer_size(const tm_depthwise_conv2d_dsp_s8_params *p)
{
    return tm_dw_buffer_size(p, 12);
}

int tm_depthwise_conv2d_3x3_dsp_s8t2(const tm_depthwise_conv2d_dsp_s8_params *p,
                                     const int8_t *input, const uint8_t *signs,
                                     const int32_t *gain, const int32_t *bias,
                                     const int32_t *multiplier, const int32_t *shift,
                                     int8_t *output, void *scratch)
{
    const tm_dw_ternary ternary = {signs, gain};
    tm_dw_run(p, input, NULL, &ternary, bias, multiplier, shift, output, scratch,
              tm_dw3x3_band);
    return TM_OK;
}
