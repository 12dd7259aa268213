#include <float.h>

#include "tm_nn.h"

int tm_maxpool2d_generic_f32(const tm_pool2d_f32_params *p, const float *input, float *output)
{
    const tm_pool2d_shape *s = &p->shape;
    for (int32_t b = 0; b < s->batches; ++b) {
        const float *image = input + b * s->in_h * s->in_pitch;
        float *out_image = output + b * s->out_h * s->out_pitch;
        for (int32_t oy = 0; oy < s->out_h; ++oy) {
            const int32_t y0 = oy * s->stride_h - s->pad_top;
            const int32_t fy_begin = tm_window_begin(y0, s->dilation_h);
            const int32_t fy_end = tm_window_end(y0, s->dilation_h, s->in_h, s->kernel_h);
            for (int32_t ox = 0; ox < s->out_w; ++ox) {
                float *out = out_image + oy * s->out_pitch + ox * s->channels;
                const int32_t x0 = ox * s->stride_w - s->pad_left;
                const int32_t fx_begin = tm_window_begin(x0, s->dilation_w);
                const int32_t fx_end = tm_window_end(x0, s->dilation_w, s->in_w, s->kernel_w);
                for (int32_t c = 0; c < s->channels; ++c) {
                    float largest = -FLT_MAX;
                    for (int32_t fy = fy_begin; fy < fy_end; ++fy) {
                        const int32_t iy = y0 + fy * s->dilation_h;
                        const float *row = image + iy * s->in_pitch + c;
                        for (int32_t fx = fx_begin; fx < fx_end; ++fx) {
                            largest = TM_MAX(largest, row[(x0 + fx * s->dilation_w) * s->channels]);
                        }
                    }
                    out[c] = tm_clamp_f32(largest, p->act_min, p->act_max);
                }
            }
        }
    }
    return TM_OK;
}
