"""Calibration: observed ranges, methods, and how calibration data is accepted or refused."""

import math

import numpy as np
import pytest

from tinyml.errors import ShapeError, UsageError
from tinyml.ir import Graph, Node, Tensor
from tinyml.ops.fully_connected import FullyConnectedAttrs
from tinyml.quant import CalibrationWarning, calibrate, calibration_samples, quantize_graph
from tinyml.ref import run_trace


def relu_fc_graph(n_in=6, n_out=5, seed=0) -> Graph:
    rng = np.random.default_rng(seed)
    tensors = [Tensor("x", (1, n_in), "float32"),
               Tensor("w", (n_out, n_in), "float32", data=rng.standard_normal((n_out, n_in))),
               Tensor("b", (n_out,), "float32", data=rng.standard_normal(n_out)),
               Tensor("y", (1, n_out), "float32")]
    node = Node("fc", "FullyConnected", ("x", "w", "b"), ("y",),
                FullyConnectedAttrs(act=(0.0, math.inf)))
    return Graph.build("fc", [node], tensors, ["x"], ["y"])


def test_minmax_ranges_are_the_extremes_seen():
    g = relu_fc_graph()
    xs = np.random.default_rng(1).standard_normal((20, 1, 6)).astype(np.float32)
    ranges = calibrate(g, xs)
    assert set(ranges) == {"x", "y"}                    # activations only, not constants
    ys = np.stack([run_trace(g, [x])["y"] for x in xs])
    assert ranges["x"] == (float(xs.min()), float(xs.max()))
    assert ranges["y"] == (float(ys.min()), float(ys.max()))
    assert ranges["y"][0] >= 0.0                        # the fused ReLU is part of the reference
    assert calibrate(g, xs, progress=True) == ranges    # with a progress bar on stderr


def test_percentile_ignores_rare_outliers():
    g = relu_fc_graph()
    xs = np.random.default_rng(2).standard_normal((200, 1, 6)).astype(np.float32)
    xs[7, 0, 2] = 1000.0
    lo, hi = calibrate(g, xs, method="percentile", percentile=99.0)["x"]
    assert hi < 5.0 and lo > -5.0
    assert calibrate(g, xs)["x"][1] == 1000.0


def test_unknown_method_is_a_usage_error():
    g = relu_fc_graph()
    with pytest.raises(UsageError, match="minmax, percentile"):
        calibrate(g, np.zeros((1, 1, 6), np.float32), method="kl")


def test_missing_calibration_asks_for_calib():
    with pytest.raises(UsageError, match=r"--calib data\.npz.*--calib random"):
        quantize_graph(relu_fc_graph(), None)


def test_random_calibration_warns_and_is_seeded():
    g = relu_fc_graph()
    with pytest.warns(CalibrationWarning, match="accuracy is unknown"):
        a = calibration_samples(g, "random")
    with pytest.warns(CalibrationWarning):
        b = calibration_samples(g, "random")
    assert a.shape[1:] == (1, 6) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)


def test_calibration_shapes():
    g = relu_fc_graph()
    assert calibration_samples(g, np.zeros((3, 1, 6))).shape == (3, 1, 6)
    assert calibration_samples(g, np.zeros((3, 6), np.uint8)).shape == (3, 1, 6)  # no batch axis
    with pytest.raises(ShapeError, match=r"\(5,\).*\(1, 6\)"):
        calibration_samples(g, np.zeros((3, 5)))
    with pytest.raises(ShapeError):
        calibration_samples(g, np.zeros((0, 1, 6)))
