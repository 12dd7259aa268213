#include "tm_ternary.h"

/* tm_conv2d_generic_s8 on ternary weights: OHWI signs packed in order. */
int tm_conv2d_generic_s8t2(const tm_conv2d_s8_params *p, const int8_t *input,
                           const uint8_t *weights, const int32_t *gain, const int32_t *bias,
                           const int32_t *multiplier, const int32_t *shift, int8_t *output)
{
    const tm_conv_geometry *g = &p->geometry;
    const int32_t group_in_c = g->in_c / p->groups;
    const int32_t group_out_c = g->out_c / p->groups;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *image = input + b * g->in_h * g->in_pitch;
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            const int32_t fy0 = tm_window_begin(iy0, g->dilation_h);
            const int32_t fy1 = tm_window_end(iy0, g->dilation_h, g->in_h, g->kernel_h);
            for (int32_t ox = 0; ox < g->out_w; ++ox) {
                const int32_t ix0 = ox * g->stride_w - g->pad_left;
                const int32_t fx0 = tm_window_begin(ix0, g->dilation_w);
                const int32_t fx1 = tm_window_end(ix0, g->dilation_w, g->in_w, g->kernel_w);
                for (int32_t oc = 0; oc < g->out_c; ++oc) {
                    const int32_t channel0 = (oc / group_out_c) * group_in_c;
                    int32_t sum = 0;
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        const int32_t iy = iy0 + fy * g->dilation_h;
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            const int32_t ix = ix0 + fx * g->dilation_w;
                            const int8_t *x = image + iy * g->in_pitch + ix * g->in_c + channel0;
                            const int32_t w0 = ((oc * g->kernel_h + fy) * g->kernel_w + fx) * group_in_c;
                            for (int32_t c = 0; c < group_in_c; ++c) {
                                sum += tm_trit_term(x[c] + p->input_offset,
                                                    tm_trit_code(weights, w0 + c));
                            }
                        }
                    }
                    const int32_t acc = tm_trit_finish(sum, gain, bias, oc);
                    output[(b * g->out_h + oy) * g->out_pitch + ox * g->out_c + oc] = tm_clamp_s8(
                        tm_requantize(acc, multiplier[oc], shift[oc]) + p->output_offset,
                        p->act_min, p->act_max);
                }
            }
        }
    }
    return TM_OK;
}
