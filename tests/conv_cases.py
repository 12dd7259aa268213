"""What the Conv2D and DepthwiseConv2D tests share: padding, scales, the TFLM comparison."""

import math

import numpy as np

from helpers import random_inputs, run_ref, tflm_run
from tinyml.frontends import load_model
from tinyml.ops.conv2d import same_padding

NONE, RELU, RELU6 = (-math.inf, math.inf), (0.0, math.inf), (0.0, 6.0)


def resolve_pads(padding, in_hw, kernel, strides, dilations):
    if padding == "same":
        return same_padding(in_hw, kernel, strides, dilations)
    return (0, 0, 0, 0) if padding == "valid" else padding


def output_scale(in_scale, w_scale, depth):
    """An output scale that spreads the accumulators over the int8 range."""
    return float(in_scale * np.mean(w_scale) * math.sqrt(depth) * 74 * 74 / 40)


def assert_reference_matches_tflite_micro(path, dtype, rng, samples=10):
    """Our reference on a one-op .tflite against TFLite Micro: int8 bit for bit."""
    graph = load_model(path)
    inputs = random_inputs(graph, samples, rng)
    got, want = run_ref(graph, inputs)[0], tflm_run(path, inputs)[0]
    if dtype == "int8":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
