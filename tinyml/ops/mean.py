"""Mean over axes (TFLite MEAN, ONNX ReduceMean and GlobalAveragePool): NHWC's (1, 2) above all.

The reduced axes must be neighbours, so the kernel sees [outer, reduce, inner]. int8 is
TFLM's: the int32 sum of the raw inputs minus reduce * input zero point, requantized by
in_scale / out_scale folded with 1 / reduce into one Q31 multiplier (with TFLM's shift
clamps), plus the output zero point, saturated to int8. Input and output may have
different quantizations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..numerics import multiply_by_quantized_multiplier, quantize_multiplier
from .base import (Arg, KernelCall, Op, dtype_suffix, io_dtype, per_tensor, register,
                   tensor_args, unsupported_dtype)
from .checks import NodeCheck, sum_fits
from .binary import struct_fields


@dataclass(frozen=True)
class MeanAttrs:
    axes: tuple[int, ...]        # non-negative, ascending
    keepdims: bool = True


@dataclass(frozen=True)
class MeanInt8Params:
    sum_offset: int              # -input zero point * reduce
    multiplier: int              # in_scale / out_scale / reduce, Q31
    shift: int
    output_offset: int


def reduce_loops(node, graph) -> tuple[int, int, int]:
    """(outer, reduce, inner) sizes of the input around its reduced axes."""
    shape = graph.tensor(node.inputs[0]).shape
    axes = node.attrs.axes             # neighbours (Mean.check)
    first, last = axes[0], axes[-1]
    return _size(shape[:first]), _size(shape[first:last + 1]), _size(shape[last + 1:])


def _size(dims) -> int:
    return int(np.prod(dims, dtype=np.int64))


def prepare_int8(node, graph) -> MeanInt8Params:
    in_scale, in_zp = per_tensor(graph.tensor(node.inputs[0]))
    out_scale, out_zp = per_tensor(graph.tensor(node.outputs[0]))
    _, count, _ = reduce_loops(node, graph)
    multiplier, shift = quantize_multiplier(in_scale / out_scale)
    # TFLM folds 1/count in with as many bits as count has, at most 32, keeping shift >= -31
    bits = min(count.bit_length() - 1, 32, 31 + shift)
    return MeanInt8Params(-in_zp * count, (multiplier << bits) // count, shift - bits, out_zp)


@register
class Mean(Op):
    name = "Mean"

    def check(self, node, graph):
        c = NodeCheck(node, graph)
        x, y = c.input(0), c.output()
        c.dtypes((x, y), self.dtypes)
        axes, rank = node.attrs.axes, len(x.shape)
        c.require(len(axes) >= 1 and list(axes) == sorted(set(axes)) and
                  all(0 <= a < rank for a in axes),
                  f"axes {axes} are not distinct ascending axes of rank {rank}")
        c.require(list(axes) == list(range(axes[0], axes[-1] + 1)),
                  f"mean over axes {axes} that are not neighbours")
        if x.dtype == "int8":   # the sum starts at -zero point * count
            sum_fits(c, int(np.prod([x.shape[a] for a in axes])), 256, "the mean")

    def output_shapes(self, node, graph):
        shape = graph.tensor(node.inputs[0]).shape
        axes = node.attrs.axes
        if node.attrs.keepdims:
            return [tuple(1 if i in axes else d for i, d in enumerate(shape))]
        return [tuple(d for i, d in enumerate(shape) if i not in axes)]

    def macs(self, node, graph):
        return graph.tensor(node.inputs[0]).size

    def evaluate(self, node, graph, inputs):
        outer, count, inner = reduce_loops(node, graph)
        out_shape = graph.tensor(node.outputs[0]).shape
        x = inputs[0].reshape(outer, count, inner)
        dtype = io_dtype(node, graph)
        if dtype == "float32":
            total = x.astype(np.float32).sum(axis=1, dtype=np.float32)
            return [(total / np.float32(count)).reshape(out_shape)]
        if dtype == "int8":
            p = prepare_int8(node, graph)
            total = x.astype(np.int64).sum(axis=1) + p.sum_offset
            out = multiply_by_quantized_multiplier(total, p.multiplier, p.shift) + p.output_offset
            return [np.clip(out, -128, 127).astype(np.int8).reshape(out_shape)]
        raise unsupported_dtype(node, graph, dtype)

    def lower(self, node, graph):
        dtype = io_dtype(node, graph)
        outer, count, inner = reduce_loops(node, graph)
        loops = (("outer", outer), ("reduce", count), ("inner", inner))
        if dtype == "float32":
            params_type, fields = "tm_mean_f32_params", ()
        elif dtype == "int8":
            params_type, fields = "tm_mean_s8_params", struct_fields(prepare_int8(node, graph))
        else:
            raise unsupported_dtype(node, graph, dtype)
        kernel = f"tm_mean_generic_{dtype_suffix(dtype)}"
        return KernelCall(kernel=kernel, sources=(kernel + ".c",),
                          args=(Arg("params"), *tensor_args(node.inputs[0], node.outputs[0])),
                          params_type=params_type, params=(*loops, *fields))
