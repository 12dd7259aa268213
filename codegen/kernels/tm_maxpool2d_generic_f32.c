#include <float.h>

#include "tm_nn.h"

int tm_maxpool2d_generic_f32(const tm_pool2d_f32_params *p, const float *input, float *output)
{
    const tm_pool2d_shape *s = &p->shape;
    for (int32_t b = 0; b < s->batches; ++b) {
        const float *image = input + b * s->in_h * s->in_w * s->channels;
        for (int32_t oy = 0; oy < s->out_h; ++oy) {
            const int32_t y0 = oy * s->stride_h - s->pad_top;
            const int32_t fy_begin = TM_MAX(0, -y0);
            const int32_t fy_end = TM_MIN(s->kernel_h, s->in_h - y0);
            for (int32_t ox = 0; ox < s->out_w; ++ox) {
                const int32_t x0 = ox * s->stride_w - s->pad_left;
                const int32_t fx_begin = TM_MAX(0, -x0);
                const int32_t fx_end = TM_MIN(s->kernel_w, s->in_w - x0);
                for (int32_t c = 0; c < s->channels; ++c) {
                    float largest = -FLT_MAX;
                    for (int32_t fy = fy_begin; fy < fy_end; ++fy) {
                        const float *row = image + (y0 + fy) * s->in_w * s->channels + c;
                        for (int32_t fx = fx_begin; fx < fx_end; ++fx) {
                            largest = TM_MAX(largest, row[(x0 + fx) * s->channels]);
                        }
                    }
                    *output++ = tm_clamp_f32(largest, p->act_min, p->act_max);
                }
            }
        }
    }
    return TM_OK;
}
