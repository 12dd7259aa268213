"""Transpose: C kernel vs numpy reference (bit-exact), reference vs TFLite Micro."""

import numpy as np
import pytest

from helpers import assert_c_matches_ref, random_inputs, run_ref, tflm_run
from tflite_builder import TFLiteBuilder
from tinyml.frontends import load_model
from tinyml.ir import Graph, Node, Quant, Tensor
from tinyml.ops.transpose import TransposeAttrs

#: (input shape, perm)
CASES = [
    ((1, 4, 5, 3), (0, 3, 1, 2)),              # NHWC -> NCHW
    ((2, 3, 4, 5), (0, 2, 3, 1)),              # NCHW -> NHWC
    ((7, 5), (1, 0)),
    ((1, 1, 1, 6), (0, 2, 1, 3)),              # 1x1 spatial: a copy
    ((2, 3, 2, 3, 2), (4, 1, 3, 0, 2)),
    ((2, 3, 2, 3, 2, 3), (5, 3, 1, 4, 2, 0)),  # six dims that cannot merge
]


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_c_matches_reference(dtype, case, tmp_path):
    rng = np.random.default_rng(1100 + case)
    shape, perm = CASES[case]
    quant = Quant.of(0.05, -4) if dtype == "int8" else None
    x = Tensor("x", shape, dtype, quant)
    y = Tensor("y", tuple(shape[a] for a in perm), dtype, quant)
    g = Graph.build("t", [Node("t", "Transpose", ("x",), ("y",), TransposeAttrs(perm))],
                    [x, y], ["x"], ["y"])
    assert_c_matches_ref(g, random_inputs(g, 3, rng), tmp_path, sanitize=case in (1, 5))


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", [0, 2, 4])
def test_reference_matches_tflite_micro(dtype, case, tmp_path):
    rng = np.random.default_rng(1200 + case)
    shape, perm = CASES[case]
    quant = dict(scale=0.05, zero_point=-4) if dtype == "int8" else {}
    b = TFLiteBuilder()
    x = b.tensor("x", shape, dtype, **quant)
    p = b.tensor("perm", (len(perm),), "int32", data=np.array(perm, np.int32))
    y = b.tensor("y", tuple(shape[a] for a in perm), dtype, **quant)
    b.op("TRANSPOSE", [x, p], [y], "TransposeOptions")
    path = tmp_path / "m.tflite"
    path.write_bytes(b.build([x], [y]))
    graph = load_model(path)
    inputs = random_inputs(graph, 3, rng)
    np.testing.assert_array_equal(run_ref(graph, inputs)[0], tflm_run(path, inputs)[0])
