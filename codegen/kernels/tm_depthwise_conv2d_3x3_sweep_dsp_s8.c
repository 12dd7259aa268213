#include "tm_gemm_s8.h"

/* Depthwise 3x3 (dilation 1, multiplier 1, stride 1 or 2 each way) swept down columns.
 *
 * Four channels at a time, a band of output columns at a time, the input the band reads
 * becomes int16 planes in scratch, one per channel, stored column by column (rows
 * contiguous) with the input offset added and zeros for padding, so every tap TFLite skips
 * adds 0. Each output channel then keeps its 9 weights in registers as (row 0, row 1) pairs
 * and row-2 words, and walks each column two output rows at a time: per kernel column one
 * word load pair, one pack, two SMLAD(X) and two SMLAxy, so 18 products take 18
 * instructions. Sweeping down columns keeps the runs long on tall narrow inputs (a keyword
 * spotter's 25x5). The output stage is tm_gemm_s8.h's. Rows and columns are read and
 * written by pitch: a region of a larger tensor works as a whole one. */

#define TM_SWEEP_GROUP 4
#define TM_SWEEP_BUDGET 4096   /* scratch bytes a band aims at (tinyml/kernels/...sweep...py) */

/* Plane rows: every input row the outputs read, padding included, rounded up to even so
 * each column starts on a word and the last pair's word loads stay inside it. */
static int32_t tm_sweep_rows(const tm_conv_geometry *g)
{
    const int32_t rows = (g->out_h - 1) * g->stride_h + 3;
    return rows + (rows & 1);
}

/* Output columns per band: as many as the budget holds, one at least. */
static int32_t tm_sweep_band(const tm_conv_geometry *g)
{
    const int32_t column_bytes = TM_SWEEP_GROUP * tm_sweep_rows(g) * (int32_t)sizeof(int16_t);
    const int32_t in_cols = TM_SWEEP_BUDGET / column_bytes;
    const int32_t band = in_cols >= 3 ? (in_cols - 3) / g->stride_w + 1 : 1;
    return band < g->out_w ? band : g->out_w;
}

int32_t tm_depthwise_conv2d_3x3_sweep_dsp_s8_get_buffer_size(
    const tm_depthwise_conv2d_s8_params *p)
{
    const tm_conv_geometry *g = &p->geometry;
    const int32_t in_cols = (tm_sweep_band(g) - 1) * g->stride_w + 3;
    return TM_SWEEP_GROUP * in_cols * tm_sweep_rows(g) * (int32_t)sizeof(int16_t);
}

static inline uint32_t tm_sweep_word(const int16_t *p)
{
    return tm_load_u32(__builtin_assume_aligned(p, 4));
}

/* The planes of channels [c0, c0 + n) for input columns [ix0, ix0 + in_cols): rows outside
 * the image are zeros; four channels inside it are one word load, two SXTAB16 adding the
 * offset and four halfword stores per row. */
static void tm_sweep_planes(int16_t *planes, const int8_t *image, const tm_conv_geometry *g,
                            int32_t c0, int32_t n, int32_t ix0, int32_t in_cols, int32_t rows,
                            int32_t input_offset)
{
    const uint32_t offset2 = (uint32_t)(uint16_t)input_offset * 0x00010001u;
    const int32_t r_lo = TM_MIN(TM_MAX(g->pad_top, 0), rows);
    const int32_t r_hi = TM_MAX(TM_MIN(g->pad_top + g->in_h, rows), r_lo);
    for (int32_t j = 0; j < in_cols; ++j) {
        const int32_t ix = ix0 + j;
        int16_t *column[TM_SWEEP_GROUP];
        for (int32_t k = 0; k < n; ++k) {
            column[k] = planes + (k * in_cols + j) * rows;
        }
        if (ix < 0 || ix >= g->in_w) {
            for (int32_t k = 0; k < n; ++k) {
                memset(column[k], 0, (size_t)rows * sizeof(int16_t));
            }
            continue;
        }
        for (int32_t k = 0; k < n; ++k) {
            memset(column[k], 0, (size_t)r_lo * sizeof(int16_t));
            memset(column[k] + r_hi, 0, (size_t)(rows - r_hi) * sizeof(int16_t));
        }
        const int8_t *x = image + (r_lo - g->pad_top) * g->in_pitch + ix * g->in_c + c0;
        if (n == TM_SWEEP_GROUP) {
            int16_t *p0 = column[0], *p1 = column[1], *p2 = column[2], *p3 = column[3];
            for (int32_t r = r_lo; r < r_hi; ++r) {
                const uint32_t v = tm_load_u32(x);
                const uint32_t even = tm_sxtab16(offset2, v), odd = tm_sxtab16_ror8(offset2, v);
                p0[r] = (int16_t)(even & 0xFFFFu);
                p2[r] = (int16_t)(even >> 16);
                p1[r] = (int16_t)(odd & 0xFFFFu);
                p3[r] = (int16_t)(odd >> 16);
                x += g->in_pitch;
            }
        } else {
            for (int32_t r = r_lo; r < r_hi; ++r) {
                for (int32_t k = 0; k < n; ++k) {
                    column[k][r] = (int16_t)(x[k] + input_offset);
                }
                x += g->in_pitch;
            }
        }
    }
}

/* Weight (fy, fx) of channel c: weights are [1, 3, 3, channels]. */
static inline int32_t tm_sweep_weight(const int8_t *weights, int32_t channels, int32_t fy,
                                      int32_t fx, int32_t c)
{
    return weights[(fy * 3 + fx) * channels + c];
}

static inline uint32_t tm_sweep_pair(int32_t lo, int32_t hi)
{
    return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
}

/* A channel's weights: per kernel column fx, (row 0, row 1) as one pair and row 2 in both
 * lanes. */
typedef struct {
    uint32_t w01_0, w01_1, w01_2, w2_0, w2_1, w2_2;
} tm_sweep_weights;

/* One output whose window's top row is r, in columns c0..c2. */
static inline int32_t tm_sweep_one(const int16_t *c0, const int16_t *c1, const int16_t *c2,
                                   int32_t r, const tm_sweep_weights *w, int32_t acc)
{
    acc = tm_smlad(w->w01_0, tm_sweep_word(c0 + r), acc);
    acc = tm_smlatb(w->w2_0, (uint32_t)(uint16_t)c0[r + 2], acc);
    acc = tm_smlad(w->w01_1, tm_sweep_word(c1 + r), acc);
    acc = tm_smlatb(w->w2_1, (uint32_t)(uint16_t)c1[r + 2], acc);
    acc = tm_smlad(w->w01_2, tm_sweep_word(c2 + r), acc);
    acc = tm_smlatb(w->w2_2, (uint32_t)(uint16_t)c2[r + 2], acc);
    return acc;
}

static inline int8_t tm_sweep_out(const tm_gemm_output *o, int common, int32_t acc, int32_t c,
                                  int32_t m, int32_t half, int32_t right)
{
    if (common) {
        return (int8_t)tm_ssat(tm_gemm_right(acc, m, half, right) + o->output_offset, 8);
    }
    return tm_store1(o, c, acc);
}

/* Rows r (the pair's top, stride 1) of one kernel column: outputs r and r + 1. */
#define TM_SWEEP_S1(col, w01, w2)                                                            \
    do {                                                                                     \
        const uint32_t x01 = tm_sweep_word(col), x23 = tm_sweep_word((col) + 2);             \
        a0 = tm_smlad(w01, x01, a0);                                                         \
        a0 = tm_smlatb(w2, x23, a0);                                                         \
        a1 = tm_smladx(w01, tm_pkhbt_join(x23, x01), a1);                                    \
        a1 = tm_smlabt(w2, x23, a1);                                                         \
    } while (0)

/* Stride 2: outputs from rows r..r+2 and r+2..r+4. */
#define TM_SWEEP_S2(col, w01, w2)                                                            \
    do {                                                                                     \
        const uint32_t x01 = tm_sweep_word(col), x23 = tm_sweep_word((col) + 2);             \
        const uint32_t x45 = tm_sweep_word((col) + 4);                                       \
        a0 = tm_smlad(w01, x01, a0);                                                         \
        a0 = tm_smlatb(w2, x23, a0);                                                         \
        a1 = tm_smlad(w01, x23, a1);                                                         \
        a1 = tm_smlatb(w2, x45, a1);                                                         \
    } while (0)

/* Channel c's outputs of the band's columns, from its plane; `common` is o->common, a
 * constant where this is inlined, so each case is its own loop. */
static inline __attribute__((always_inline)) void tm_sweep_channel_in(
    const int16_t *plane, const tm_conv_geometry *g, int32_t rows, int32_t band,
    const tm_sweep_weights *w, const tm_gemm_output *o, int common, int32_t c, int8_t *y)
{
    const int32_t bias = o->offset_terms[c], m = o->multiplier[c];
    const int32_t right = common ? -o->shift[c] : 1, half = 1 << (right - 1);
    const uint32_t w01_0 = w->w01_0, w01_1 = w->w01_1, w01_2 = w->w01_2;
    const uint32_t w2_0 = w->w2_0, w2_1 = w->w2_1, w2_2 = w->w2_2;
    const int32_t pairs = g->out_h / 2, step = 2 * g->stride_h, pitch = g->out_pitch;
    for (int32_t ox = 0; ox < band; ++ox) {
        const int16_t *c0 = plane + ox * g->stride_w * rows, *c1 = c0 + rows, *c2 = c1 + rows;
        int8_t *out = y + ox * g->out_c;
        const int16_t *p0 = c0, *p1 = c1, *p2 = c2;
        for (int32_t i = 0; i < pairs; ++i) {
            int32_t a0 = bias, a1 = bias;
            if (g->stride_h == 1) {
                TM_SWEEP_S1(p0, w01_0, w2_0);
                TM_SWEEP_S1(p1, w01_1, w2_1);
                TM_SWEEP_S1(p2, w01_2, w2_2);
            } else {
                TM_SWEEP_S2(p0, w01_0, w2_0);
                TM_SWEEP_S2(p1, w01_1, w2_1);
                TM_SWEEP_S2(p2, w01_2, w2_2);
            }
            out[0] = tm_sweep_out(o, common, a0, c, m, half, right);
            out[pitch] = tm_sweep_out(o, common, a1, c, m, half, right);
            out += 2 * pitch;
            p0 += step;
            p1 += step;
            p2 += step;
        }
        if (g->out_h & 1) {
            const int32_t acc = tm_sweep_one(c0, c1, c2, (g->out_h - 1) * g->stride_h, w, bias);
            out[0] = tm_sweep_out(o, common, acc, c, m, half, right);
        }
    }
}

static void tm_sweep_channel(const int16_t *plane, const tm_conv_geometry *g, int32_t rows,
                             int32_t band, const tm_sweep_weights *w, const tm_gemm_output *o,
                             int32_t c, int8_t *y)
{
    if (o->common) {
        tm_sweep_channel_in(plane, g, rows, band, w, o, 1, c, y);
    } else {
        tm_sweep_channel_in(plane, g, rows, band, w, o, 0, c, y);
    }
}

int tm_depthwise_conv2d_3x3_sweep_dsp_s8(const tm_depthwise_conv2d_s8_params *p,
                                         const int8_t *input, const int8_t *weights,
                                         const int32_t *bias_terms, const int32_t *multiplier,
                                         const int32_t *shift, int8_t *output, void *scratch)
{
    const tm_conv_geometry *g = &p->geometry;
    const tm_gemm_output o = tm_gemm_output_of(bias_terms, multiplier, shift, g->out_c,
                                               p->output_offset, p->act_min, p->act_max);
    int16_t *planes = (int16_t *)scratch;
    const int32_t rows = tm_sweep_rows(g);
    const int32_t band = tm_sweep_band(g);
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *image = input + b * g->in_h * g->in_pitch;
        int8_t *y_image = output + b * g->out_h * g->out_pitch;
        for (int32_t ox0 = 0; ox0 < g->out_w; ox0 += band) {
            const int32_t cols = TM_MIN(band, g->out_w - ox0);
            const int32_t in_cols = (cols - 1) * g->stride_w + 3;
            for (int32_t c0 = 0; c0 < g->in_c; c0 += TM_SWEEP_GROUP) {
                const int32_t n = TM_MIN(TM_SWEEP_GROUP, g->in_c - c0);
                tm_sweep_planes(planes, image, g, c0, n, ox0 * g->stride_w - g->pad_left,
                                in_cols, rows, p->input_offset);
                for (int32_t k = 0; k < n; ++k) {
                    const int32_t c = c0 + k;
                    const int32_t ch = g->out_c;
                    const int32_t w20 = tm_sweep_weight(weights, ch, 2, 0, c);
                    const int32_t w21 = tm_sweep_weight(weights, ch, 2, 1, c);
                    const int32_t w22 = tm_sweep_weight(weights, ch, 2, 2, c);
                    const tm_sweep_weights w = {
                        tm_sweep_pair(tm_sweep_weight(weights, ch, 0, 0, c),
                                      tm_sweep_weight(weights, ch, 1, 0, c)),
                        tm_sweep_pair(tm_sweep_weight(weights, ch, 0, 1, c),
                                      tm_sweep_weight(weights, ch, 1, 1, c)),
                        tm_sweep_pair(tm_sweep_weight(weights, ch, 0, 2, c),
                                      tm_sweep_weight(weights, ch, 1, 2, c)),
                        tm_sweep_pair(w20, w20), tm_sweep_pair(w21, w21), tm_sweep_pair(w22, w22)};
                    tm_sweep_channel(planes + k * in_cols * rows, g, rows, cols, &w, &o, c,
                                     y_image + ox0 * g->out_c + c);
                }
            }
        }
    }
    return TM_OK;
}
