#include "tm_nn.h"

/* Sums in TFLM's order (kernel row, column), then the bias, then the clamp. */
int tm_depthwise_conv2d_generic_f32(const tm_depthwise_conv2d_f32_params *p, const float *input,
                                    const float *weights, const float *bias, float *output)
{
    const tm_conv_geometry *g = &p->geometry;
    for (int32_t b = 0; b < g->batches; ++b) {
        const float *image = input + b * g->in_h * g->in_pitch;
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            const int32_t fy0 = tm_window_begin(iy0, g->dilation_h);
            const int32_t fy1 = tm_window_end(iy0, g->dilation_h, g->in_h, g->kernel_h);
            for (int32_t ox = 0; ox < g->out_w; ++ox) {
                const int32_t ix0 = ox * g->stride_w - g->pad_left;
                const int32_t fx0 = tm_window_begin(ix0, g->dilation_w);
                const int32_t fx1 = tm_window_end(ix0, g->dilation_w, g->in_w, g->kernel_w);
                float *y = output + (b * g->out_h + oy) * g->out_pitch + ox * g->out_c;
                for (int32_t oc = 0; oc < g->out_c; ++oc) {
                    const int32_t ic = oc / p->depth_multiplier;
                    float acc = 0.0f;
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        const int32_t iy = iy0 + fy * g->dilation_h;
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            const int32_t ix = ix0 + fx * g->dilation_w;
                            acc += image[iy * g->in_pitch + ix * g->in_c + ic] *
                                   weights[(fy * g->kernel_w + fx) * g->out_c + oc];
                        }
                    }
                    if (bias) {
                        acc += bias[oc];
                    }
                    y[oc] = tm_clamp_f32(acc, p->act_min, p->act_max);
                }
            }
        }
    }
    return TM_OK;
}
