"""Dequantize (int8 -> float32): C kernel vs numpy reference and vs TFLite Micro, bit-exact
over every int8 value."""

import numpy as np
import pytest

from helpers import assert_c_matches_ref, run_ref, tflm_run
from tflite_builder import TFLiteBuilder
from tinyml.frontends import load_model
from tinyml.ir import Graph, Node, Quant, Tensor

#: (shape, scale, zero point)
CASES = [((1, 4, 4, 16), 0.05, -3), ((2, 128), 0.0078125, 0), ((1, 1, 1, 256), 0.1234567, 127)]


def all_values(shape, count: int) -> np.ndarray:
    size = int(np.prod(shape))
    return (np.arange(count * size) % 256 - 128).astype(np.int8).reshape(count, *shape)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_c_matches_reference(case, tmp_path):
    shape, scale, zp = CASES[case]
    x = Tensor("x", shape, "int8", Quant.of(scale, zp))
    y = Tensor("y", shape, "float32")
    g = Graph.build("dq", [Node("dq", "Dequantize", ("x",), ("y",))], [x, y], ["x"], ["y"])
    assert_c_matches_ref(g, [all_values(shape, 2)], tmp_path, sanitize=case == 0)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_reference_matches_tflite_micro(case, tmp_path):
    shape, scale, zp = CASES[case]
    b = TFLiteBuilder()
    x = b.tensor("x", shape, "int8", scale=scale, zero_point=zp)
    y = b.tensor("y", shape, "float32")
    b.op("DEQUANTIZE", [x], [y])
    path = tmp_path / "m.tflite"
    path.write_bytes(b.build([x], [y]))
    graph = load_model(path)
    inputs = [all_values(shape, 2)]
    np.testing.assert_array_equal(run_ref(graph, inputs)[0], tflm_run(path, inputs)[0])
