"""gemmlowp's fixed-point exp, tanh, logistic and reciprocal, in numpy, as TFLite Micro uses them.

A value is a raw int32 (held in int64 arrays) in Q`integer_bits`.(31 - integer_bits) format.
Softmax, Logistic and Tanh build on exp_on_negative_values, one_over_one_plus_x_for_x_in_0_1
and friends; codegen/kernels/tm_fixedpoint.h mirrors this module operation for operation, so
the C kernels and this reference agree bit for bit. Plain additions wrap as int32 (gemmlowp
leaves overflow undefined; TFLite's uses never overflow).
"""

from __future__ import annotations

import numpy as np

from ..numerics import INT32_MAX, INT32_MIN, wrap_int32
from ..numerics import rounding_divide_by_pot as rdbpot
from ..numerics import saturating_rounding_doubling_high_mul as fx_mul

#: 1.0 in Q0.31 saturates to the largest raw value
ONE_Q0 = INT32_MAX


def _i64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def fx_add(a, b) -> np.ndarray:
    return wrap_int32(_i64(a) + _i64(b))


def fx_sub(a, b) -> np.ndarray:
    return wrap_int32(_i64(a) - _i64(b))


def fx_neg(a) -> np.ndarray:
    return wrap_int32(-_i64(a))


def one(integer_bits: int) -> int:
    """1.0 in Q`integer_bits`: saturated for Q0, exact otherwise."""
    return ONE_Q0 if integer_bits == 0 else 1 << (31 - integer_bits)


def saturating_rounding_multiply_by_pot(x, exponent: int) -> np.ndarray:
    """x * 2^exponent: saturating left shift, or rounding right shift."""
    x = _i64(x)
    if exponent > 0:
        threshold = (1 << (31 - exponent)) - 1
        return np.where(x > threshold, INT32_MAX,
                        np.where(x < -threshold, INT32_MIN, x << exponent))
    if exponent < 0:
        return rdbpot(x, -exponent)
    return x


def rescale(x, src_bits: int, dst_bits: int) -> np.ndarray:
    """A Q`src_bits` value in Q`dst_bits` (gemmlowp::Rescale)."""
    return saturating_rounding_multiply_by_pot(x, src_bits - dst_bits)


def rounding_half_sum(a, b) -> np.ndarray:
    """(a + b) / 2 rounded half away from zero (division truncates, as in C)."""
    total = _i64(a) + _i64(b)
    total = total + np.where(total >= 0, 1, -1)
    return np.where(total >= 0, total // 2, -((-total) // 2))


def exp_on_interval_between_negative_one_quarter_and_0_excl(a) -> np.ndarray:
    """exp(a) for a in [-1/4, 0), Q0 in and out: Taylor series around -1/8."""
    constant_term = 1895147668          # exp(-1/8)
    constant_1_over_3 = 715827883
    x = fx_add(a, 1 << 28)              # a + 1/8
    x2 = fx_mul(x, x)
    x3 = fx_mul(x2, x)
    x4 = fx_mul(x2, x2)
    x4_over_4 = saturating_rounding_multiply_by_pot(x4, -2)
    poly = saturating_rounding_multiply_by_pot(
        fx_add(fx_mul(fx_add(x4_over_4, x3), constant_1_over_3), x2), -1)
    return fx_add(constant_term, fx_mul(constant_term, fx_add(x, poly)))


#: (exponent, Q0 exp(-2^exponent)): the barrel shifter of exp_on_negative_values
_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
               (2, 39332535), (3, 720401), (4, 242))


def exp_on_negative_values(a, integer_bits: int) -> np.ndarray:
    """exp(a) for a <= 0 in Q`integer_bits` (at most 5), result in Q0."""
    assert integer_bits <= 5, "the -32 clamp of larger formats is not implemented"
    a = _i64(a)
    fractional_bits = 31 - integer_bits
    one_quarter = 1 << (fractional_bits - 2)
    a_mod_quarter_minus_one_quarter = fx_sub(a & (one_quarter - 1), one_quarter)
    result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        rescale(a_mod_quarter_minus_one_quarter, integer_bits, 0))
    remainder = fx_sub(a_mod_quarter_minus_one_quarter, a)
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent:
            bit = 1 << (fractional_bits + exponent)
            result = np.where(remainder & bit, fx_mul(result, multiplier), result)
    return np.where(a == 0, ONE_Q0, result)


def _newton_reciprocal_of_half_denominator(half_denominator) -> np.ndarray:
    """1 / half_denominator in Q2 by three Newton-Raphson steps (start 48/17 - 32/17 d)."""
    x = fx_add(1515870810, fx_mul(half_denominator, -1010580540))
    for _ in range(3):
        one_minus_half_denominator_times_x = fx_sub(one(2), fx_mul(half_denominator, x))
        x = fx_add(x, rescale(fx_mul(x, one_minus_half_denominator_times_x), 4, 2))
    return x


def one_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    """1 / (1 + a) for a in [0, 1), Q0 in and out."""
    x = _newton_reciprocal_of_half_denominator(rounding_half_sum(a, ONE_Q0))
    return rescale(x, 1, 0)             # x / 2 reinterpreted as Q1, then to Q0


def one_minus_x_over_one_plus_x_for_x_in_0_1(a) -> np.ndarray:
    """(1 - a) / (1 + a) for a in [0, 1), Q0 in and out."""
    x = _newton_reciprocal_of_half_denominator(rounding_half_sum(a, ONE_Q0))
    return rescale(fx_sub(x, one(2)), 2, 0)


def tanh(a, integer_bits: int) -> np.ndarray:
    """tanh(a) for a in Q`integer_bits` (at most 4), result in Q0."""
    a = _i64(a)
    negative = a < 0
    non_positive = np.where(negative, a, fx_neg(a))
    # -tanh(n) = (1 - exp(2n)) / (1 + exp(2n)) for n <= 0; 2n is n read as Q(bits + 1)
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(
        exp_on_negative_values(non_positive, integer_bits + 1))
    return np.where(a == 0, 0, np.where(negative, fx_neg(t), t))


def logistic(a, integer_bits: int) -> np.ndarray:
    """1 / (1 + exp(-a)) for a in Q`integer_bits`, result in Q0."""
    a = _i64(a)
    positive = a > 0
    magnitude = np.where(positive, a, fx_neg(a))
    if_positive = one_over_one_plus_x_for_x_in_0_1(
        exp_on_negative_values(fx_neg(magnitude), integer_bits))
    if_negative = fx_sub(ONE_Q0, if_positive)
    return np.where(a == 0, 1 << 30, np.where(positive, if_positive, if_negative))


def count_leading_zeros32(x) -> np.ndarray:
    """Leading zero bits of x as a uint32 (32 for zero); frexp is exact below 2^53."""
    x = _i64(x) & 0xFFFFFFFF
    return 32 - np.frexp(x.astype(np.float64))[1].astype(np.int64)


def reciprocal(x, x_integer_digits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLite's GetReciprocal for x > 0 in Q`x_integer_digits`: (Q0 scale, num_bits_over_unit).

    1/x = scale * 2^-num_bits_over_unit with scale in [1/2, 1].
    """
    x = _i64(x)
    headroom_plus_one = count_leading_zeros32(x)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted_sum_minus_one = wrap_int32(((x << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit
