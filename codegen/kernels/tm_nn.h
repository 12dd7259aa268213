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

static inline int8_t tm_clamp_s8(int32_t x, int32_t lo, int32_t hi)
{
    return (int8_t)(x < lo ? lo : (x > hi ? hi : x));
}

static inline float tm_clamp_f32(float x, float lo, float hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
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
int tm_fully_connected_generic_f32(const tm_fully_connected_f32_params *p, const float *input,
                                   const float *weights, const float *bias, float *output);

/* ---- copy (a view that must become a real buffer) ---- */
int tm_copy(const void *input, void *output, size_t bytes);

#ifdef __cplusplus
}
#endif
#endif
