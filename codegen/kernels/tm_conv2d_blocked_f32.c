#include "tm_fpu_f32.h"

/* One group, weights OHWI packed by 4 over (kernel row, column, channel) (tm_fpu_f32.h).
 * Each output sums in tm_conv2d_generic_f32's order (kernel row, column, channel) over the
 * window points inside the image, then the bias, then the clamp. Blocks of 4 output channels
 * x 4 pixels of a row whose windows cover the same kernel columns; the other pixels one by
 * one. */
int tm_conv2d_blocked_f32(const tm_conv2d_f32_params *p, const float *input,
                          const float *packed_weights, const float *bias, float *output)
{
    const tm_conv_geometry *g = &p->geometry;
    const int32_t depth = g->kernel_h * g->kernel_w * g->in_c;  /* weights per output channel */
    const int32_t full = g->out_c - g->out_c % TM_F32_BLOCK;
    const int32_t x_step = g->stride_w * g->in_c;               /* next pixel's window */
    const int32_t tap_step = g->dilation_w * g->in_c;           /* next kernel column's input */
    const int32_t row_step = g->dilation_h * g->in_pitch;     /* next kernel row's input */
    for (int32_t b = 0; b < g->batches; ++b) {
        const float *image = input + b * g->in_h * g->in_pitch;
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            const int32_t fy0 = tm_window_begin(iy0, g->dilation_h);
            const int32_t fy1 = tm_window_end(iy0, g->dilation_h, g->in_h, g->kernel_h);
            float *y_row = output + (b * g->out_h + oy) * g->out_pitch;
            for (int32_t ox = 0; ox < g->out_w;) {
                const int32_t ix0 = ox * g->stride_w - g->pad_left;
                const int32_t fx0 = tm_window_begin(ix0, g->dilation_w);
                const int32_t fx1 = tm_window_end(ix0, g->dilation_w, g->in_w, g->kernel_w);
                /* window bounds only shrink along a row: equal at both ends, equal between */
                const int32_t ix3 = ix0 + (TM_F32_BLOCK - 1) * g->stride_w;
                const int32_t pixels =
                    ox + TM_F32_BLOCK <= g->out_w &&
                            tm_window_begin(ix3, g->dilation_w) == fx0 &&
                            tm_window_end(ix3, g->dilation_w, g->in_w, g->kernel_w) == fx1
                        ? TM_F32_BLOCK
                        : 1;
                const tm_f32_window win = {fy1 - fy0, fx1 - fx0, g->in_c, x_step, row_step,
                                           tap_step, 0};
                const float *x =
                    image + (iy0 + fy0 * g->dilation_h) * g->in_pitch +
                    (ix0 + fx0 * g->dilation_w) * g->in_c;
                const int32_t first_tap = (fy0 * g->kernel_w + fx0) * g->in_c;
                float *y = y_row + ox * g->out_c;
                for (int32_t o = 0; o < g->out_c; o += o < full ? TM_F32_BLOCK : 1) {
                    float acc[16];
                    const float *w = packed_weights + o * depth;
                    if (o >= full) {
                        tm_f32_window row = win;
                        row.w_row_step = g->kernel_w * g->in_c;
                        tm_f32_window_row(acc, pixels, &row, x, w + first_tap);
                    } else {
                        tm_f32_window block = win;
                        block.w_row_step = g->kernel_w * g->in_c * TM_F32_BLOCK;
                        if (pixels == 1) {
                            tm_f32_window_1x4(acc, &block, x, w + first_tap * TM_F32_BLOCK);
                        } else {
                            tm_f32_window_4x4(acc, &block, x, w + first_tap * TM_F32_BLOCK);
                        }
                    }
                    tm_f32_store(acc, pixels, o < full ? TM_F32_BLOCK : 1, bias ? bias + o : NULL,
                                 p->act_min, p->act_max, y + o, g->out_c);
                }
                ox += pixels;
            }
        }
    }
    return TM_OK;
}
