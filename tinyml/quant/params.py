"""Choosing int8 quantization parameters the way TFLite's converter does.

Activations: per-tensor asymmetric int8 over [-128, 127] whose range always contains 0, with
TFLite's zero-point nudging (the zero point is the rounded one derived from whichever range
end loses less precision, so that 0.0 is represented exactly).
Weights: per-channel symmetric int8 over [-127, 127], scale = max|w| / 127.
Bias: int32 at scale input_scale * weight_scale (per channel), zero point 0.
Scales are float32 values: the C code and TFLite Micro hold them as float.
"""

from __future__ import annotations

import numpy as np

from ..ir import Quant
from ..numerics import INT32_MAX, round_half_away

QMIN, QMAX = -128, 127
WEIGHT_QMAX = 127
#: scale of an all-zero weight channel (any positive value is exact for zeros)
ZERO_CHANNEL_SCALE = 1e-8


def activation_quant(lo: float, hi: float) -> Quant:
    """Per-tensor asymmetric int8 parameters for values in [lo, hi]."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi == lo:  # an all-zero tensor: any scale represents it exactly
        return Quant.of(1.0, 0)
    # In double precision, as TFLite's converter; only the stored scale is float32.
    scale = (hi - lo) / (QMAX - QMIN)
    zp_from_min, zp_from_max = QMIN - lo / scale, QMAX - hi / scale
    err_min = abs(QMIN) + abs(lo / scale)
    err_max = abs(QMAX) + abs(hi / scale)
    zp = zp_from_min if err_min < err_max else zp_from_max
    zp = int(np.clip(round_half_away(np.float64(zp)), QMIN, QMAX))
    return Quant.of(float(np.float32(scale)), zp)


def weight_scales(w: np.ndarray, axis: int, min_scales: np.ndarray | None = None) -> np.ndarray:
    """Per-channel symmetric scales (float32) along `axis`, at least `min_scales`."""
    reduce = tuple(d for d in range(w.ndim) if d != axis)
    max_abs = np.max(np.abs(w.astype(np.float64)), axis=reduce) if w.size else np.zeros(0)
    scales = max_abs / WEIGHT_QMAX
    scales = np.where(scales > 0, scales, ZERO_CHANNEL_SCALE)
    if min_scales is not None:
        scales = np.maximum(scales, min_scales)
    return scales.astype(np.float32)


def bias_min_weight_scales(bias: np.ndarray, input_scale: float) -> np.ndarray:
    """Smallest weight scales that keep the int32 bias from saturating."""
    return np.abs(bias.astype(np.float64)) / (float(input_scale) * INT32_MAX)


def quantize_weights(w: np.ndarray, scales: np.ndarray, axis: int) -> np.ndarray:
    shape = [1] * w.ndim
    shape[axis] = -1
    q = round_half_away(w.astype(np.float64) / scales.astype(np.float64).reshape(shape))
    return np.clip(q, -WEIGHT_QMAX, WEIGHT_QMAX).astype(np.int8)


def bias_scales(input_scale: float, w_scales: np.ndarray) -> np.ndarray:
    """input_scale * weight_scale in float32, as TFLite's converter computes it."""
    return (np.float32(input_scale) * np.asarray(w_scales, dtype=np.float32)).astype(np.float32)


def quantize_bias(bias: np.ndarray, scales: np.ndarray) -> np.ndarray:
    q = round_half_away(bias.astype(np.float64) / scales.astype(np.float64))
    return np.clip(q, -INT32_MAX, INT32_MAX).astype(np.int32)
