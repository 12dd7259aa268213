/* gemmlowp's fixed-point exp / tanh / logistic / reciprocal, as TFLite Micro's int8 softmax,
 * logistic and tanh use them. Mirrors tinyml/ops/fixedpoint.py operation for operation.
 *
 * A value is a raw int32 in Q<integer_bits>.(31 - integer_bits). Multiplication is
 * tm_srdhm; plain additions wrap (through uint32, so they are defined behaviour in C). */
#ifndef TM_FIXEDPOINT_H
#define TM_FIXEDPOINT_H

#include "tm_nn.h"

/* 1.0 in Q0.31 saturates to the largest raw value. */
#define TM_FX_ONE_Q0 INT32_MAX

static inline int32_t tm_fx_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static inline int32_t tm_fx_sub(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

static inline int32_t tm_fx_neg(int32_t a)
{
    return (int32_t)(0u - (uint32_t)a);
}

/* 1.0 in Q<integer_bits>, for integer_bits > 0. */
static inline int32_t tm_fx_one(int integer_bits)
{
    return (int32_t)1 << (31 - integer_bits);
}

/* x * 2^exponent: saturating left shift, or rounding right shift. */
static inline int32_t tm_fx_srmpot(int32_t x, int exponent)
{
    if (exponent > 0) {
        const int32_t threshold = ((int32_t)1 << (31 - exponent)) - 1;
        if (x > threshold) {
            return INT32_MAX;
        }
        if (x < -threshold) {
            return INT32_MIN;
        }
        return (int32_t)((uint32_t)x << exponent);
    }
    if (exponent < 0) {
        return tm_rdbpot(x, -exponent);
    }
    return x;
}

/* A Q<src_bits> value in Q<dst_bits> (gemmlowp::Rescale). */
static inline int32_t tm_fx_rescale(int32_t x, int src_bits, int dst_bits)
{
    return tm_fx_srmpot(x, src_bits - dst_bits);
}

/* (a + b) / 2 rounded half away from zero. */
static inline int32_t tm_fx_rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* exp(a) for a in [-1/4, 0), Q0 in and out: Taylor series around -1/8. */
static inline int32_t tm_fx_exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a)
{
    const int32_t constant_term = 1895147668; /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883;
    const int32_t x = tm_fx_add(a, (int32_t)1 << 28); /* a + 1/8 */
    const int32_t x2 = tm_srdhm(x, x);
    const int32_t x3 = tm_srdhm(x2, x);
    const int32_t x4 = tm_srdhm(x2, x2);
    const int32_t x4_over_4 = tm_fx_srmpot(x4, -2);
    const int32_t poly = tm_fx_srmpot(
        tm_fx_add(tm_srdhm(tm_fx_add(x4_over_4, x3), constant_1_over_3), x2), -1);
    return tm_fx_add(constant_term, tm_srdhm(constant_term, tm_fx_add(x, poly)));
}

/* exp(a) for a <= 0 in Q<integer_bits> (at most 5), result in Q0. */
static inline int32_t tm_fx_exp_on_negative_values(int32_t a, int integer_bits)
{
    /* Q0 exp(-2^e) for e = -2 .. 4: the barrel shifter over the integer part */
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308,
                                      39332535,   720401,     242};
    const int fractional_bits = 31 - integer_bits;
    const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
    const int32_t a_mod_quarter_minus_one_quarter =
        tm_fx_sub(a & (one_quarter - 1), one_quarter);
    int32_t result = tm_fx_exp_on_interval_between_negative_one_quarter_and_0_excl(
        tm_fx_rescale(a_mod_quarter_minus_one_quarter, integer_bits, 0));
    const int32_t remainder = tm_fx_sub(a_mod_quarter_minus_one_quarter, a);
    for (int exponent = -2; exponent <= 4 && exponent < integer_bits; ++exponent) {
        if (remainder & ((int32_t)1 << (fractional_bits + exponent))) {
            result = tm_srdhm(result, barrel[exponent + 2]);
        }
    }
    return a == 0 ? TM_FX_ONE_Q0 : result;
}

/* 1 / half_denominator in Q2 by three Newton-Raphson steps (start 48/17 - 32/17 d). */
static inline int32_t tm_fx_newton_reciprocal_of_half_denominator(int32_t half_denominator)
{
    int32_t x = tm_fx_add(1515870810, tm_srdhm(half_denominator, -1010580540));
    for (int i = 0; i < 3; ++i) {
        const int32_t one_minus_half_denominator_times_x =
            tm_fx_sub(tm_fx_one(2), tm_srdhm(half_denominator, x));
        x = tm_fx_add(x, tm_fx_rescale(tm_srdhm(x, one_minus_half_denominator_times_x), 4, 2));
    }
    return x;
}

/* 1 / (1 + a) for a in [0, 1), Q0 in and out. */
static inline int32_t tm_fx_one_over_one_plus_x_for_x_in_0_1(int32_t a)
{
    const int32_t x = tm_fx_newton_reciprocal_of_half_denominator(
        tm_fx_rounding_half_sum(a, TM_FX_ONE_Q0));
    return tm_fx_rescale(x, 1, 0); /* x / 2 reinterpreted as Q1, then to Q0 */
}

/* (1 - a) / (1 + a) for a in [0, 1), Q0 in and out. */
static inline int32_t tm_fx_one_minus_x_over_one_plus_x_for_x_in_0_1(int32_t a)
{
    const int32_t x = tm_fx_newton_reciprocal_of_half_denominator(
        tm_fx_rounding_half_sum(a, TM_FX_ONE_Q0));
    return tm_fx_rescale(tm_fx_sub(x, tm_fx_one(2)), 2, 0);
}

/* tanh(a) for a in Q<integer_bits> (at most 4), result in Q0. */
static inline int32_t tm_fx_tanh(int32_t a, int integer_bits)
{
    const int32_t non_positive = a < 0 ? a : tm_fx_neg(a);
    /* -tanh(n) = (1 - exp(2n)) / (1 + exp(2n)) for n <= 0; 2n is n read as Q(bits + 1) */
    const int32_t t = tm_fx_one_minus_x_over_one_plus_x_for_x_in_0_1(
        tm_fx_exp_on_negative_values(non_positive, integer_bits + 1));
    return a == 0 ? 0 : (a < 0 ? tm_fx_neg(t) : t);
}

/* 1 / (1 + exp(-a)) for a in Q<integer_bits>, result in Q0. */
static inline int32_t tm_fx_logistic(int32_t a, int integer_bits)
{
    const int32_t magnitude = a > 0 ? a : tm_fx_neg(a);
    const int32_t if_positive = tm_fx_one_over_one_plus_x_for_x_in_0_1(
        tm_fx_exp_on_negative_values(tm_fx_neg(magnitude), integer_bits));
    if (a == 0) {
        return (int32_t)1 << 30;
    }
    return a > 0 ? if_positive : tm_fx_sub(TM_FX_ONE_Q0, if_positive);
}

static inline int tm_fx_count_leading_zeros32(uint32_t x)
{
    int n = 0;
    if (x == 0) {
        return 32;
    }
    while (!(x & 0x80000000u)) {
        x <<= 1;
        ++n;
    }
    return n;
}

/* TFLite's GetReciprocal for x > 0 in Q<x_integer_digits>:
 * 1/x = result * 2^-(*num_bits_over_unit), result a Q0 value in [1/2, 1]. */
static inline int32_t tm_fx_reciprocal(int32_t x, int x_integer_digits, int *num_bits_over_unit)
{
    const int headroom_plus_one = tm_fx_count_leading_zeros32((uint32_t)x);
    *num_bits_over_unit = x_integer_digits - headroom_plus_one;
    const int32_t shifted_sum_minus_one =
        (int32_t)(((uint32_t)x << headroom_plus_one) - ((uint32_t)1 << 31));
    return tm_fx_one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);
}

#endif
