"""Choice of int8 parameters: activations, per-channel weights, int32 bias."""

import numpy as np
import pytest

from tinyml.numerics import INT32_MAX, dequantize, quantize
from tinyml.quant import params


def _f32(x: float) -> bool:
    return float(np.float32(x)) == x


@pytest.mark.parametrize("lo,hi", [(-1.0, 1.0), (0.0, 6.0), (-3.0, -0.5), (0.2, 5.0),
                                   (-0.013, 25.7), (-1e-3, 1e-3), (-100.0, 0.25)])
def test_activation_range_contains_zero_exactly(lo, hi):
    q = params.activation_quant(lo, hi)
    scale, zp = q.scale[0], q.zero_point[0]
    assert _f32(scale) and -128 <= zp <= 127
    assert quantize(np.float32([0.0]), scale, zp)[0] == zp       # 0.0 is representable
    full_lo, full_hi = min(lo, 0.0), max(hi, 0.0)
    assert scale == pytest.approx((full_hi - full_lo) / 255, rel=1e-6)
    # the range ends land within half a step (the nudge) of the int8 limits
    got = dequantize(np.array([-128, 127], np.int8), scale, zp)
    assert got[0] <= full_lo + scale * 0.5 + 1e-6 and got[1] >= full_hi - scale * 0.5 - 1e-6


def test_activation_one_sided_ranges_pin_zero_point():
    assert params.activation_quant(0.0, 6.0).zero_point == (-128,)
    assert params.activation_quant(-4.0, 0.0).zero_point == (127,)
    assert params.activation_quant(0.5, 3.0).zero_point == (-128,)   # widened to contain 0


def test_activation_symmetric_range_matches_tflite_rounding():
    # zero points -0.5 from both ends: the max end wins the tie, std::round gives -1
    q = params.activation_quant(-1.0, 1.0)
    assert q.zero_point == (-1,) and q.scale[0] == pytest.approx(2 / 255)


def test_activation_all_zero_tensor():
    q = params.activation_quant(0.0, 0.0)
    assert q.scale[0] > 0 and q.zero_point == (0,)


def test_weights_symmetric_per_channel():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 3, 3, 5)).astype(np.float32) * np.float32([0.1, 1, 10, 0.01, 3])
    w[..., 3] = 0.0                                   # an all-zero channel
    scales = params.weight_scales(w, axis=3)
    assert scales.dtype == np.float32 and scales.shape == (5,)
    q = params.quantize_weights(w, scales, axis=3)
    assert q.dtype == np.int8 and q.min() >= -127
    peak = np.abs(q.astype(int)).max(axis=(0, 1, 2))
    assert list(peak) == [127, 127, 127, 0, 127]
    assert 0 < scales[3] < 1e-6                       # tiny, positive
    nonzero = [0, 1, 2, 4]
    np.testing.assert_allclose(scales[nonzero], np.abs(w).max(axis=(0, 1, 2))[nonzero] / 127,
                               rtol=1e-6)
    np.testing.assert_allclose(q * scales, w, atol=float(scales.max()) / 2 + 1e-7)


def test_bias_scale_and_rounding():
    in_scale = np.float32(0.0273)
    w_scales = np.float32([0.002, 0.0105, 0.3])
    b = np.float32([0.1, -2.5, 7.0])
    scales = params.bias_scales(float(in_scale), w_scales)
    assert scales.dtype == np.float32
    np.testing.assert_array_equal(scales, in_scale * w_scales)   # float32 product, as TFLite
    q = params.quantize_bias(b, scales)
    assert q.dtype == np.int32
    np.testing.assert_array_equal(q, np.round(b.astype(np.float64) / scales.astype(np.float64)))


def test_bias_floor_keeps_int32_bias_from_saturating():
    in_scale = 1e-3
    w = np.zeros((2, 4), np.float32)
    w[0] = 1e-9                                         # tiny weights, big bias
    bias = np.float32([5000.0, 3.0])
    floor = params.bias_min_weight_scales(bias, in_scale)
    scales = params.weight_scales(w, axis=0, min_scales=floor)
    q = params.quantize_bias(bias, params.bias_scales(in_scale, scales))
    assert np.all(np.abs(q.astype(np.int64)) <= INT32_MAX)
    np.testing.assert_allclose(q * params.bias_scales(in_scale, scales), bias, rtol=1e-6)
