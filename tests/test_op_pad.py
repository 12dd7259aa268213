"""Pad: C kernel vs numpy reference (bit-exact), reference vs TFLite Micro (PAD and PADV2)."""

import numpy as np
import pytest

from helpers import assert_c_matches_ref, random_inputs, run_ref, tflm_run
from tflite_builder import TFLiteBuilder
from tinyml.frontends import load_model
from tinyml.ir import Graph, Node, Quant, Tensor
from tinyml.ops.pad import PadAttrs

#: (input shape, pads, value)
CASES = [
    ((1, 5, 5, 3), ((0, 0), (1, 1), (1, 1), (0, 0)), 0.0),   # SAME-style for a 3x3 conv
    ((1, 4, 6, 5), ((0, 0), (0, 1), (2, 0), (0, 0)), 0.0),   # asymmetric
    ((2, 3, 3, 4), ((1, 0), (0, 0), (0, 0), (1, 2)), 0.5),   # batch and channels
    ((1, 1, 1, 7), ((0, 0), (2, 2), (2, 2), (0, 0)), -1.0),  # 1x1 spatial
    ((3, 5), ((1, 2), (3, 0)), 0.0),                         # rank 2
    ((2, 2, 2, 2, 3), ((0, 1), (1, 0), (0, 0), (1, 1), (0, 0)), 0.0),   # rank 5
]


def out_shape(shape, pads):
    return tuple(d + lo + hi for d, (lo, hi) in zip(shape, pads))


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_c_matches_reference(dtype, case, tmp_path):
    rng = np.random.default_rng(700 + case)
    shape, pads, value = CASES[case]
    quant = Quant.of(0.05, int(rng.integers(-30, 30))) if dtype == "int8" else None
    x = Tensor("x", shape, dtype, quant)
    y = Tensor("y", out_shape(shape, pads), dtype, quant)
    g = Graph.build("pad", [Node("pad", "Pad", ("x",), ("y",), PadAttrs(pads, value))],
                    [x, y], ["x"], ["y"])
    assert_c_matches_ref(g, random_inputs(g, 4, rng), tmp_path, sanitize=case in (1, 5))


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case,v2", [(0, False), (1, True), (2, True), (4, False), (5, True)])
def test_reference_matches_tflite_micro(dtype, case, v2, tmp_path):
    rng = np.random.default_rng(800 + case)
    shape, pads, _ = CASES[case]
    quant = dict(scale=0.05, zero_point=int(rng.integers(-30, 30))) if dtype == "int8" else {}
    b = TFLiteBuilder()
    x = b.tensor("x", shape, dtype, **quant)
    paddings = b.tensor("paddings", (len(shape), 2), "int32", data=np.array(pads, np.int32))
    y = b.tensor("y", out_shape(shape, pads), dtype, **quant)
    if v2:
        value = rng.integers(-128, 128, (1,)) if dtype == "int8" else rng.standard_normal(1)
        c = b.tensor("value", (1,), dtype, data=value, **quant)
        b.op("PADV2", [x, paddings, c], [y], "PadV2Options")
    else:
        b.op("PAD", [x, paddings], [y], "PadOptions")
    path = tmp_path / "m.tflite"
    path.write_bytes(b.build([x], [y]))
    graph = load_model(path)
    inputs = random_inputs(graph, 5, rng)
    np.testing.assert_array_equal(run_ref(graph, inputs)[0], tflm_run(path, inputs)[0])
