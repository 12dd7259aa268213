#include "tm_nn.h"

/* Sums in TFLM's order (kernel row, column, channel), then the bias, then the clamp. */
int tm_conv2d_generic_f32(const tm_conv2d_f32_params *p, const float *input,
                          const float *weights, const float *bias, float *output)
{
    const int32_t group_in_c = p->in_c / p->groups;
    const int32_t group_out_c = p->out_c / p->groups;
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *image = input + b * p->in_h * p->in_w * p->in_c;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            const int32_t fy0 = tm_window_begin(iy0, p->dilation_h);
            const int32_t fy1 = tm_window_end(iy0, p->dilation_h, p->in_h, p->kernel_h);
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                const int32_t fx0 = tm_window_begin(ix0, p->dilation_w);
                const int32_t fx1 = tm_window_end(ix0, p->dilation_w, p->in_w, p->kernel_w);
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    const int32_t channel0 = (oc / group_out_c) * group_in_c;
                    float acc = 0.0f;
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        const int32_t iy = iy0 + fy * p->dilation_h;
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            const int32_t ix = ix0 + fx * p->dilation_w;
                            const float *x = image + (iy * p->in_w + ix) * p->in_c + channel0;
                            const float *w =
                                weights + ((oc * p->kernel_h + fy) * p->kernel_w + fx) * group_in_c;
                            for (int32_t c = 0; c < group_in_c; ++c) {
                                acc += x[c] * w[c];
                            }
                        }
                    }
                    if (bias) {
                        acc += bias[oc];
                    }
                    output[((b * p->out_h + oy) * p->out_w + ox) * p->out_c + oc] =
                        tm_clamp_f32(acc, p->act_min, p->act_max);
                }
            }
        }
    }
    return TM_OK;
}
