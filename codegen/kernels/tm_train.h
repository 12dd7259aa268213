/* tinyml training kernels: the backward and update steps of `<name>_train_step`.
 *
 * Gradients are float, in real units (tinyml/train/grads.py is their numpy twin); forward
 * tensors are the int8 values the forward wrote, with their scale and zero point. Kernels
 * named *_grad add into their output, so a tensor read by several layers sums their
 * gradients (the caller zeroes it first). Trained tensors keep an integer copy, which the
 * forward reads, and a float master of their trained channels in the copy's units, viewed
 * as [outer][channels][inner] around the channel axis: the update moves the master by
 * -lr * factor[channel] * gradient and rounds it into the copy (tinyml/train/reference.py). */
#ifndef TM_TRAIN_H
#define TM_TRAIN_H

#include <stdint.h>

#include "tm_nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A windowed layer (convolution, depthwise, fully connected as 1x1, pooling), NHWC. */
typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w;
    int32_t pad_top, pad_left, depth_multiplier;
} tm_train_window;

/* Where a trained tensor's channels lie: [outer][channels][inner], `trained` of `channels`
 * updated, their master [outer][trained][inner]. */
typedef struct {
    int32_t outer, channels, inner, trained;
} tm_train_span;

/* Cross-entropy of softmax(beta * logits) against `label`; grad = its gradient in the
 * logits' real units. Returns the loss. */
float tm_train_xent_s8(const int8_t *logits, int32_t n, float scale, int32_t zero_point,
                       float beta, int32_t label, float *grad);

/* grad[i] = 0 where y[i] is not strictly inside (lo, hi): saturated or clipped there. */
void tm_train_mask_s8(float *grad, const int8_t *y, int32_t n, int32_t lo, int32_t hi);

void tm_train_zero_f32(float *x, int32_t n);

/* dst += src */
void tm_train_add_f32(float *dst, const float *src, int32_t n);

/* dx += dy convolved back through the int8 weights [out_c][kh][kw][in_c] scaled per output
 * channel (a fully connected layer is the 1x1 case, one batch per row). */
void tm_train_conv2d_grad_s8(const tm_train_window *g, const float *dy, const int8_t *weights,
                             const float *w_scale, float *dx);

/* The weights' gradient of the trained output channels from dy and the int8 input, and their
 * update (weights [out_c][kh][kw][in_c]). */
void tm_train_conv2d_update_s8(const tm_train_window *g, const float *dy, const int8_t *x,
                               float x_scale, int32_t x_zero_point, const tm_train_span *span,
                               float lr, const float *factor, float *master, int8_t *weights);

/* As above for depthwise weights [1][kh][kw][in_c * depth_multiplier]. */
void tm_train_depthwise_grad_s8(const tm_train_window *g, const float *dy,
                                const int8_t *weights, const float *w_scale, float *dx);
void tm_train_depthwise_update_s8(const tm_train_window *g, const float *dy, const int8_t *x,
                                  float x_scale, int32_t x_zero_point,
                                  const tm_train_span *span, float lr, const float *factor,
                                  float *master, int8_t *weights);

/* The bias gradient (dy summed over `positions` rows of out_c) and its update. */
void tm_train_bias_update_s32(const float *dy, int32_t positions, const tm_train_span *span,
                              float lr, const float *factor, float *master, int32_t *bias);

/* dx += each output's gradient spread over the inputs of its window, divided by their count
 * (padding not counted): average pooling, and the mean over height and width. */
void tm_train_avgpool_grad_f32(const tm_train_window *g, const float *dy, float *dx);

/* The master of an integer tensor's trained channels: its values (int8, or int32 when
 * `wide`) as float. */
void tm_train_master(const void *ints, int32_t wide, const tm_train_span *span, float *master);

#ifdef __cplusplus
}
#endif
#endif
