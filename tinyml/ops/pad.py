"""Pad with a constant (TFLite PAD and PADV2, ONNX Pad mode=constant).

`pads` holds (before, after) per dim, non-negative. The pad value is a real number: int8 pads
with it quantized at the output's parameters (TFLite PAD: the zero point; PADV2: its
constant, which shares the output's quantization). Input and output share quantization.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..numerics import quantize
from .base import (Arg, KernelCall, Op, dtype_suffix, io_dtype, per_tensor, register,
                   tensor_args, unsupported_dtype)
from .checks import NodeCheck
from .layout import array_fields, pad_loops


@dataclass(frozen=True)
class PadAttrs:
    pads: tuple[tuple[int, int], ...]
    value: float = 0.0


def pad_value(node, graph):
    """The value written into the padding, in the output's dtype."""
    y = graph.tensor(node.outputs[0])
    if y.dtype == "int8":
        scale, zero_point = per_tensor(y)
        return int(quantize(np.float32(node.attrs.value), scale, zero_point))
    return float(np.float32(node.attrs.value))


@register
class Pad(Op):
    name = "Pad"
    keeps_input_quant = True

    def check(self, node, graph):
        c = NodeCheck(node, graph)
        x, y = c.input(0), c.output()
        dtype = c.dtypes((x, y), self.dtypes)
        pads = node.attrs.pads
        c.require(len(pads) == len(x.shape) and all(len(p) == 2 for p in pads),
                  f"pads {pads} are not (before, after) for each of {len(x.shape)} dims")
        c.non_negative([v for p in pads for v in p], "pads")
        value = np.float32(node.attrs.value)
        c.require(not np.isnan(value) and (dtype == "float32" or np.isfinite(value)),
                  f"the pad value {node.attrs.value} cannot be written as {dtype}")

    def output_shapes(self, node, graph):
        shape = graph.tensor(node.inputs[0]).shape
        return [tuple(d + lo + hi for d, (lo, hi) in zip(shape, node.attrs.pads))]

    def evaluate(self, node, graph, inputs):
        dtype = io_dtype(node, graph)
        if dtype not in ("float32", "int8"):
            raise unsupported_dtype(node, graph, dtype)
        return [np.pad(inputs[0], node.attrs.pads, constant_values=pad_value(node, graph))]

    def lower(self, node, graph):
        dtype = io_dtype(node, graph)
        if dtype not in ("float32", "int8"):
            raise unsupported_dtype(node, graph, dtype)
        pads = node.attrs.pads
        in_dims, out_dims, before = pad_loops(graph.tensor(node.inputs[0]).shape, pads)
        kernel = f"tm_pad_generic_{dtype_suffix(dtype)}"
        return KernelCall(kernel=kernel, sources=(kernel + ".c",),
                          args=(Arg("params"), *tensor_args(node.inputs[0], node.outputs[0])),
                          params_type=f"tm_pad_{dtype_suffix(dtype)}_params",
                          params=(*array_fields("shape.in_dims", in_dims),
                                  *array_fields("shape.out_dims", out_dims),
                                  *array_fields("shape.before", before),
                                  ("value", pad_value(node, graph))))
