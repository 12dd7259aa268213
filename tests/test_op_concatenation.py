"""Concatenation: C kernel vs numpy reference (bit-exact; int8 also with inputs requantized),
reference vs TFLite Micro (which requires one shared quantization)."""

import numpy as np
import pytest

from helpers import assert_c_matches_ref, random_inputs, run_ref, tflm_run
from tflite_builder import TFLiteBuilder
from tinyml.frontends import load_model
from tinyml.ir import Graph, Node, Quant, Tensor
from tinyml.ops.concatenation import ConcatAttrs

#: (input shapes, axis, last input constant)
CASES = [
    (((1, 4, 4, 3), (1, 4, 4, 5)), 3, False),    # channels, not multiples of 4
    (((1, 2, 3, 2), (1, 5, 3, 2)), 1, False),
    (((1, 1, 1, 3), (1, 1, 1, 1), (1, 1, 1, 6)), 3, False),   # 1x1 spatial, three inputs
    (((2, 3), (1, 3)), 0, True),                 # a constant row
    (((2, 3, 4), (2, 3, 1)), 2, False),
]


def concat_shape(shapes, axis):
    return (*shapes[0][:axis], sum(s[axis] for s in shapes), *shapes[0][axis + 1:])


def concat_graph(rng, case, dtype, shared_quant: bool) -> Graph:
    shapes, axis, last_const = CASES[case]
    out_q = Quant.of(0.05, 3) if dtype == "int8" else None

    def quant():
        if dtype != "int8" or shared_quant:
            return out_q
        return Quant.of(rng.uniform(0.01, 0.2), int(rng.integers(-50, 50)))

    tensors, names = [], []
    for i, shape in enumerate(shapes):
        data = None
        if last_const and i == len(shapes) - 1:
            data = rng.integers(-128, 128, shape) if dtype == "int8" else rng.standard_normal(shape)
        tensors.append(Tensor(f"x{i}", shape, dtype, quant(), data))
        names.append(f"x{i}")
    tensors.append(Tensor("y", concat_shape(shapes, axis), dtype, out_q))
    node = Node("concat", "Concatenation", tuple(names), ("y",), ConcatAttrs(axis))
    inputs = [t.name for t in tensors[:-1] if not t.is_const]
    return Graph.build("concat", [node], tensors, inputs, ["y"])


@pytest.mark.parametrize("dtype,shared,case", [
    *(("int8", True, case) for case in range(len(CASES))),
    *(("int8", False, case) for case in (0, 2, 3)),
    *(("float32", True, case) for case in (0, 1, 3)),
])
def test_c_matches_reference(dtype, shared, case, tmp_path):
    rng = np.random.default_rng(900 + case)
    g = concat_graph(rng, case, dtype, shared)
    assert_c_matches_ref(g, random_inputs(g, 4, rng), tmp_path, sanitize=case in (2, 3))


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", [0, 2, 3, 4])
def test_reference_matches_tflite_micro(dtype, case, tmp_path):
    rng = np.random.default_rng(1000 + case)
    shapes, axis, last_const = CASES[case]
    quant = dict(scale=0.05, zero_point=3) if dtype == "int8" else {}
    b = TFLiteBuilder()
    ins = []
    for i, shape in enumerate(shapes):
        data = None
        if last_const and i == len(shapes) - 1:
            data = rng.integers(-128, 128, shape) if dtype == "int8" else rng.standard_normal(shape)
        ins.append(b.tensor(f"x{i}", shape, dtype, data=data, **quant))
    y = b.tensor("y", concat_shape(shapes, axis), dtype, **quant)
    b.op("CONCATENATION", ins, [y], "ConcatenationOptions", Axis=axis - len(shapes[0]))
    path = tmp_path / "m.tflite"
    path.write_bytes(b.build(ins[:-1] if last_const else ins, [y]))
    graph = load_model(path)
    inputs = random_inputs(graph, 5, rng)
    np.testing.assert_array_equal(run_ref(graph, inputs)[0], tflm_run(path, inputs)[0])
