#include <string.h>

#include "tm_dsp_bytes.h"
#include "tm_nn.h"

/* Max pool four channels per word: SSUB8 + SEL keep the larger byte of each lane, the clamp
 * is two more. Rows by pitch; words may be unaligned (memcpy). */
int tm_maxpool2d_dsp_s8(const tm_pool2d_s8_params *p, const int8_t *input, int8_t *output)
{
    const tm_pool2d_shape *s = &p->shape;
    const int32_t channels = s->channels;
    const int32_t row_step = s->dilation_h * s->in_pitch;
    const int32_t cell_step = s->dilation_w * channels;
    const uint32_t lo = tm_splat8(p->act_min);
    const uint32_t hi = tm_splat8(p->act_max);
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
                const int8_t *corner = image + (y0 + fy_begin * s->dilation_h) * s->in_pitch +
                                       (x0 + fx_begin * s->dilation_w) * channels;
                int32_t c = 0;
                for (; c + 4 <= channels; c += 4) {
                    uint32_t largest = tm_splat8(INT8_MIN);
                    const int8_t *row = corner + c;
                    for (int32_t r = 0; r < rows; ++r, row += row_step) {
                        const int8_t *cell = row;
                        for (int32_t k = 0; k < cells; ++k, cell += cell_step) {
                            uint32_t w;
                            memcpy(&w, cell, sizeof w);
                            largest = tm_smax8(largest, w);
                        }
                    }
                    /* as tm_clamp_s8: hi wins when lo > hi */
                    largest = tm_smin8(tm_smax8(largest, lo), hi);
                    memcpy(out + c, &largest, sizeof largest);
                }
                for (; c < channels; ++c) {
                    int32_t largest = INT8_MIN;
                    const int8_t *row = corner + c;
                    for (int32_t r = 0; r < rows; ++r, row += row_step) {
                        for (int32_t k = 0; k < cells; ++k) {
                            largest = TM_MAX(largest, row[k * cell_step]);
                        }
                    }
                    out[c] = tm_clamp_s8(largest, p->act_min, p->act_max);
                }
            }
        }
    }
    return TM_OK;
}
