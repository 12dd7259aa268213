"""Concatenation along one axis (TFLite CONCATENATION, ONNX Concat).

The output's rows (everything before `axis`) are, input after input, one block of each
input. int8 inputs that share the output's quantization (always so in TFLite models: TFLM
requires it) are copied; an input with its own quantization is requantized as QUANTIZE
int8 -> int8 does (Q31 multiplier of in_scale / out_scale, saturated to int8).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..numerics import multiply_by_quantized_multiplier, quantize_multipliers
from .base import (Arg, ConstArray, KernelCall, Op, dtype_suffix, io_dtype, per_tensor,
                   register, tensor_args, unsupported_dtype)
from .checks import NodeCheck


@dataclass(frozen=True)
class ConcatAttrs:
    axis: int                    # non-negative


@dataclass(frozen=True)
class RequantizeInt8:
    input_offsets: np.ndarray    # -input zero point, per input
    multipliers: np.ndarray
    shifts: np.ndarray
    output_offset: int


def requantize_int8(node, graph) -> RequantizeInt8 | None:
    """Per-input requantization constants, None when every input shares the output's."""
    out = per_tensor(graph.tensor(node.outputs[0]))
    quants = [per_tensor(graph.tensor(n)) for n in node.inputs]
    if all(q == out for q in quants):
        return None
    multipliers, shifts = quantize_multipliers([scale / out[0] for scale, _ in quants])
    offsets = np.array([-zp for _, zp in quants], dtype=np.int32)
    return RequantizeInt8(offsets, multipliers, shifts, out[1])


def copy_sizes(node, graph) -> tuple[int, np.ndarray]:
    """(outer, elements of each input per output row)."""
    axis = node.attrs.axis
    out_shape = graph.tensor(node.outputs[0]).shape
    outer = int(np.prod(out_shape[:axis], dtype=np.int64))
    sizes = [graph.tensor(n).size // outer for n in node.inputs]
    return outer, np.array(sizes, dtype=np.int32)


@register
class Concatenation(Op):
    name = "Concatenation"
    # TFLite's converter gives every input the output's quantization; the kernel then copies
    keeps_input_quant = True
    num_inputs = (1, 1 << 16)

    def check(self, node, graph):
        c = NodeCheck(node, graph)
        xs = [c.input(i) for i in range(len(node.inputs))]
        y = c.output()
        c.dtypes((*xs, y), self.dtypes)
        axis, rank = node.attrs.axis, len(y.shape)
        c.require(0 <= axis < rank, f"axis {axis} is outside the output's rank {rank}")
        for x in xs:
            c.require(len(x.shape) == rank and all(
                d == e for i, (d, e) in enumerate(zip(x.shape, y.shape)) if i != axis),
                f"input {x.name!r} {x.shape} does not concatenate to {y.shape} along axis {axis}")

    def output_shapes(self, node, graph):
        shapes = [graph.tensor(n).shape for n in node.inputs]
        axis = node.attrs.axis
        return [(*shapes[0][:axis], sum(s[axis] for s in shapes), *shapes[0][axis + 1:])]

    def evaluate(self, node, graph, inputs):
        dtype = io_dtype(node, graph)
        if dtype == "float32":
            return [np.concatenate(inputs, axis=node.attrs.axis)]
        if dtype != "int8":
            raise unsupported_dtype(node, graph, dtype)
        r = requantize_int8(node, graph)
        if r is not None:
            inputs = [np.clip(multiply_by_quantized_multiplier(x.astype(np.int64) + offset, m, s)
                              + r.output_offset, -128, 127)
                      for x, offset, m, s in zip(inputs, r.input_offsets, r.multipliers, r.shifts)]
        return [np.concatenate(inputs, axis=node.attrs.axis).astype(np.int8)]

    def lower(self, node, graph):
        dtype = io_dtype(node, graph)
        if dtype not in ("float32", "int8"):
            raise unsupported_dtype(node, graph, dtype)
        outer, sizes = copy_sizes(node, graph)
        io = (Arg("tensor_list", refs=tuple(node.inputs)), *tensor_args(node.outputs[0]))
        params = (("outer", outer), ("inputs_count", len(node.inputs)))
        sizes_const = ConstArray("copy_sizes", "int32_t", sizes)
        r = requantize_int8(node, graph) if dtype == "int8" else None
        if r is None:
            kernel = f"tm_concat_generic_{dtype_suffix(dtype)}"
            # one row (nothing outside the axis): each input is one block of the output
            starts = tuple(int(v) for v in np.cumsum([0, *sizes[:-1]])) if outer == 1 else ()
            return KernelCall(kernel=kernel, sources=(kernel + ".c",),
                              args=(Arg("params"), Arg("const", "copy_sizes"), *io),
                              params_type="tm_concat_params", params=params,
                              consts=(sizes_const,), gathers=starts)
        kernel = "tm_concat_requantize_s8"
        return KernelCall(
            kernel=kernel, sources=(kernel + ".c",),
            args=(Arg("params"), Arg("const", "copy_sizes"), Arg("const", "input_offsets"),
                  Arg("const", "multipliers"), Arg("const", "shifts"), *io),
            params_type="tm_concat_s8_params",
            params=(*params, ("output_offset", r.output_offset)),
            consts=(sizes_const, ConstArray("input_offsets", "int32_t", r.input_offsets),
                    ConstArray("multipliers", "int32_t", r.multipliers),
                    ConstArray("shifts", "int32_t", r.shifts)))
