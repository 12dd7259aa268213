#include "tm_nn.h"

int tm_avgpool2d_generic_s8(const tm_pool2d_s8_params *p, const int8_t *input, int8_t *output)
{
    const tm_pool2d_shape *s = &p->shape;
    for (int32_t b = 0; b < s->batches; ++b) {
        const int8_t *image = input + b * s->in_h * s->in_w * s->channels;
        for (int32_t oy = 0; oy < s->out_h; ++oy) {
            const int32_t y0 = oy * s->stride_h - s->pad_top;
            const int32_t fy_begin = TM_MAX(0, -y0);
            const int32_t fy_end = TM_MIN(s->kernel_h, s->in_h - y0);
            for (int32_t ox = 0; ox < s->out_w; ++ox) {
                const int32_t x0 = ox * s->stride_w - s->pad_left;
                const int32_t fx_begin = TM_MAX(0, -x0);
                const int32_t fx_end = TM_MIN(s->kernel_w, s->in_w - x0);
                const int32_t count = (fy_end - fy_begin) * (fx_end - fx_begin);
                for (int32_t c = 0; c < s->channels; ++c) {
                    int32_t sum = 0;
                    for (int32_t fy = fy_begin; fy < fy_end; ++fy) {
                        const int8_t *row = image + (y0 + fy) * s->in_w * s->channels + c;
                        for (int32_t fx = fx_begin; fx < fx_end; ++fx) {
                            sum += row[(x0 + fx) * s->channels];
                        }
                    }
                    /* TFLM rounds half away from zero (C division truncates) */
                    const int32_t mean = sum > 0 ? (sum + count / 2) / count
                                                 : (sum - count / 2) / count;
                    *output++ = tm_clamp_s8(mean, p->act_min, p->act_max);
                }
            }
        }
    }
    return TM_OK;
}
