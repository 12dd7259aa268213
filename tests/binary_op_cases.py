"""Shared cases for the Add, Sub and Mul tests: broadcast shapes, graphs and TFLite models."""

from __future__ import annotations

import math

import numpy as np

from helpers import assert_c_matches_ref, random_inputs, run_ref, tflm_run
from tflite_builder import TFLiteBuilder
from tinyml.frontends import load_model
from tinyml.ir import Graph, Node, Quant, Tensor
from tinyml.ops.binary import BinaryAttrs
from tinyml.ops.layout import broadcast_shape

#: (shape1, shape2, second operand constant)
SHAPES = [
    ((1, 4, 4, 3), (1, 4, 4, 3), False),     # same shape: one flat loop
    ((1, 5, 5, 7), (7,), False),             # per-channel
    ((2, 1, 5, 7), (1, 3, 1, 7), False),     # both sides broadcast
    ((1, 1, 1, 1), (1, 1, 1, 1), False),     # 1x1 spatial
    ((1, 6, 3, 5), (1, 1, 1, 1), True),      # constant scalar operand
    ((3, 1, 2, 1, 5), (1, 2, 4, 5), False),  # rank 5, coalesced to 4 loops
]
ACTS = [(-math.inf, math.inf), (0.0, math.inf), (0.0, 6.0), (-1.0, 1.0)]


def operand(rng, shape, dtype: str) -> np.ndarray:
    """Values of a constant operand."""
    if dtype == "int8":
        return rng.integers(-128, 128, shape)
    return rng.standard_normal(shape)


def binary_graph(op: str, rng, shape1, shape2, const2: bool, dtype: str, act) -> Graph:
    def q():
        if dtype != "int8":
            return None
        return Quant.of(rng.uniform(0.01, 0.2), int(rng.integers(-40, 40)))

    a = Tensor("a", shape1, dtype, q())
    b = Tensor("b", shape2, dtype, q(), operand(rng, shape2, dtype) if const2 else None)
    y = Tensor("y", broadcast_shape(shape1, shape2), dtype, q())
    node = Node(op.lower(), op, ("a", "b"), ("y",), BinaryAttrs(act))
    inputs = ["a"] if const2 else ["a", "b"]
    return Graph.build(op.lower(), [node], [a, b, y], inputs, ["y"])


def check_c_matches_reference(op: str, dtype: str, case: int, tmp_path) -> None:
    rng = np.random.default_rng(1000 + case)
    shape1, shape2, const2 = SHAPES[case]
    g = binary_graph(op, rng, shape1, shape2, const2, dtype, ACTS[case % len(ACTS)])
    inputs = random_inputs(g, 6, rng)
    assert_c_matches_ref(g, inputs, tmp_path, atol=1e-6 if dtype == "float32" else 0.0,
                         sanitize=case in (2, 5))


def check_reference_matches_tflm(tflite_op: str, options: str, dtype: str, case: int,
                                 act_code: int, tmp_path) -> None:
    rng = np.random.default_rng(2000 + case)
    shape1, shape2, const2 = SHAPES[case]
    out_shape = broadcast_shape(shape1, shape2)
    quant = {n: {} for n in "aby"}
    if dtype == "int8":
        quant = {n: dict(scale=float(rng.uniform(0.01, 0.2)), zero_point=int(rng.integers(-40, 40)))
                 for n in "aby"}
    b = TFLiteBuilder()
    ta = b.tensor("a", shape1, dtype, **quant["a"])
    tb = b.tensor("b", shape2, dtype, data=operand(rng, shape2, dtype) if const2 else None,
                  **quant["b"])
    ty = b.tensor("y", out_shape, dtype, **quant["y"])
    b.op(tflite_op, [ta, tb], [ty], options, FusedActivationFunction=act_code)
    path = tmp_path / "m.tflite"
    path.write_bytes(b.build([ta] if const2 else [ta, tb], [ty]))
    graph = load_model(path)
    inputs = random_inputs(graph, 30, rng)
    want = tflm_run(path, inputs)[0]
    got = run_ref(graph, inputs)[0]
    if dtype == "int8":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
