"""Softmax over the last axis: y = exp(beta * (x - max)) / sum (TFLite SOFTMAX, ONNX Softmax).

int8 follows TFLite Micro's reference kernel: input differences to the row maximum are scaled
to Q5.26 by a multiplier > 1, exponentiated in fixed point (gemmlowp exp_on_negative_values),
summed in Q12.19, and divided through GetReciprocal. Differences below `diff_min` contribute
nothing. The output is fixed at scale 1/256, zero point -128.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import UnsupportedError
from ..ir import Graph, Node
from ..numerics import (wrap_int32, multiply_by_quantized_multiplier, quantize_multiplier,
                        rounding_divide_by_pot)
from . import fixedpoint as fx
from .base import (Arg, KernelCall, Op, dtype_suffix, io_dtype, per_tensor, register,
                   tensor_args, unsupported_dtype)
from .checks import NodeCheck

OUTPUT_QUANT = (1.0 / 256.0, -128)
SCALED_DIFF_INTEGER_BITS = 5
ACCUMULATION_INTEGER_BITS = 12


@dataclass(frozen=True)
class SoftmaxAttrs:
    beta: float = 1.0


@dataclass(frozen=True)
class Int8Params:
    input_multiplier: int
    input_left_shift: int
    diff_min: int


def prepare_int8(node: Node, graph: Graph) -> Int8Params:
    in_scale, _ = per_tensor(graph.tensor(node.inputs[0]))
    if per_tensor(graph.tensor(node.outputs[0])) != OUTPUT_QUANT:
        raise UnsupportedError("int8 Softmax needs output scale 1/256 and zero point -128",
                               model=graph.source, node=node.name, op=node.op)
    # TFLite's PreprocessSoftmaxScaling: beta * scale in Q5.26, capped to the int32 range
    beta = float(np.float32(node.attrs.beta))
    real = min(beta * in_scale * (1 << (31 - SCALED_DIFF_INTEGER_BITS)), (1 << 31) - 1.0)
    multiplier, left_shift = quantize_multiplier(real)
    if real <= 1.0 or left_shift < 0:
        raise UnsupportedError(f"Softmax beta * input scale = {beta * in_scale:g} is too small",
                               model=graph.source, node=node.name, op=node.op)
    # CalculateInputRadius: the largest difference whose rescaled value still fits Q5.26
    radius = math.floor(((1 << SCALED_DIFF_INTEGER_BITS) - 1)
                        * (1 << (31 - SCALED_DIFF_INTEGER_BITS)) / (1 << left_shift))
    return Int8Params(multiplier, left_shift, -radius)


def softmax_int8(x: np.ndarray, p: Int8Params) -> np.ndarray:
    """Rows along the last axis, as TFLite's reference_ops::Softmax<int8_t, int8_t>."""
    diff = x.astype(np.int64) - x.max(axis=-1, keepdims=True)
    used = diff >= p.diff_min
    # MultiplyByQuantizedMultiplierGreaterThanOne: no rounding shift after the high mul
    rescaled = multiply_by_quantized_multiplier(np.where(used, diff, 0), p.input_multiplier,
                                                p.input_left_shift)
    exp_q0 = fx.exp_on_negative_values(rescaled, SCALED_DIFF_INTEGER_BITS)
    contribution = fx.rescale(exp_q0, 0, ACCUMULATION_INTEGER_BITS)
    sum_of_exps = wrap_int32(np.where(used, contribution, 0).sum(axis=-1, keepdims=True))
    scale, num_bits_over_unit = fx.reciprocal(sum_of_exps, ACCUMULATION_INTEGER_BITS)
    exponent = num_bits_over_unit + 31 - 8
    # TFLM aborts once a row's sum of exps reaches 512 (exponent > 31): every probability is
    # then below 1/512
    row_underflows = exponent > 31
    out = rounding_divide_by_pot(fx.fx_mul(scale, exp_q0), exponent) - 128
    return np.where(used & ~row_underflows, np.clip(out, -128, 127), -128).astype(np.int8)


def softmax_float(x: np.ndarray, beta: float) -> np.ndarray:
    x = x.astype(np.float32)
    e = np.exp((x - x.max(axis=-1, keepdims=True)) * np.float32(beta))
    return (e / e.sum(axis=-1, keepdims=True, dtype=np.float32)).astype(np.float32)


@register
class Softmax(Op):
    name = "Softmax"
    fixed_output_quant = OUTPUT_QUANT

    def check(self, node, graph):
        super().check(node, graph)
        beta = node.attrs.beta
        NodeCheck(node, graph).require(np.isfinite(np.float32(beta)) and beta > 0,
                                       f"beta {beta} is not a positive finite float32")

    def macs(self, node, graph):
        return graph.tensor(node.inputs[0]).size

    def evaluate(self, node, graph, inputs):
        dtype = io_dtype(node, graph)
        if dtype == "float32":
            return [softmax_float(inputs[0], node.attrs.beta)]
        if dtype == "int8":
            return [softmax_int8(inputs[0], prepare_int8(node, graph))]
        raise unsupported_dtype(node, graph, dtype)

    def lower(self, node, graph):
        x = graph.tensor(node.inputs[0])
        dtype = io_dtype(node, graph)
        depth = x.shape[-1] if x.shape else 1
        shape = (("outer", x.size // depth), ("depth", depth))
        kernel = f"tm_softmax_generic_{dtype_suffix(dtype)}"
        args = (Arg("params"), *tensor_args(node.inputs[0], node.outputs[0]))
        if dtype == "float32":
            return KernelCall(kernel=kernel, sources=(kernel + ".c",), args=args,
                              params_type="tm_softmax_f32_params",
                              params=(*shape, ("beta", float(np.float32(node.attrs.beta)))))
        if dtype == "int8":
            p = prepare_int8(node, graph)
            return KernelCall(kernel=kernel, sources=(kernel + ".c",),
                              args=args, params_type="tm_softmax_s8_params",
                              params=(*shape, ("input_multiplier", p.input_multiplier),
                                      ("input_left_shift", p.input_left_shift),
                                      ("diff_min", p.diff_min)))
        raise unsupported_dtype(node, graph, dtype)
