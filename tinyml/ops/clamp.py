"""Relu, Relu6 and Clip: y = min(max(x, lo), hi) (TFLite RELU, RELU6, RELU_N1_TO_1; ONNX).

All three lower to one kernel, tm_clamp: out = out_zp + requantize(x - in_zp), clamped to
[act_min, act_max]. TFLite Micro's int8 semantics differ per op, and the params carry them:
- Relu requantizes from the input to the output scale and clamps at the output zero point.
- Relu6 does not requantize: it clamps the raw input to [in_zp, quantized 6] in the *input*
  quantization, whatever the output's says (so its output keeps the input's quantization).
- Clip (general bounds; TFLite's RELU_N1_TO_1 semantics) requantizes like Relu, bounds
  quantized with the output's parameters.
Bounds are quantized with numerics.activation_range (a float32 division, as TFLite).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..ir import Graph, Node
from ..numerics import activation_range, multiply_by_quantized_multiplier, quantize_multiplier
from .base import (Arg, KernelCall, Op, clamp_float, float_bounds, io_dtype,
                   per_tensor, register, tensor_args, unsupported_dtype)
from .checks import NodeCheck

#: the requantization multiplier of 1.0: tm_requantize(x, 1 << 30, 1) == x
IDENTITY = (1 << 30, 1)


@dataclass(frozen=True)
class ClipAttrs:
    lo: float = -math.inf
    hi: float = math.inf


@dataclass(frozen=True)
class Int8Params:
    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int
    act_min: int
    act_max: int


def _requantizing(node: Node, graph: Graph, lo: float, hi: float) -> Int8Params:
    """TFLite's ReluPrepare / QuantizedReluX: input scale / output scale in float32."""
    in_scale, in_zp = per_tensor(graph.tensor(node.inputs[0]))
    out_scale, out_zp = per_tensor(graph.tensor(node.outputs[0]))
    multiplier, shift = quantize_multiplier(float(np.float32(in_scale) / np.float32(out_scale)))
    return Int8Params(in_zp, out_zp, multiplier, shift,
                      *activation_range(lo, hi, out_scale, out_zp))


def clamp_int8(x: np.ndarray, p: Int8Params) -> np.ndarray:
    value = x.astype(np.int64) - p.input_zero_point
    out = p.output_zero_point + multiply_by_quantized_multiplier(value, p.multiplier, p.shift)
    return np.clip(out, p.act_min, p.act_max).astype(np.int8)


class _Clamp(Op):
    """Shared evaluate/lower; subclasses give the float bounds and the int8 params."""

    elementwise = True

    def bounds(self, node: Node) -> tuple[float, float]:
        raise NotImplementedError

    def prepare_int8(self, node: Node, graph: Graph) -> Int8Params:
        return _requantizing(node, graph, *self.bounds(node))

    def evaluate(self, node, graph, inputs):
        dtype = io_dtype(node, graph)
        if dtype == "float32":
            return [clamp_float(inputs[0], self.bounds(node))]
        if dtype == "int8":
            return [clamp_int8(inputs[0], self.prepare_int8(node, graph))]
        raise unsupported_dtype(node, graph, dtype)

    def lower(self, node, graph):
        dtype = io_dtype(node, graph)
        size = ("size", graph.tensor(node.inputs[0]).size)
        args = (Arg("params"), *tensor_args(node.inputs[0], node.outputs[0]))
        if dtype == "float32":
            lo, hi = float_bounds(self.bounds(node))
            return KernelCall(kernel="tm_clamp_generic_f32", sources=("tm_clamp_generic_f32.c",),
                              args=args, params_type="tm_clamp_f32_params",
                              params=(size, ("lo", lo), ("hi", hi)))
        if dtype == "int8":
            p = self.prepare_int8(node, graph)
            return KernelCall(kernel="tm_clamp_generic_s8", sources=("tm_clamp_generic_s8.c",),
                              args=args, params_type="tm_clamp_s8_params",
                              params=(size, ("input_zero_point", p.input_zero_point),
                                      ("output_zero_point", p.output_zero_point),
                                      ("multiplier", p.multiplier), ("shift", p.shift),
                                      ("act_min", p.act_min), ("act_max", p.act_max)))
        raise unsupported_dtype(node, graph, dtype)


@register
class Relu(_Clamp):
    name = "Relu"

    def bounds(self, node):
        return (0.0, math.inf)


@register
class Relu6(_Clamp):
    name = "Relu6"
    keeps_input_quant = True

    def bounds(self, node):
        return (0.0, 6.0)

    def prepare_int8(self, node, graph):
        # TFLM's Relu6Prepare: FloatToQuantizedType(6) in the input quantization, no rescale
        in_scale, in_zp = per_tensor(graph.tensor(node.inputs[0]))
        return Int8Params(in_zp, in_zp, *IDENTITY, *activation_range(0.0, 6.0, in_scale, in_zp))


@register
class Clip(_Clamp):
    name = "Clip"

    def check(self, node, graph):
        super().check(node, graph)
        lo, hi = self.bounds(node)
        NodeCheck(node, graph).require(not (math.isnan(lo) or math.isnan(hi)),
                                       f"clip bounds ({lo}, {hi}) are not numbers")

    def bounds(self, node):
        attrs = node.attrs or ClipAttrs()
        return (attrs.lo, attrs.hi)

