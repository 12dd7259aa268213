"""Integer arithmetic of the TFLite quantization spec, in numpy.

One implementation shared by the quantizer, the reference executor and the code generator;
the C kernels (codegen/kernels/tm_nn.h) mirror it operation for operation. Arrays are
computed in int64 and the results fit int32 where TFLite's do.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import UnsupportedError

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
#: the largest power-of-two shift of a Q31 multiplier (a factor below 2^30): the C kernels
#: shift an int32 left by it before the high multiply (tm_requantize)
MAX_LEFT_SHIFT = 30


def tflite_round(x: float) -> int:
    """std::round: halves away from zero."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def round_half_away(x: np.ndarray) -> np.ndarray:
    """std::round, exactly: floor(|x| + 0.5) would round float32 0.49999997 up to 1."""
    x = np.asarray(x)
    whole = np.trunc(x)
    return whole + np.where(np.abs(x - whole) >= 0.5, np.sign(x), 0)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """A positive real as (Q31 multiplier, power-of-two shift): real = m * 2^(shift - 31)."""
    if real == 0.0:
        return 0, 0
    if not (math.isfinite(real) and real > 0):
        raise UnsupportedError(f"a requantization factor of {real} is not a positive number")
    fraction, shift = math.frexp(real)
    q = tflite_round(fraction * (1 << 31))
    if q == (1 << 31):
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > MAX_LEFT_SHIFT:
        raise UnsupportedError(f"a requantization factor of {real:.6g} is beyond what the int8 "
                               f"kernels compute exactly (at most 2^{MAX_LEFT_SHIFT})")
    return int(q), int(shift)


def quantize_multipliers(reals) -> tuple[np.ndarray, np.ndarray]:
    pairs = [quantize_multiplier(float(r)) for r in np.atleast_1d(reals)]
    return (np.array([p[0] for p in pairs], dtype=np.int32),
            np.array([p[1] for p in pairs], dtype=np.int32))


def _trunc_div(a: np.ndarray, b: int) -> np.ndarray:
    """C integer division (towards zero) for int64 arrays."""
    q = np.abs(a) // b
    return np.where(a < 0, -q, q)


def saturating_rounding_doubling_high_mul(a, b) -> np.ndarray:
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    overflow = (a == b) & (a == INT32_MIN)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    high = _trunc_div(ab + nudge, 1 << 31)
    return np.where(overflow, INT32_MAX, high).astype(np.int64)


def rounding_divide_by_pot(x, exponent) -> np.ndarray:
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(x, multiplier, shift) -> np.ndarray:
    """TFLite's MultiplyByQuantizedMultiplier (double rounding), broadcasting."""
    x = np.asarray(x, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    shifted = wrap_int32(x * (np.int64(1) << left))
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)


def wrap_int32(x: np.ndarray) -> np.ndarray:
    """Two's-complement wrap to int32, as C's int32 arithmetic on the target."""
    return ((x + (1 << 31)) % (1 << 32)) - (1 << 31)


def activation_range(lo: float, hi: float, scale: float, zero_point: int,
                     dtype: str = "int8") -> tuple[int, int]:
    """TFLite's CalculateActivationRangeQuantized for a clamp to [lo, hi] (floats, may be inf)."""
    info = np.iinfo(dtype)
    qmin, qmax = int(info.min), int(info.max)
    # TFLite divides in float32: a float64 quotient can round the other way at a tie
    if lo > -math.inf:
        qmin = max(qmin, zero_point + tflite_round(float(np.float32(lo) / np.float32(scale))))
    if hi < math.inf:
        qmax = min(qmax, zero_point + tflite_round(float(np.float32(hi) / np.float32(scale))))
    return qmin, qmax


def quantize(x: np.ndarray, scale, zero_point, dtype: str = "int8", axis: int | None = None
             ) -> np.ndarray:
    """Float to integer as TFLite's QUANTIZE: round half away from zero, saturate."""
    scale = np.asarray(scale, dtype=np.float32)
    zero_point = np.asarray(zero_point, dtype=np.int64)
    if axis is not None and scale.size > 1:
        shape = [1] * x.ndim
        shape[axis] = -1
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    info = np.iinfo(dtype)
    q = round_half_away(np.asarray(x, dtype=np.float32) / scale) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(q: np.ndarray, scale, zero_point, axis: int | None = None) -> np.ndarray:
    scale = np.asarray(scale, dtype=np.float32)
    zero_point = np.asarray(zero_point, dtype=np.int64)
    if axis is not None and scale.size > 1:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    return ((q.astype(np.int64) - zero_point) * scale).astype(np.float32)
