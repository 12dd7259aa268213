"""Logistic (sigmoid): y = 1 / (1 + exp(-x)) (TFLite LOGISTIC, ONNX Sigmoid).

int8 follows TFLite Micro: input - zero point is rescaled to Q4.27 by a multiplier taken
straight from frexp, inputs beyond the radius that Q4.27 can hold saturate, the rest go
through gemmlowp's fixed-point logistic. The output is fixed at scale 1/256, zero point -128.
The Q4.27 rescaling is shared with Tanh.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..ir import Graph, Node
from ..numerics import multiply_by_quantized_multiplier, quantize_multiplier, rounding_divide_by_pot
from . import fixedpoint as fx
from .base import (Arg, KernelCall, Op, dtype_suffix, io_dtype, per_tensor, register,
                   tensor_args, unsupported_dtype)

OUTPUT_QUANT = (1.0 / 256.0, -128)
INPUT_INTEGER_BITS = 4


@dataclass(frozen=True)
class Q4InputParams:
    """How an int8 input reaches Q4.27 (TFLM's logistic and tanh prepare)."""

    input_zero_point: int
    input_range_radius: int
    input_multiplier: int
    input_shift: int


def prepare_q4_input(node: Node, graph: Graph) -> Q4InputParams:
    scale, zero_point = per_tensor(graph.tensor(node.inputs[0]))
    # frexp of a float32 scale times 2^27 has at most 24 significant bits: the Q31
    # multiplier is exact, so quantize_multiplier gives TFLM's frexp-and-round result
    multiplier, shift = quantize_multiplier(scale * (1 << (31 - INPUT_INTEGER_BITS)))
    # CalculateInputRadius(4, shift, 31): inputs whose rescaled value would not fit Q4.27
    radius = math.floor(((1 << INPUT_INTEGER_BITS) - 1)
                        * (1 << (31 - INPUT_INTEGER_BITS)) / 2.0 ** shift)
    return Q4InputParams(zero_point, radius, multiplier, shift)


def q4_input_params(p: Q4InputParams) -> tuple[tuple[str, int], ...]:
    return (("input_zero_point", p.input_zero_point), ("input_range_radius", p.input_range_radius),
            ("input_multiplier", p.input_multiplier), ("input_shift", p.input_shift))


def saturating_q4(x: np.ndarray, p: Q4InputParams, q0_function, output_shift: int,
                  output_zero_point: int) -> np.ndarray:
    """q0_function of x in Q4.27, back to int8; inputs beyond the radius saturate."""
    value = x.astype(np.int64) - p.input_zero_point
    q4 = multiply_by_quantized_multiplier(value, p.input_multiplier, p.input_shift)
    out = rounding_divide_by_pot(q0_function(q4, INPUT_INTEGER_BITS), output_shift)
    out = np.clip(out + output_zero_point, -128, 127)
    out = np.where(value <= -p.input_range_radius, -128, out)
    return np.where(value >= p.input_range_radius, 127, out).astype(np.int8)


def logistic_float(x: np.ndarray) -> np.ndarray:
    """TFLM's float reference: exact 1 above 16.62, exp(x) below -9."""
    x = x.astype(np.float32)
    with np.errstate(over="ignore"):
        mid = np.float32(1) / (np.float32(1) + np.exp(-x))
    out = np.where(x > np.float32(16.619047164916992188), np.float32(1),
                   np.where(x < np.float32(-9), np.exp(x), mid))
    return out.astype(np.float32)


@register
class Logistic(Op):
    name = "Logistic"
    elementwise = True
    fixed_output_quant = OUTPUT_QUANT

    def evaluate(self, node, graph, inputs):
        dtype = io_dtype(node, graph)
        if dtype == "float32":
            return [logistic_float(inputs[0])]
        if dtype == "int8":
            # Q0 result to 1/256 steps: a right shift by 31 - 8, then the -128 zero point
            return [saturating_q4(inputs[0], prepare_q4_input(node, graph), fx.logistic, 23, -128)]
        raise unsupported_dtype(node, graph, dtype)

    def lower(self, node, graph):
        dtype = io_dtype(node, graph)
        kernel = f"tm_logistic_generic_{dtype_suffix(dtype)}"
        io = tensor_args(node.inputs[0], node.outputs[0])
        if dtype == "float32":
            size = graph.tensor(node.inputs[0]).size
            return KernelCall(kernel=kernel, sources=(kernel + ".c",),
                              args=(*io, Arg("int", value=size)))
        if dtype == "int8":
            p = prepare_q4_input(node, graph)
            return KernelCall(kernel=kernel, sources=(kernel + ".c",),
                              args=(Arg("params"), *io), params_type="tm_logistic_s8_params",
                              params=(("size", graph.tensor(node.inputs[0]).size),
                                      *q4_input_params(p)))
        raise unsupported_dtype(node, graph, dtype)
