#include "tm_depthwise_dsp.h"

/* Depthwise, any kernel, stride, dilation and depth multiplier, on int16 planes
 * (tm_depthwise_dsp.h). With dilation_w 1 a kernel row's taps are adjacent plane columns: one
 * SMLAD per two taps, the row's weights packed in pairs into the kernel's scratch (an odd last
 * tap pairs with 0; its plane word always exists). Otherwise one multiply per tap. */

/* Weight words per kernel row. */
static inline int32_t tm_dw_pairs(const tm_conv_geometry *g)
{
    return (g->kernel_w + 1) / 2;
}

static inline int32_t tm_dw_sample(const uint32_t *row, int32_t col)
{
    const uint32_t word = row[col >> 1];
    const uint32_t half = col & 1 ? word >> 16 : word & 0xFFFFu;
    return half < 0x8000u ? (int32_t)half : (int32_t)half - 0x10000;
}

static void tm_dw_band_pairs(const tm_dw_band *b, const uint32_t *plane, int32_t *acc)
{
    const tm_conv_geometry *g = b->g;
    const int32_t pairs = tm_dw_pairs(g);
    uint32_t *w = (uint32_t *)b->extra;
    for (int32_t fy = 0; fy < g->kernel_h; ++fy) {
        for (int32_t i = 0; i < pairs; ++i) {
            const int32_t tap = fy * g->kernel_w + 2 * i;
            const int32_t hi = 2 * i + 1 < g->kernel_w ? tm_dw_weight(b, tap + 1) : 0;
            w[fy * pairs + i] = tm_lanes16(tm_dw_weight(b, tap), hi);
        }
    }
    const unsigned char *bytes = (const unsigned char *)plane;
    const int32_t row_bytes = 4 * b->words;
    for (int32_t oy = 0; oy < b->rows; ++oy) {
        for (int32_t ox = 0; ox < g->out_w; ++ox) {
            const unsigned char *row = bytes + oy * g->stride_h * row_bytes + 2 * ox * g->stride_w;
            const uint32_t *wp = w;
            int32_t s = 0;
            for (int32_t fy = 0; fy < g->kernel_h; ++fy, row += g->dilation_h * row_bytes) {
                for (int32_t i = 0; i < pairs; ++i) {
                    s = tm_smlad(tm_dw_load32(row + 4 * i), *wp++, s);
                }
            }
            *acc++ = s;
        }
    }
}

static void tm_dw_band_taps(const tm_dw_band *b, const uint32_t *plane, int32_t *acc)
{
    const tm_conv_geometry *g = b->g;
    for (int32_t oy = 0; oy < b->rows; ++oy) {
        for (int32_t ox = 0; ox < g->out_w; ++ox) {
            int32_t s = 0;
            for (int32_t fy = 0; fy < g->kernel_h; ++fy) {
                const uint32_t *row = plane + (oy * g->stride_h + fy * g->dilation_h) * b->words;
                for (int32_t fx = 0; fx < g->kernel_w; ++fx) {
                    s += tm_dw_sample(row, ox * g->stride_w + fx * g->dilation_w) *
                         tm_dw_weight(b, fy * g->kernel_w + fx);
                }
            }
            *acc++ = s;
        }
    }
}

int32_t tm_depthwise_conv2d_dsp_s8_get_buffer_size(const tm_depthwise_conv2d_dsp_s8_params *p)
{
    const tm_conv_geometry *g = &p->geometry;
    return tm_dw_buffer_size(p, g->dilation_w == 1 ? 4 * g->kernel_h * tm_dw_pairs(g) : 0);
}

int tm_depthwise_conv2d_dsp_s8(const tm_depthwise_conv2d_dsp_s8_params *p, const int8_t *input,
                               const int8_t *weights, const int32_t *bias,
                               const int32_t *multiplier, const int32_t *shift, int8_t *output,
                               void *scratch)
{
    tm_dw_run(p, input, weights, NULL, bias, multiplier, shift, output, scratch,
              p->geometry.dilation_w == 1 ? tm_dw_band_pairs : tm_dw_band_taps);
    return TM_OK;
}
