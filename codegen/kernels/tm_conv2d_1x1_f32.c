#include "tm_fpu_f32.h"

/* 1x1 kernel, stride 1, no padding, one group: a GEMM over the pixels, weights packed by 4
 * (tm_fpu_f32.h); each output sums its channels in order, then the bias, then the clamp. */
int tm_conv2d_1x1_f32(const tm_conv2d_f32_params *p, const float *input,
                      const float *packed_weights, const float *bias, float *output)
{
    const tm_conv_geometry *g = &p->geometry;
    if (g->in_pitch == g->in_w * g->in_c && g->out_pitch == g->out_w * g->out_c) {
        tm_f32_gemm(g->batches * g->out_h * g->out_w, g->in_c, g->out_c, input, packed_weights,
                    bias, p->act_min, p->act_max, output);
        return TM_OK;
    }
    /* a region of a larger tensor: row by row, by pitch */
    for (int32_t row = 0; row < g->batches * g->out_h; ++row) {
        tm_f32_gemm(g->out_w, g->in_c, g->out_c, input + row * g->in_pitch, packed_weights, bias,
                    p->act_min, p->act_max, output + row * g->out_pitch);
    }
    return TM_OK;
}
