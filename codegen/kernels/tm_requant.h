/* The output stage of the fast int8 kernels: TFLite's MultiplyByQuantizedMultiplier
 * (tm_requantize in tm_nn.h) in fewer instructions, bit for bit.
 *
 * The doubling high multiply's nudge (+2^30, or 1 - 2^30 below zero, then division
 * truncating toward zero) is floor((ab + 2^30) / 2^31) for every sign, one SMULL and an add;
 * the rounding division by 2^right is (x + 2^(right-1) - (x < 0)) >> right. That sum must not
 * leave int32: a kernel may use this only where |accumulator| + 2^(right-1) < 2^31 for every
 * channel, which its variant's condition proves at compile time
 * (tinyml/kernels/output_stage.py). */
#ifndef TM_REQUANT_H
#define TM_REQUANT_H

#include "tm_nn.h"

static inline int32_t tm_requantize_bounded(int32_t acc, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    const int64_t ab = (int64_t)(int32_t)((uint32_t)acc << left) * multiplier;
    int32_t x = (int32_t)((ab + (1LL << 30)) >> 31);
    if (right > 0) {
        x = (x + (1 << (right - 1)) + (x >> 31)) >> right;
    }
    return x;
}

/* requantize, add the output zero point, clamp to [lo, hi] (hi wins when lo > hi) */
static inline int8_t tm_output_s8(int32_t acc, int32_t multiplier, int32_t shift,
                                  int32_t output_offset, int32_t lo, int32_t hi)
{
    return tm_clamp_s8(tm_requantize_bounded(acc, multiplier, shift) + output_offset, lo, hi);
}

#endif
