#include "tm_nn.h"

/* Every pixel is one row of a GEMM with the [out_c, in_c] weights. The input offset enters
 * with the bias through offset_terms once per output, so the inner loop is a plain int8 dot
 * product. */
int tm_conv2d_1x1_s8(const tm_conv2d_s8_params *p, const int8_t *input, const int8_t *weights,
                     const int32_t *offset_terms,
                     const int32_t *multiplier, const int32_t *shift, int8_t *output)
{
    const tm_conv_geometry *g = &p->geometry;
    for (int32_t row = 0; row < g->batches * g->out_h; ++row) {
        for (int32_t col = 0; col < g->out_w; ++col) {
            const int8_t *x = input + row * g->in_pitch + col * g->in_c;
            int8_t *y = output + row * g->out_pitch + col * g->out_c;
            for (int32_t oc = 0; oc < g->out_c; ++oc) {
                const int8_t *w = weights + oc * g->in_c;
                int32_t acc = offset_terms[oc];
                for (int32_t c = 0; c < g->in_c; ++c) {
                    acc += x[c] * w[c];
                }
                acc = tm_requantize(acc, multiplier[oc], shift[oc]) + p->output_offset;
                y[oc] = tm_clamp_s8(acc, p->act_min, p->act_max);
            }
        }
    }
    return TM_OK;
}
