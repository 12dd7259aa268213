#include <string.h>

#include "tm_dsp.h"
#include "tm_nn.h"

/* TFLM's mean: rounded half away from zero (C division truncates). */
static inline int8_t mean(int32_t sum, int32_t count, int32_t lo, int32_t hi)
{
    const int32_t m = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
    return tm_clamp_s8(m, lo, hi);
}

/* Average pool four channels per word: SXTAB16 adds bytes 0 and 2 of each cell into one
 * pair of 16-bit lanes, bytes 1 and 3 into another. A lane holds at most 256 cells of
 * [-128, 127] (the variant's condition on the window), so it never wraps. Rows by pitch;
 * words may be unaligned (memcpy). */
int tm_avgpool2d_dsp_s8(const tm_pool2d_s8_params *p, const int8_t *input, int8_t *output)
{
    const tm_pool2d_shape *s = &p->shape;
    const int32_t channels = s->channels;
    const int32_t row_step = s->dilation_h * s->in_pitch;
    const int32_t cell_step = s->dilation_w * channels;
    for (int32_t b = 0; b < s->batches; ++b) {
        const int8_t *image = input + b * s->in_h * s->in_pitch;
        int8_t *out_image = output + b * s->out_h * s->out_pitch;
        for (int32_t oy = 0; oy < s->out_h; ++oy) {
            const int32_t y0 = oy * s->stride_h - s->pad_top;
            const int32_t fy_begin = tm_window_begin(y0, s->dilation_h);
            const int32_t rows = tm_window_end(y0, s->dilation_h, s->in_h, s->kernel_h) - fy_begin;
            for (int32_t ox = 0; ox < s->out_w; ++ox) {
                int8_t *out = out_image + oy * s->out_pitch + ox * channels;
                const int32_t x0 = ox * s->stride_w - s->pad_left;
                const int32_t fx_begin = tm_window_begin(x0, s->dilation_w);
                const int32_t cells = tm_window_end(x0, s->dilation_w, s->in_w, s->kernel_w) -
                                      fx_begin;
                const int32_t count = rows * cells;
                const int8_t *corner = image + (y0 + fy_begin * s->dilation_h) * s->in_pitch +
                                       (x0 + fx_begin * s->dilation_w) * channels;
                int32_t c = 0;
                for (; c + 4 <= channels; c += 4) {
                    uint32_t even = 0, odd = 0;   /* lanes: channels c, c+2 and c+1, c+3 */
                    const int8_t *row = corner + c;
                    for (int32_t r = 0; r < rows; ++r, row += row_step) {
                        const int8_t *cell = row;
                        for (int32_t k = 0; k < cells; ++k, cell += cell_step) {
                            uint32_t w;
                            memcpy(&w, cell, sizeof w);
                            even = tm_sxtab16(even, w);
                            odd = tm_sxtab16_ror8(odd, w);
                        }
                    }
                    out[c] = mean(tm_dsp_lane16(even, 0), count, p->act_min, p->act_max);
                    out[c + 1] = mean(tm_dsp_lane16(odd, 0), count, p->act_min, p->act_max);
                    out[c + 2] = mean(tm_dsp_lane16(even, 1), count, p->act_min, p->act_max);
                    out[c + 3] = mean(tm_dsp_lane16(odd, 1), count, p->act_min, p->act_max);
                }
                for (; c < channels; ++c) {
                    int32_t sum = 0;
                    const int8_t *row = corner + c;
                    for (int32_t r = 0; r < rows; ++r, row += row_step) {
                        for (int32_t k = 0; k < cells; ++k) {
                            sum += row[k * cell_step];
                        }
                    }
                    out[c] = mean(sum, count, p->act_min, p->act_max);
                }
            }
        }
    }
    return TM_OK;
}
