/* tinyml kernel library: types, parameter structs, prototypes and the integer helpers
 * every int8 kernel shares. The helpers mirror tinyml/numerics.py operation for operation. */
#ifndef TM_NN_H
#define TM_NN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TM_OK 0
#define TM_ERR_ARGUMENT 1

#define TM_DTYPE_FLOAT32 0
#define TM_DTYPE_INT8 1
#define TM_DTYPE_UINT8 2
#define TM_DTYPE_INT16 3
#define TM_DTYPE_INT32 4

#define TM_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TM_MAX(a, b) ((a) > (b) ? (a) : (b))

/* gemmlowp's SaturatingRoundingDoublingHighMul. */
static inline int32_t tm_srdhm(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? (1LL << 30) : (1 - (1LL << 30));
    return (int32_t)((ab + nudge) / (1LL << 31));
}

/* Division by 2^exponent rounding half away from zero. */
static inline int32_t tm_rdbpot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)((1LL << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite's MultiplyByQuantizedMultiplier: x * multiplier * 2^(shift - 31), rounded twice. */
static inline int32_t tm_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    return tm_rdbpot(tm_srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}

/* min(max(x, lo), hi), as ONNX Clip: hi wins when lo > hi */
static inline int8_t tm_clamp_s8(int32_t x, int32_t lo, int32_t hi)
{
    x = x < lo ? lo : x;
    return (int8_t)(x > hi ? hi : x);
}

static inline float tm_clamp_f32(float x, float lo, float hi)
{
    x = x < lo ? lo : x;
    return x > hi ? hi : x;
}

/* ---- fully connected ---- */
typedef struct {
    int32_t batches, in_features, out_features;
    int32_t input_offset, output_offset, act_min, act_max;
} tm_fully_connected_s8_params;

typedef struct {
    int32_t batches, in_features, out_features;
    float act_min, act_max;
} tm_fully_connected_f32_params;

int tm_fully_connected_generic_s8(const tm_fully_connected_s8_params *p, const int8_t *input,
                                  const int8_t *weights, const int32_t *bias,
                                  const int32_t *multiplier, const int32_t *shift,
                                  int8_t *output);
/* DSP (tm_gemm_s8.h): weights and offset_terms as tm_conv2d_1x1_dsp_s8's */
int32_t tm_fully_connected_dsp_s8_get_buffer_size(const tm_fully_connected_s8_params *p);
int tm_fully_connected_dsp_s8(const tm_fully_connected_s8_params *p, const int8_t *input,
                              const int8_t *weights, const int32_t *offset_terms,
                              const int32_t *multiplier, const int32_t *shift, int8_t *output,
                              void *scratch);
/* The same layout without scratch: inputs extended to int16 where they are read. */
int32_t tm_fully_connected_direct_dsp_s8_get_buffer_size(const tm_fully_connected_s8_params *p);
int tm_fully_connected_direct_dsp_s8(const tm_fully_connected_s8_params *p, const int8_t *input,
                                     const int8_t *weights, const int32_t *offset_terms,
                                     const int32_t *multiplier, const int32_t *shift,
                                     int8_t *output);
/* Ternary weights (tm_ternary.h): packed signs in the int8 kernel's order, gain NULL or q
 * per output channel. */
int tm_fully_connected_generic_s8t2(const tm_fully_connected_s8_params *p, const int8_t *input,
                                    const uint8_t *weights, const int32_t *gain,
                                    const int32_t *bias, const int32_t *multiplier,
                                    const int32_t *shift, int8_t *output);
/* DSP on ternary weights (tm_gemm_s8t2.h): codes and offset_terms by
 * tinyml/kernels/gemm_s8t2.py; gain and bias NULL unless some channel's weights are +-q,
 * q != 1. */
int32_t tm_fully_connected_dsp_s8t2_get_buffer_size(const tm_fully_connected_s8_params *p);
int tm_fully_connected_dsp_s8t2(const tm_fully_connected_s8_params *p, const int8_t *input,
                                const uint8_t *codes, const int32_t *offset_terms,
                                const int32_t *gain, const int32_t *bias,
                                const int32_t *multiplier, const int32_t *shift, int8_t *output,
                                void *scratch);
/* By table lookup (T-MAC): codes are table indexes, tinyml/kernels/
 * fully_connected_lut_dsp_s8t2.py; offset_terms the bias (or 0 with a gain). */
int32_t tm_fully_connected_lut_dsp_s8t2_get_buffer_size(const tm_fully_connected_s8_params *p);
int tm_fully_connected_lut_dsp_s8t2(const tm_fully_connected_s8_params *p, const int8_t *input,
                                    const uint8_t *codes, const int32_t *offset_terms,
                                    const int32_t *gain, const int32_t *bias,
                                    const int32_t *multiplier, const int32_t *shift,
                                    int8_t *output, void *scratch);
int tm_fully_connected_generic_f32(const tm_fully_connected_f32_params *p, const float *input,
                                   const float *weights, const float *bias, float *output);

/* ---- conv2d and depthwise conv2d ---- */
/* First kernel tap f with origin + f * dilation >= 0 (window points before the image are
 * skipped, as in TFLM's reference kernels). */
static inline int32_t tm_window_begin(int32_t origin, int32_t dilation)
{
    return origin >= 0 ? 0 : (-origin + dilation - 1) / dilation;
}

/* One past the last kernel tap f < kernel with origin + f * dilation < size. */
static inline int32_t tm_window_end(int32_t origin, int32_t dilation, int32_t size,
                                    int32_t kernel)
{
    const int32_t room = size - origin;
    const int32_t end = room <= 0 ? 0 : (room + dilation - 1) / dilation;
    return TM_MIN(end, kernel);
}

/* The window geometry every conv-like kernel shares; pad_top/pad_left only: the
 * bottom/right padding is implied by out_h/out_w (windows are clipped at in_h/in_w).
 * in_pitch/out_pitch: elements from one row to the next (in_w * in_c and out_w * out_c for
 * a whole tensor), so a kernel can compute a rectangle of a larger output from a window of
 * a larger input: tinyml/kernels/regions.py derives such a geometry. */
typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    int32_t in_pitch, out_pitch;
} tm_conv_geometry;

/* Weights OHWI [out_c, kernel_h, kernel_w, in_c / groups]. */
typedef struct {
    tm_conv_geometry geometry;
    int32_t groups;
    int32_t input_offset, output_offset, act_min, act_max;
} tm_conv2d_s8_params;

typedef struct {
    tm_conv_geometry geometry;
    int32_t groups;
    float act_min, act_max;
} tm_conv2d_f32_params;

/* Weights [1, kernel_h, kernel_w, out_c]; output channel c * depth_multiplier + m reads
 * input channel c. */
typedef struct {
    tm_conv_geometry geometry;
    int32_t depth_multiplier;
    int32_t input_offset, output_offset, act_min, act_max;
} tm_depthwise_conv2d_s8_params;

typedef struct {
    tm_conv_geometry geometry;
    int32_t depth_multiplier;
    float act_min, act_max;
} tm_depthwise_conv2d_f32_params;

int tm_conv2d_generic_s8(const tm_conv2d_s8_params *p, const int8_t *input,
                         const int8_t *weights, const int32_t *bias, const int32_t *multiplier,
                         const int32_t *shift, int8_t *output);
/* 1x1 kernel, stride 1, no padding, one group. offset_terms[o] = input_offset *
 * sum(weights[o]), computed at compile time. */
int tm_conv2d_1x1_s8(const tm_conv2d_s8_params *p, const int8_t *input, const int8_t *weights,
                     const int32_t *offset_terms,
                     const int32_t *multiplier, const int32_t *shift, int8_t *output);
/* DSP (tm_gemm_s8.h): weights packed by tinyml/kernels/gemm_s8.py, offset_terms[o] = bias[o]
 * + input_offset * sum(weights[o]); scratch of tm_<kernel>_get_buffer_size bytes, 4-aligned. */
int32_t tm_conv2d_1x1_dsp_s8_get_buffer_size(const tm_conv2d_s8_params *p);
int tm_conv2d_1x1_dsp_s8(const tm_conv2d_s8_params *p, const int8_t *input,
                         const int8_t *weights, const int32_t *offset_terms,
                         const int32_t *multiplier, const int32_t *shift, int8_t *output,
                         void *scratch);
int32_t tm_conv2d_im2col_dsp_s8_get_buffer_size(const tm_conv2d_s8_params *p);
int tm_conv2d_im2col_dsp_s8(const tm_conv2d_s8_params *p, const int8_t *input,
                            const int8_t *weights, const int32_t *offset_terms,
                            const int32_t *multiplier, const int32_t *shift, int8_t *output,
                            void *scratch);
int tm_conv2d_generic_s8t2(const tm_conv2d_s8_params *p, const int8_t *input,
                           const uint8_t *weights, const int32_t *gain, const int32_t *bias,
                           const int32_t *multiplier, const int32_t *shift, int8_t *output);
int32_t tm_conv2d_1x1_dsp_s8t2_get_buffer_size(const tm_conv2d_s8_params *p);
int tm_conv2d_1x1_dsp_s8t2(const tm_conv2d_s8_params *p, const int8_t *input,
                           const uint8_t *codes, const int32_t *offset_terms, const int32_t *gain,
                           const int32_t *bias, const int32_t *multiplier, const int32_t *shift,
                           int8_t *output, void *scratch);
int32_t tm_conv2d_im2col_dsp_s8t2_get_buffer_size(const tm_conv2d_s8_params *p);
int tm_conv2d_im2col_dsp_s8t2(const tm_conv2d_s8_params *p, const int8_t *input,
                              const uint8_t *codes, const int32_t *offset_terms,
                              const int32_t *gain, const int32_t *bias,
                              const int32_t *multiplier, const int32_t *shift, int8_t *output,
                              void *scratch);
int tm_conv2d_generic_f32(const tm_conv2d_f32_params *p, const float *input,
                          const float *weights, const float *bias, float *output);
int tm_depthwise_conv2d_generic_s8(const tm_depthwise_conv2d_s8_params *p, const int8_t *input,
                                   const int8_t *weights, const int32_t *bias,
                                   const int32_t *multiplier, const int32_t *shift,
                                   int8_t *output);
/* DSP, 3x3 swept down columns: offset_terms, multiplier and shift as tm_gemm_s8.h's output
 * stage reads them (tinyml/kernels/gemm_s8.py gemm_output with no offset fold). */
int32_t tm_depthwise_conv2d_3x3_sweep_dsp_s8_get_buffer_size(
    const tm_depthwise_conv2d_s8_params *p);
int tm_depthwise_conv2d_3x3_sweep_dsp_s8(const tm_depthwise_conv2d_s8_params *p,
                                         const int8_t *input, const int8_t *weights,
                                         const int32_t *bias_terms, const int32_t *multiplier,
                                         const int32_t *shift, int8_t *output, void *scratch);
int tm_depthwise_conv2d_generic_s8t2(const tm_depthwise_conv2d_s8_params *p,
                                     const int8_t *input, const uint8_t *weights,
                                     const int32_t *gain, const int32_t *bias,
                                     const int32_t *multiplier, const int32_t *shift,
                                     int8_t *output);
int tm_depthwise_conv2d_generic_f32(const tm_depthwise_conv2d_f32_params *p, const float *input,
                                    const float *weights, const float *bias, float *output);
/* DSP depthwise (tm_depthwise_dsp.h): the portable fields and band_rows, the output rows
 * computed per pass over the input, chosen at compile time to keep the scratch small;
 * scratch of tm_<kernel>_get_buffer_size bytes, 4-aligned. */
typedef struct {
    tm_conv_geometry geometry;
    int32_t depth_multiplier;
    int32_t input_offset, output_offset, act_min, act_max;
    int32_t band_rows;
} tm_depthwise_conv2d_dsp_s8_params;

int32_t tm_depthwise_conv2d_3x3_dsp_s8_get_buffer_size(const tm_depthwise_conv2d_dsp_s8_params *p);
int tm_depthwise_conv2d_3x3_dsp_s8(const tm_depthwise_conv2d_dsp_s8_params *p,
                                   const int8_t *input, const int8_t *weights,
                                   const int32_t *bias, const int32_t *multiplier,
                                   const int32_t *shift, int8_t *output, void *scratch);
/* On ternary weights: signs packed channel by channel (9 per channel), gain NULL or q. */
int32_t tm_depthwise_conv2d_3x3_dsp_s8t2_get_buffer_size(
    const tm_depthwise_conv2d_dsp_s8_params *p);
int tm_depthwise_conv2d_3x3_dsp_s8t2(const tm_depthwise_conv2d_dsp_s8_params *p,
                                     const int8_t *input, const uint8_t *signs,
                                     const int32_t *gain, const int32_t *bias,
                                     const int32_t *multiplier, const int32_t *shift,
                                     int8_t *output, void *scratch);
int32_t tm_depthwise_conv2d_dsp_s8_get_buffer_size(const tm_depthwise_conv2d_dsp_s8_params *p);
int tm_depthwise_conv2d_dsp_s8(const tm_depthwise_conv2d_dsp_s8_params *p, const int8_t *input,
                               const int8_t *weights, const int32_t *bias,
                               const int32_t *multiplier, const int32_t *shift, int8_t *output,
                               void *scratch);
/* Portable fast int8 variants (tm_gemm_fast_s8.h), every core: weights re-laid out by
 * tinyml/kernels (channel pairs; depthwise [channel][9]), offset_terms[o] = bias[o] +
 * (input_offset - 128) * sum(weights[o]); scratch of tm_<kernel>_get_buffer_size bytes. */
int32_t tm_conv2d_1x1_fast_s8_get_buffer_size(const tm_conv2d_s8_params *p);
int tm_conv2d_1x1_fast_s8(const tm_conv2d_s8_params *p, const int8_t *input,
                          const int8_t *weights, const int32_t *offset_terms,
                          const int32_t *multiplier, const int32_t *shift, int8_t *output,
                          void *scratch);
int32_t tm_conv2d_im2col_fast_s8_get_buffer_size(const tm_conv2d_s8_params *p);
int tm_conv2d_im2col_fast_s8(const tm_conv2d_s8_params *p, const int8_t *input,
                             const int8_t *weights, const int32_t *offset_terms,
                             const int32_t *multiplier, const int32_t *shift, int8_t *output,
                             void *scratch);
int32_t tm_fully_connected_fast_s8_get_buffer_size(const tm_fully_connected_s8_params *p);
int tm_fully_connected_fast_s8(const tm_fully_connected_s8_params *p, const int8_t *input,
                               const int8_t *weights, const int32_t *offset_terms,
                               const int32_t *multiplier, const int32_t *shift, int8_t *output,
                               void *scratch);
int32_t tm_depthwise_conv2d_3x3_fast_s8_get_buffer_size(const tm_depthwise_conv2d_s8_params *p);
int tm_depthwise_conv2d_3x3_fast_s8(const tm_depthwise_conv2d_s8_params *p, const int8_t *input,
                                    const int8_t *weights, const int32_t *offset_terms,
                                    const int32_t *multiplier, const int32_t *shift,
                                    int8_t *output, void *scratch);
/* float32 FPU variants (tm_fpu_f32.h): register-blocked, bit-identical to the generic kernels.
 * packed_weights: [out channels, depth] packed by 4 (see tm_fpu_f32.h). */
int tm_conv2d_1x1_f32(const tm_conv2d_f32_params *p, const float *input,
                      const float *packed_weights, const float *bias, float *output);
int tm_conv2d_blocked_f32(const tm_conv2d_f32_params *p, const float *input,
                          const float *packed_weights, const float *bias, float *output);
int tm_depthwise_conv2d_blocked_f32(const tm_depthwise_conv2d_f32_params *p,
                                    const float *input, const float *weights,
                                    const float *bias, float *output);
int tm_fully_connected_blocked_f32(const tm_fully_connected_f32_params *p, const float *input,
                                   const float *packed_weights, const float *bias,
                                   float *output);

/* ---- nonlinear activations: softmax, logistic, tanh, clamp (Relu/Relu6/Clip), leaky relu,
 *      hard swish. int8 as TFLite Micro's reference kernels (tm_fixedpoint.h). ---- */
#define TM_SOFTMAX_SCALED_DIFF_INTEGER_BITS 5
#define TM_SOFTMAX_ACCUMULATION_INTEGER_BITS 12

typedef struct {
    int32_t outer, depth; /* rows, and the softmax axis (last) */
    int32_t input_multiplier, input_left_shift, diff_min;
} tm_softmax_s8_params;

typedef struct {
    int32_t outer, depth;
    float beta;
} tm_softmax_f32_params;

/* input - zero point is rescaled to Q4.27; beyond +-input_range_radius the output saturates */
typedef struct {
    int32_t size, input_zero_point, input_range_radius, input_multiplier, input_shift;
} tm_logistic_s8_params;

typedef struct {
    int32_t size, input_zero_point, input_range_radius, input_multiplier, input_shift;
} tm_tanh_s8_params;

typedef struct {
    int32_t size, input_zero_point, output_zero_point, multiplier, shift, act_min, act_max;
} tm_clamp_s8_params;

typedef struct {
    int32_t size;
    float lo, hi;
} tm_clamp_f32_params;

typedef struct {
    int32_t size, input_zero_point, output_zero_point;
    int32_t multiplier_identity, shift_identity; /* for input >= zero point */
    int32_t multiplier_alpha, shift_alpha;       /* |alpha|, for input < zero point */
    int32_t alpha_negative;
} tm_leaky_relu_s8_params;

typedef struct {
    int32_t size;
    float alpha;
} tm_leaky_relu_f32_params;

typedef struct {
    int32_t size, input_zero_point, output_zero_point;
    int16_t reluish_multiplier, output_multiplier; /* Q15 */
    int32_t reluish_exponent, output_exponent;
} tm_hard_swish_s8_params;

int tm_softmax_generic_s8(const tm_softmax_s8_params *p, const int8_t *input, int8_t *output);
int tm_softmax_generic_f32(const tm_softmax_f32_params *p, const float *input, float *output);
int tm_logistic_generic_s8(const tm_logistic_s8_params *p, const int8_t *input, int8_t *output);
int tm_logistic_generic_f32(const float *input, float *output, int32_t size);
int tm_tanh_generic_s8(const tm_tanh_s8_params *p, const int8_t *input, int8_t *output);
int tm_tanh_generic_f32(const float *input, float *output, int32_t size);
int tm_clamp_generic_s8(const tm_clamp_s8_params *p, const int8_t *input, int8_t *output);
int tm_clamp_generic_f32(const tm_clamp_f32_params *p, const float *input, float *output);
int tm_leaky_relu_generic_s8(const tm_leaky_relu_s8_params *p, const int8_t *input,
                             int8_t *output);
int tm_leaky_relu_generic_f32(const tm_leaky_relu_f32_params *p, const float *input,
                              float *output);
int tm_hard_swish_generic_s8(const tm_hard_swish_s8_params *p, const int8_t *input,
                             int8_t *output);
int tm_hard_swish_generic_f32(const float *input, float *output, int32_t size);

/* ---- elementwise, pooling, mean, pad, concat, transpose, (de)quantize ---- */
#define TM_MAX_DIMS 6

/* A binary op over 4 nested loops, simplified at compile time (same-shape operands become
 * one flat loop); strides count elements and are 0 where an operand repeats. */
typedef struct {
    int32_t dims[4];
    int32_t in1_strides[4], in2_strides[4];
} tm_broadcast4d;

/* A row (the innermost dimension) of the output of a tm_broadcast4d, with the element offset
 * where each input's row starts. Kernels run the row itself as a plain loop. */
typedef struct {
    int32_t index[3];
    int32_t offset1, offset2;
} tm_broadcast_walk;

static inline int32_t tm_broadcast_rows(const tm_broadcast4d *l)
{
    return l->dims[0] * l->dims[1] * l->dims[2];
}

/* Moves to the next row in row-major order. */
static inline void tm_broadcast_next_row(const tm_broadcast4d *l, tm_broadcast_walk *w)
{
    for (int32_t d = 2; d >= 0; --d) {
        w->offset1 += l->in1_strides[d];
        w->offset2 += l->in2_strides[d];
        if (++w->index[d] < l->dims[d]) {
            return;
        }
        w->offset1 -= l->in1_strides[d] * l->dims[d];
        w->offset2 -= l->in2_strides[d] * l->dims[d];
        w->index[d] = 0;
    }
}

/* TFLM's int8 ADD/SUB: both inputs shifted left by left_shift, scaled to a common scale,
 * added or subtracted, then scaled to the output. */
typedef struct {
    tm_broadcast4d loops;
    int32_t left_shift;
    int32_t input1_offset, input1_multiplier, input1_shift;
    int32_t input2_offset, input2_multiplier, input2_shift;
    int32_t output_offset, output_multiplier, output_shift;
    int32_t act_min, act_max;
} tm_add_s8_params;

typedef struct {
    tm_broadcast4d loops;
    int32_t input1_offset, input2_offset;
    int32_t output_offset, output_multiplier, output_shift;
    int32_t act_min, act_max;
} tm_mul_s8_params;

typedef struct {
    tm_broadcast4d loops;
    float act_min, act_max;
} tm_binary_f32_params;

int tm_add_generic_s8(const tm_add_s8_params *p, const int8_t *input1, const int8_t *input2,
                      int8_t *output);
int tm_sub_generic_s8(const tm_add_s8_params *p, const int8_t *input1, const int8_t *input2,
                      int8_t *output);
int tm_mul_generic_s8(const tm_mul_s8_params *p, const int8_t *input1, const int8_t *input2,
                      int8_t *output);
/* Add/Sub of int8 tensors of the output's shape: table1/table2 (256 entries, indexed by the
 * input's byte) hold each input's rescaled value; the output stage is tm_add_lut.h's. */
typedef struct {
    int32_t size;
    int32_t output_multiplier, output_round, output_right_shift;
    int32_t act_min, act_max;
} tm_add_lut_s8_params;

int tm_add_lut_s8(const tm_add_lut_s8_params *p, const int8_t *input1, const int8_t *input2,
                  const int32_t *table1, const int32_t *table2, int8_t *output);
int tm_add_lut_dsp_s8(const tm_add_lut_s8_params *p, const int8_t *input1,
                      const int8_t *input2, const int32_t *table1, const int32_t *table2,
                      int8_t *output);
int tm_add_generic_f32(const tm_binary_f32_params *p, const float *input1, const float *input2,
                       float *output);
int tm_sub_generic_f32(const tm_binary_f32_params *p, const float *input1, const float *input2,
                       float *output);
int tm_mul_generic_f32(const tm_binary_f32_params *p, const float *input1, const float *input2,
                       float *output);
/* IEEE division: x / 0 is +-inf (then clamped like any value), 0 / 0 is NaN */
int tm_div_generic_f32(const tm_binary_f32_params *p, const float *input1, const float *input2,
                       float *output);

/* Pooling windows: pad_top/pad_left only; cells outside the image are skipped (not counted
 * by the average); window cells are dilation_h/dilation_w apart (1: adjacent). int8 input and
 * output share their quantization, as TFLM requires. in_pitch/out_pitch: elements from one
 * row to the next, as tm_conv_geometry's (a region of the output from a window of the input,
 * tinyml/kernels/regions.py). */
typedef struct {
    int32_t batches, in_h, in_w, channels, out_h, out_w;
    int32_t kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left;
    int32_t dilation_h, dilation_w;
    int32_t in_pitch, out_pitch;
} tm_pool2d_shape;

typedef struct {
    tm_pool2d_shape shape;
    int32_t act_min, act_max;
} tm_pool2d_s8_params;

typedef struct {
    tm_pool2d_shape shape;
    float act_min, act_max;
} tm_pool2d_f32_params;

int tm_avgpool2d_generic_s8(const tm_pool2d_s8_params *p, const int8_t *input, int8_t *output);
int tm_avgpool2d_generic_f32(const tm_pool2d_f32_params *p, const float *input, float *output);
int tm_maxpool2d_generic_s8(const tm_pool2d_s8_params *p, const int8_t *input, int8_t *output);
int tm_maxpool2d_generic_f32(const tm_pool2d_f32_params *p, const float *input, float *output);
/* four channels per word (SXTAB16 sums, SSUB8 + SEL maxima); average: at most 256 cells */
int tm_avgpool2d_dsp_s8(const tm_pool2d_s8_params *p, const int8_t *input, int8_t *output);
int tm_maxpool2d_dsp_s8(const tm_pool2d_s8_params *p, const int8_t *input, int8_t *output);

/* Mean of [outer, reduce, inner] over the middle axis. int8 as TFLM's MEAN: the input sum
 * minus reduce * input zero point, requantized by a multiplier that already holds 1/reduce. */
typedef struct {
    int32_t outer, reduce, inner;
    int32_t sum_offset, multiplier, shift, output_offset;
} tm_mean_s8_params;

typedef struct {
    int32_t outer, reduce, inner;
} tm_mean_f32_params;

int tm_mean_generic_s8(const tm_mean_s8_params *p, const int8_t *input, int8_t *output);
int tm_mean_generic_f32(const tm_mean_f32_params *p, const float *input, float *output);

/* Constant pad over 4 dims, simplified at compile time so the innermost is a row. */
typedef struct {
    int32_t in_dims[4], out_dims[4], before[4];
} tm_pad_shape;

typedef struct {
    tm_pad_shape shape;
    int8_t value;
} tm_pad_s8_params;

typedef struct {
    tm_pad_shape shape;
    float value;
} tm_pad_f32_params;

int tm_pad_generic_s8(const tm_pad_s8_params *p, const int8_t *input, int8_t *output);
int tm_pad_generic_f32(const tm_pad_f32_params *p, const float *input, float *output);

/* Concatenation: each of the `outer` output rows is, input after input, copy_sizes[i]
 * elements of input i. */
typedef struct {
    int32_t outer, inputs_count;
} tm_concat_params;

typedef struct {
    int32_t outer, inputs_count, output_offset;
} tm_concat_s8_params;

/* Every input shares the output's quantization (or is float): plain copies. */
int tm_concat_generic_s8(const tm_concat_params *p, const int32_t *copy_sizes,
                         const int8_t *const *inputs, int8_t *output);
int tm_concat_generic_f32(const tm_concat_params *p, const int32_t *copy_sizes,
                          const float *const *inputs, float *output);
/* int8 inputs with their own quantization: each requantized as QUANTIZE int8 -> int8. */
int tm_concat_requantize_s8(const tm_concat_s8_params *p, const int32_t *copy_sizes,
                            const int32_t *input_offsets, const int32_t *multipliers,
                            const int32_t *shifts, const int8_t *const *inputs, int8_t *output);

/* Transpose: the output in order, reading the input at the given stride per output dim. */
typedef struct {
    int32_t rank, count;
    int32_t dims[TM_MAX_DIMS], strides[TM_MAX_DIMS];
} tm_transpose_params;

int tm_transpose_generic_s8(const tm_transpose_params *p, const int8_t *input, int8_t *output);
int tm_transpose_generic_f32(const tm_transpose_params *p, const float *input, float *output);

/* QUANTIZE float32 -> int8 (round(x / scale) + zero point), QUANTIZE int8 -> int8
 * (requantization) and DEQUANTIZE int8 -> float32. */
typedef struct {
    int32_t size, zero_point;
    float scale;
} tm_quantize_f32_s8_params;

typedef struct {
    int32_t size, input_offset, multiplier, shift, output_offset;
} tm_requantize_s8_params;

typedef struct {
    int32_t size, zero_point;
    float scale;
} tm_dequantize_s8_f32_params;

int tm_quantize_f32_s8(const tm_quantize_f32_s8_params *p, const float *input, int8_t *output);
int tm_requantize_s8(const tm_requantize_s8_params *p, const int8_t *input, int8_t *output);
int tm_dequantize_s8_f32(const tm_dequantize_s8_f32_params *p, const int8_t *input,
                         float *output);
/* ---- end of elementwise ... dequantize ---- */

/* ---- copy (a view that must become a real buffer) ---- */
int tm_copy(const void *input, void *output, size_t bytes);

#ifdef __cplusplus
}
#endif
#endif
