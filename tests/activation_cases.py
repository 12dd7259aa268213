"""Shared cases for the activation op tests (softmax, logistic, tanh, relu, relu6, clip,
leaky relu, hard swish): one-node graphs for C-vs-reference runs, and single-op TFLite models
whose input sweeps all 256 int8 values, for reference-vs-TFLite-Micro runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from helpers import random_inputs, run_ref, tflm_run
from tflite_builder import TFLiteBuilder
from tinyml.frontends import load_model
from tinyml.ir import Graph, Node, Quant, Tensor

#: shapes with odd sizes, a single element, and rank 2 to 4
SHAPES = [(1, 1), (3, 7), (1, 5, 5, 3), (2, 3, 4, 13), (1, 1, 1, 257)]

#: every int8 value once, as a batch of one [1, 1, 256] input
ALL_INT8 = np.arange(-128, 128, dtype=np.int8).reshape(1, 1, 256)


def one_node_graph(op: str, shape, dtype: str, attrs=None, in_quant=None, out_quant=None
                   ) -> Graph:
    """x -> op -> y; int8 tensors take (scale, zero point) pairs."""
    def quant(q):
        return Quant.of(*q) if dtype == "int8" else None
    x = Tensor("x", shape, dtype, quant(in_quant))
    y = Tensor("y", shape, dtype, quant(out_quant))
    return Graph.build(op.lower(), [Node("n", op, ("x",), ("y",), attrs)], [x, y], ["x"], ["y"])


def sweep_inputs(graph: Graph, rng: np.random.Generator, count: int = 5) -> list[np.ndarray]:
    """Random inputs whose first int8 sample runs through -128..127 repeatedly."""
    inputs = random_inputs(graph, count, rng)
    x = inputs[0]
    if x.dtype == np.int8:
        x[0] = np.resize(ALL_INT8, x.shape[1:])
    return inputs


def single_op_tflite(path: Path, opname: str, dtype: str, shape, in_quant=None, out_quant=None,
                     options: str | None = None, **fields) -> Path:
    b = TFLiteBuilder()
    in_q = dict(scale=in_quant[0], zero_point=in_quant[1]) if dtype == "int8" else {}
    out_q = dict(scale=out_quant[0], zero_point=out_quant[1]) if dtype == "int8" else {}
    x = b.tensor("x", shape, dtype, **in_q)
    y = b.tensor("y", shape, dtype, **out_q)
    b.op(opname, [x], [y], options, **fields)
    path.write_bytes(b.build([x], [y]))
    return path


def assert_int8_sweep_matches_tflm(tmp_path: Path, opname: str, in_quant, out_quant,
                                   options: str | None = None, **fields) -> None:
    """Reference == TFLite Micro on all 256 int8 inputs of a single-op model."""
    path = single_op_tflite(tmp_path / "op.tflite", opname, "int8", (1, 256), in_quant,
                            out_quant, options, **fields)
    graph = load_model(path)
    np.testing.assert_array_equal(run_ref(graph, [ALL_INT8])[0], tflm_run(path, [ALL_INT8])[0])


def assert_float_matches_tflm(tmp_path: Path, opname: str, options: str | None = None,
                              scale: float = 4.0, **fields) -> None:
    """Reference ~= TFLite Micro (1e-6) on a float32 single-op model over [-scale, scale]."""
    path = single_op_tflite(tmp_path / "op.tflite", opname, "float32", (2, 50),
                            options=options, **fields)
    graph = load_model(path)
    rng = np.random.default_rng(0)
    x = (rng.uniform(-scale, scale, (3, 2, 50))).astype(np.float32)
    np.testing.assert_allclose(run_ref(graph, [x])[0], tflm_run(path, [x])[0], rtol=1e-5,
                               atol=1e-6)
