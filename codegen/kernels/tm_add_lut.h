/* What the table-driven int8 Add/Sub kernels share (tm_add_lut_s8.c, tm_add_lut_dsp_s8.c).
 *
 * TFLite's int8 ADD rescales each input on its own before the sum, so that half of the work
 * depends on one int8 value: tinyml/kernels/add_lut_s8.py tabulates it at compile time,
 * table[(uint8_t)x] = 2 * (rescaled x << output left shift) (negated for the second input of
 * a Sub). What is left per element is the output stage on s = table1[x] + table2[y]:
 *
 *   t = round_half_up(s * multiplier / 2^32) + round     (SMMLAR; round = 2^(r-1) + offset*2^r)
 *   out = clamp((t + (s < 0 ? -1 : 0)) >> r)
 *
 * which is TFLite's doubling high multiply and rounding division by 2^r, plus the output
 * offset. The sign of s stands for the sign of the product (the multiplier is positive); where
 * they differ the product rounds to 0 and both ways give 0. The compile-time check proves no
 * intermediate leaves int32 by running this formula on all 65,536 input pairs against the
 * reference, so the kernels need no run-time check. */
#ifndef TM_ADD_LUT_H
#define TM_ADD_LUT_H

#include "tm_dsp.h"
#include "tm_nn.h"

/* SMMLAR: acc + ((a * b + 2^31) >> 32), wrapping to 32 bits. */
static inline int32_t tm_add_lut_smmlar(int32_t a, int32_t b, int32_t acc)
{
#if TM_DSP_ACLE
    int32_t result;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(result) : "r"(a), "r"(b), "r"(acc));
    return result;
#else
    /* the conversion wraps as the instruction does (GCC); the compile-time check keeps
     * every sum of these kernels inside int32 anyway */
    return (int32_t)((int64_t)acc + (((int64_t)a * b + (1LL << 31)) >> 32));
#endif
}

/* The output stage before the clamp: TFLite's requantization of the sum, plus the offset. */
static inline int32_t tm_add_lut_output(const tm_add_lut_s8_params *p, int32_t sum)
{
    const int32_t t = tm_add_lut_smmlar(sum, p->output_multiplier, p->output_round);
    return (t + (sum >> 31)) >> p->output_right_shift;
}

#endif
