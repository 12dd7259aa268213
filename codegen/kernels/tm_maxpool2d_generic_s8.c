#include "tm_nn.h"

/* Channels four at a time (one pass over the window compares four), then one by one. */
int tm_maxpool2d_generic_s8(const tm_pool2d_s8_params *p, const int8_t *input, int8_t *output)
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
                const int8_t *corner = image + (y0 + fy_begin * s->dilation_h) * s->in_pitch +
                                       (x0 + fx_begin * s->dilation_w) * channels;
                int32_t c = 0;
                for (; c + 4 <= channels; c += 4) {
                    int32_t m0 = INT8_MIN, m1 = INT8_MIN, m2 = INT8_MIN, m3 = INT8_MIN;
                    const int8_t *row = corner + c;
                    for (int32_t r = 0; r < rows; ++r, row += row_step) {
                        const int8_t *cell = row;
                        for (int32_t k = 0; k < cells; ++k, cell += cell_step) {
                            m0 = TM_MAX(m0, cell[0]);
                            m1 = TM_MAX(m1, cell[1]);
                            m2 = TM_MAX(m2, cell[2]);
                            m3 = TM_MAX(m3, cell[3]);
                        }
                    }
                    out[c] = tm_clamp_s8(m0, p->act_min, p->act_max);
                    out[c + 1] = tm_clamp_s8(m1, p->act_min, p->act_max);
                    out[c + 2] = tm_clamp_s8(m2, p->act_min, p->act_max);
                    out[c + 3] = tm_clamp_s8(m3, p->act_min, p->act_max);
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
