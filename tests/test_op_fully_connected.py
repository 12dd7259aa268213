"""FullyConnected: C kernel vs numpy reference (bit-exact), reference vs TFLite Micro."""

import math

import numpy as np
import pytest

from helpers import assert_c_matches_ref, random_inputs, run_ref, tflm_run
from tflite_builder import TFLiteBuilder
from tinyml.frontends import load_model
from tinyml.ir import Graph, Node, Quant, Tensor
from tinyml.ops.fully_connected import FullyConnectedAttrs

ACTS = [(-math.inf, math.inf), (0.0, math.inf), (0.0, 6.0)]


def fc_graph(rng, batch, n_in, n_out, dtype, act, per_channel=True, bias=True) -> Graph:
    tensors = []
    if dtype == "int8":
        w_scale = rng.uniform(0.002, 0.02, n_out if per_channel else 1)
        x = Tensor("x", (batch, n_in), "int8", Quant.of(rng.uniform(0.01, 0.1), int(rng.integers(-20, 20))))
        w = Tensor("w", (n_out, n_in), "int8", Quant.of(w_scale, 0),
                   rng.integers(-127, 128, (n_out, n_in)))
        b = Tensor("b", (n_out,), "int32", None, rng.integers(-5000, 5000, n_out))
        y = Tensor("y", (batch, n_out), "int8", Quant.of(rng.uniform(0.05, 0.3), int(rng.integers(-20, 20))))
    else:
        x = Tensor("x", (batch, n_in), "float32")
        w = Tensor("w", (n_out, n_in), "float32", data=rng.standard_normal((n_out, n_in)))
        b = Tensor("b", (n_out,), "float32", data=rng.standard_normal(n_out))
        y = Tensor("y", (batch, n_out), "float32")
    tensors = [x, w, b, y]
    node = Node("fc", "FullyConnected", ("x", "w", "b" if bias else ""), ("y",),
                FullyConnectedAttrs(act=act))
    return Graph.build("fc", [node], tensors, ["x"], ["y"])


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", range(6))
def test_c_matches_reference(dtype, case, tmp_path):
    rng = np.random.default_rng(100 + case)
    shape = [(1, 1, 1), (1, 7, 3), (2, 13, 5), (1, 64, 10), (3, 5, 1), (1, 250, 17)][case]
    g = fc_graph(rng, *shape, dtype, ACTS[case % 3], per_channel=case % 2 == 0, bias=case != 4)
    inputs = random_inputs(g, 8, rng)
    assert_c_matches_ref(g, inputs, tmp_path, atol=1e-5 if dtype == "float32" else 0.0,
                         sanitize=case < 2)


@pytest.mark.parametrize("act", [0, 1, 3])
@pytest.mark.parametrize("per_channel", [False, True])
def test_reference_matches_tflite_micro(act, per_channel, tmp_path):
    rng = np.random.default_rng(act * 10 + per_channel)
    n_in, n_out = 24, 6
    b = TFLiteBuilder()
    x = b.tensor("x", (1, n_in), "int8", scale=0.05, zero_point=-7)
    w_scale = rng.uniform(0.002, 0.02, n_out if per_channel else 1)
    w = b.tensor("w", (n_out, n_in), "int8", data=rng.integers(-127, 128, (n_out, n_in)),
                 scale=w_scale, axis=0)
    bias = b.tensor("b", (n_out,), "int32", data=rng.integers(-3000, 3000, n_out),
                    scale=0.05 * w_scale, axis=0)
    y = b.tensor("y", (1, n_out), "int8", scale=0.1, zero_point=5)
    b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions", FusedActivationFunction=act)
    path = tmp_path / "fc.tflite"
    path.write_bytes(b.build([x], [y]))
    graph = load_model(path)
    inputs = random_inputs(graph, 40, rng)
    np.testing.assert_array_equal(run_ref(graph, inputs)[0], tflm_run(path, inputs)[0])


def test_bias_quantized_dimension_out_of_range_is_tolerated(tmp_path):
    """TFLite Micro accepts a per-channel bias whose quantized_dimension exceeds its rank."""
    rng = np.random.default_rng(7)
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 10), "int8", scale=0.05, zero_point=2)
    w_scale = rng.uniform(0.002, 0.02, 4)
    w = b.tensor("w", (4, 10), "int8", data=rng.integers(-127, 128, (4, 10)), scale=w_scale, axis=0)
    bias = b.tensor("b", (4,), "int32", data=rng.integers(-900, 900, 4), scale=0.05 * w_scale,
                    axis=3)
    y = b.tensor("y", (1, 4), "int8", scale=0.1, zero_point=0)
    b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions")
    path = tmp_path / "fc.tflite"
    path.write_bytes(b.build([x], [y]))
    graph = load_model(path)
    inputs = random_inputs(graph, 20, rng)
    want = tflm_run(path, inputs)[0]
    np.testing.assert_array_equal(run_ref(graph, inputs)[0], want)
    assert_c_matches_ref(graph, inputs, tmp_path / "lib")
