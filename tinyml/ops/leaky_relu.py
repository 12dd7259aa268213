"""LeakyRelu: y = x if x > 0 else alpha * x (TFLite LEAKY_RELU, ONNX LeakyRelu).

int8 follows TFLite Micro: input - zero point is requantized to the output by an identity
multiplier (in_scale / out_scale) where it is >= 0 and by an alpha multiplier
(in_scale * alpha / out_scale, both in float32) where it is negative; a negative alpha is
applied as |alpha| and a negated result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import Graph, Node
from ..numerics import multiply_by_quantized_multiplier, quantize_multiplier
from .base import (Arg, KernelCall, Op, dtype_suffix, io_dtype, per_tensor, register,
                   tensor_args, unsupported_dtype)
from .checks import NodeCheck


@dataclass(frozen=True)
class LeakyReluAttrs:
    alpha: float = 0.01


@dataclass(frozen=True)
class Int8Params:
    input_zero_point: int
    output_zero_point: int
    multiplier_identity: int
    shift_identity: int
    multiplier_alpha: int
    shift_alpha: int
    alpha_negative: bool


def prepare_int8(node: Node, graph: Graph) -> Int8Params:
    in_scale, in_zp = per_tensor(graph.tensor(node.inputs[0]))
    out_scale, out_zp = per_tensor(graph.tensor(node.outputs[0]))
    # TFLM computes both ratios in float32
    in_scale, out_scale = np.float32(in_scale), np.float32(out_scale)
    alpha_real = float(in_scale * np.float32(node.attrs.alpha) / out_scale)
    identity = quantize_multiplier(float(in_scale / out_scale))
    return Int8Params(in_zp, out_zp, *identity, *quantize_multiplier(abs(alpha_real)),
                      alpha_real < 0)


def leaky_relu_int8(x: np.ndarray, p: Int8Params) -> np.ndarray:
    value = x.astype(np.int64) - p.input_zero_point
    identity = multiply_by_quantized_multiplier(value, p.multiplier_identity, p.shift_identity)
    scaled_alpha = multiply_by_quantized_multiplier(value, p.multiplier_alpha, p.shift_alpha)
    negative_part = -scaled_alpha if p.alpha_negative else scaled_alpha
    out = p.output_zero_point + np.where(value >= 0, identity, negative_part)
    return np.clip(out, -128, 127).astype(np.int8)


@register
class LeakyRelu(Op):
    name = "LeakyRelu"
    elementwise = True

    def check(self, node, graph):
        super().check(node, graph)
        alpha = node.attrs.alpha
        NodeCheck(node, graph).require(np.isfinite(np.float32(alpha)),
                                       f"alpha {alpha} is not a finite float32")

    def evaluate(self, node, graph, inputs):
        dtype = io_dtype(node, graph)
        if dtype == "float32":
            x = inputs[0].astype(np.float32)
            return [np.where(x > 0, x, x * np.float32(node.attrs.alpha)).astype(np.float32)]
        if dtype == "int8":
            return [leaky_relu_int8(inputs[0], prepare_int8(node, graph))]
        raise unsupported_dtype(node, graph, dtype)

    def lower(self, node, graph):
        dtype = io_dtype(node, graph)
        kernel = f"tm_leaky_relu_generic_{dtype_suffix(dtype)}"
        size = ("size", graph.tensor(node.inputs[0]).size)
        args = (Arg("params"), *tensor_args(node.inputs[0], node.outputs[0]))
        if dtype == "float32":
            return KernelCall(kernel=kernel, sources=(kernel + ".c",), args=args,
                              params_type="tm_leaky_relu_f32_params",
                              params=(size, ("alpha", float(np.float32(node.attrs.alpha)))))
        if dtype == "int8":
            p = prepare_int8(node, graph)
            return KernelCall(kernel=kernel, sources=(kernel + ".c",), args=args,
                              params_type="tm_leaky_relu_s8_params",
                              params=(size, ("input_zero_point", p.input_zero_point),
                                      ("output_zero_point", p.output_zero_point),
                                      ("multiplier_identity", p.multiplier_identity),
                                      ("shift_identity", p.shift_identity),
                                      ("multiplier_alpha", p.multiplier_alpha),
                                      ("shift_alpha", p.shift_alpha),
                                      ("alpha_negative", int(p.alpha_negative))))
        raise unsupported_dtype(node, graph, dtype)
