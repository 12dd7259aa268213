"""Mean: C kernel vs numpy reference (bit-exact), reference vs TFLite Micro (int8 with the same
and with different input/output quantizations)."""

import numpy as np
import pytest

from helpers import assert_c_matches_ref, random_inputs, run_ref, tflm_run
from tflite_builder import TFLiteBuilder
from tinyml.frontends import load_model
from tinyml.ir import Graph, Node, Quant, Tensor
from tinyml.ops.mean import MeanAttrs

#: (input shape, axes, keepdims)
CASES = [
    ((1, 5, 5, 8), (1, 2), True),
    ((2, 3, 7, 3), (1, 2), False),
    ((1, 1, 1, 5), (1, 2), True),       # 1x1 spatial
    ((1, 25, 5, 13), (1, 2), True),     # count 125: the multiplier absorbs 1/125
    ((1, 4, 4, 3), (3,), True),
    ((2, 6, 4), (0, 1), False),
]


def out_shape(shape, axes, keepdims):
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def quants(rng, same: bool) -> tuple[dict, dict]:
    q_in = dict(scale=float(rng.uniform(0.01, 0.1)), zero_point=int(rng.integers(-30, 30)))
    q_out = q_in if same else dict(scale=float(rng.uniform(0.002, 0.05)),
                                   zero_point=int(rng.integers(-30, 30)))
    return q_in, q_out


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_c_matches_reference(dtype, case, tmp_path):
    rng = np.random.default_rng(500 + case)
    shape, axes, keepdims = CASES[case]
    q_in, q_out = (Quant.of(q["scale"], q["zero_point"]) for q in quants(rng, case % 2 == 0)) \
        if dtype == "int8" else (None, None)
    x = Tensor("x", shape, dtype, q_in)
    y = Tensor("y", out_shape(shape, axes, keepdims), dtype, q_out)
    g = Graph.build("mean", [Node("mean", "Mean", ("x",), ("y",), MeanAttrs(axes, keepdims))],
                    [x, y], ["x"], ["y"])
    assert_c_matches_ref(g, random_inputs(g, 5, rng), tmp_path,
                         atol=1e-6 if dtype == "float32" else 0.0, sanitize=case == 1)


@pytest.mark.parametrize("dtype,same_quant", [("int8", True), ("int8", False), ("float32", True)])
@pytest.mark.parametrize("case", [0, 1, 2, 3, 4])
def test_reference_matches_tflite_micro(dtype, same_quant, case, tmp_path):
    rng = np.random.default_rng(600 + case)
    shape, axes, keepdims = CASES[case]
    q_in, q_out = quants(rng, same_quant) if dtype == "int8" else ({}, {})
    b = TFLiteBuilder()
    x = b.tensor("x", shape, dtype, **q_in)
    axis = b.tensor("axis", (len(axes),), "int32", data=np.array(axes, dtype=np.int32))
    y = b.tensor("y", out_shape(shape, axes, keepdims), dtype, **q_out)
    b.op("MEAN", [x, axis], [y], "ReducerOptions", KeepDims=keepdims)
    path = tmp_path / "m.tflite"
    path.write_bytes(b.build([x], [y]))
    graph = load_model(path)
    inputs = random_inputs(graph, 20, rng)
    want, got = tflm_run(path, inputs)[0], run_ref(graph, inputs)[0]
    if dtype == "int8":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
