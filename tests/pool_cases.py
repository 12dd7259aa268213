"""Shared cases for the AveragePool2D and MaxPool2D tests."""

from __future__ import annotations

import math

import numpy as np

from helpers import assert_c_matches_ref, random_inputs, run_ref, tflm_run
from tflite_builder import TFLiteBuilder
from tinyml.frontends import load_model
from tinyml.ir import Graph, Node, Quant, Tensor
from tinyml.ops.conv2d import conv_output_hw, same_padding
from tinyml.ops.pool2d import Pool2DAttrs

#: (input shape, kernel, strides, SAME padding)
CASES = [
    ((1, 8, 8, 3), (2, 2), (2, 2), False),
    ((1, 7, 9, 5), (3, 3), (2, 2), True),      # SAME with an odd remainder, stride 2
    ((2, 5, 5, 6), (3, 2), (1, 1), True),      # batch 2, padded cells excluded
    ((1, 1, 1, 7), (1, 1), (1, 1), False),     # 1x1 spatial
    ((1, 25, 5, 10), (25, 5), (2, 2), False),  # a global pool (kws)
    ((1, 6, 6, 4), (4, 4), (3, 1), True),      # window larger than the stride
]
ACTS = [(-math.inf, math.inf), (0.0, math.inf), (0.0, 6.0)]


def pool_graph(op: str, rng, case: int, dtype: str) -> Graph:
    shape, kernel, strides, same = CASES[case]
    pads = same_padding(shape[1:3], kernel, strides, (1, 1)) if same else (0, 0, 0, 0)
    oh, ow = conv_output_hw(shape[1:3], kernel, strides, (1, 1), pads)
    quant = None
    if dtype == "int8":
        quant = Quant.of(rng.uniform(0.01, 0.1), int(rng.integers(-30, 30)))
    x = Tensor("x", shape, dtype, quant)
    y = Tensor("y", (shape[0], oh, ow, shape[3]), dtype, quant)
    attrs = Pool2DAttrs(kernel, strides, pads, ACTS[case % len(ACTS)])
    return Graph.build("pool", [Node("pool", op, ("x",), ("y",), attrs)], [x, y], ["x"], ["y"])


def check_c_matches_reference(op: str, dtype: str, case: int, tmp_path) -> None:
    rng = np.random.default_rng(300 + case)
    g = pool_graph(op, rng, case, dtype)
    assert_c_matches_ref(g, random_inputs(g, 5, rng), tmp_path,
                         atol=1e-6 if dtype == "float32" else 0.0, sanitize=case in (1, 2))


def check_reference_matches_tflm(tflite_op: str, dtype: str, case: int, act_code: int,
                                 tmp_path) -> None:
    rng = np.random.default_rng(400 + case)
    shape, kernel, strides, same = CASES[case]
    g = pool_graph("MaxPool2D", rng, case, dtype)     # only for the output shape
    quant = {}
    if dtype == "int8":
        quant = dict(scale=float(rng.uniform(0.01, 0.1)), zero_point=int(rng.integers(-30, 30)))
    b = TFLiteBuilder()
    x = b.tensor("x", shape, dtype, **quant)
    y = b.tensor("y", g.tensor("y").shape, dtype, **quant)
    b.op(tflite_op, [x], [y], "Pool2DOptions", Padding=0 if same else 1, StrideH=strides[0],
         StrideW=strides[1], FilterHeight=kernel[0], FilterWidth=kernel[1],
         FusedActivationFunction=act_code)
    path = tmp_path / "m.tflite"
    path.write_bytes(b.build([x], [y]))
    graph = load_model(path)
    inputs = random_inputs(graph, 20, rng)
    want, got = tflm_run(path, inputs)[0], run_ref(graph, inputs)[0]
    if dtype == "int8":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
