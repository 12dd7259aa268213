"""Mul: x1 * x2 with numpy broadcasting and a fused clamp (TFLite MUL, ONNX Mul).

int8 is TFLM's: the product of the offset inputs, requantized by in1_scale * in2_scale /
out_scale (a Q31 multiplier and shift, computed in double).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..numerics import activation_range, multiply_by_quantized_multiplier, quantize_multiplier
from .base import per_tensor, register
from .binary import BinaryOp


@dataclass(frozen=True)
class MulInt8Params:
    input1_offset: int
    input2_offset: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int


@register
class Mul(BinaryOp):
    name = "Mul"
    kernel_op = "mul"
    float_fn = np.multiply
    int8_params_type = "tm_mul_s8_params"

    def prepare_int8(self, node, graph):
        (s1, zp1), (s2, zp2) = (per_tensor(graph.tensor(n)) for n in node.inputs[:2])
        out_scale, out_zp = per_tensor(graph.tensor(node.outputs[0]))
        multiplier, shift = quantize_multiplier(s1 * s2 / out_scale)
        act_min, act_max = activation_range(*node.attrs.act, out_scale, out_zp)
        return MulInt8Params(-zp1, -zp2, out_zp, multiplier, shift, act_min, act_max)

    def evaluate_int8(self, p, a, b):
        product = (a + p.input1_offset) * (b + p.input2_offset)
        out = multiply_by_quantized_multiplier(product, p.output_multiplier, p.output_shift)
        return np.clip(out + p.output_offset, p.act_min, p.act_max)
