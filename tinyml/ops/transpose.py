"""Transpose by a permutation (TFLite TRANSPOSE, ONNX Transpose): output axis i is input axis
perm[i]. The kernel walks the output in order over at most 6 simplified dims
(layout.transpose_loops). Input and output share quantization.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import (Arg, KernelCall, Op, dtype_suffix, io_dtype, register, tensor_args,
                   unsupported_dtype)
from .checks import NodeCheck
from .layout import MAX_DIMS, array_fields, transpose_loops


@dataclass(frozen=True)
class TransposeAttrs:
    perm: tuple[int, ...]


@register
class Transpose(Op):
    name = "Transpose"
    keeps_input_quant = True

    def check(self, node, graph):
        c = NodeCheck(node, graph)
        x, y = c.input(0), c.output()
        c.dtypes((x, y), self.dtypes)
        perm = tuple(node.attrs.perm)
        c.require(sorted(perm) == list(range(len(x.shape))),
                  f"perm {perm} is not a permutation of the input's {len(x.shape)} axes")

    def output_shapes(self, node, graph):
        shape = graph.tensor(node.inputs[0]).shape
        return [tuple(shape[a] for a in node.attrs.perm)]

    def evaluate(self, node, graph, inputs):
        dtype = io_dtype(node, graph)
        if dtype not in ("float32", "int8"):
            raise unsupported_dtype(node, graph, dtype)
        return [np.ascontiguousarray(np.transpose(inputs[0], node.attrs.perm))]

    def lower(self, node, graph):
        dtype = io_dtype(node, graph)
        if dtype not in ("float32", "int8"):
            raise unsupported_dtype(node, graph, dtype)
        x = graph.tensor(node.inputs[0])
        dims, strides = transpose_loops(x.shape, node.attrs.perm)
        pad = MAX_DIMS - len(dims)
        kernel = f"tm_transpose_generic_{dtype_suffix(dtype)}"
        return KernelCall(kernel=kernel, sources=(kernel + ".c",),
                          args=(Arg("params"), *tensor_args(node.inputs[0], node.outputs[0])),
                          params_type="tm_transpose_params",
                          params=(("rank", len(dims)), ("count", x.size),
                                  *array_fields("dims", (*dims, *(1,) * pad)),
                                  *array_fields("strides", (*strides, *(0,) * pad))))
