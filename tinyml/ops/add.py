"""Add: x1 + x2 with numpy broadcasting and a fused clamp (TFLite ADD, ONNX Add).

int8 is TFLM's: each input, offset and shifted left by 20 bits, is rescaled to twice the
larger input scale, the two are added and the sum is rescaled to the output; every
rescaling is a Q31 multiplier with a non-positive shift, computed in double. Sub shares
these constants (computed in float there, as TFLM does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..numerics import activation_range, multiply_by_quantized_multiplier, quantize_multiplier
from .base import per_tensor, register
from .binary import BinaryOp

LEFT_SHIFT = 20


@dataclass(frozen=True)
class AddInt8Params:
    left_shift: int
    input1_offset: int
    input1_multiplier: int
    input1_shift: int
    input2_offset: int
    input2_multiplier: int
    input2_shift: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int


def add_sub_params(node, graph, real_multipliers) -> AddInt8Params:
    """The int8 constants given the three real multipliers (input1, input2, output)."""
    (_, zp1), (_, zp2) = (per_tensor(graph.tensor(n)) for n in node.inputs[:2])
    out_scale, out_zp = per_tensor(graph.tensor(node.outputs[0]))
    (m1, s1), (m2, s2), (mo, so) = (quantize_multiplier(r) for r in real_multipliers)
    act_min, act_max = activation_range(*node.attrs.act, out_scale, out_zp)
    return AddInt8Params(LEFT_SHIFT, -zp1, m1, s1, -zp2, m2, s2, out_zp, mo, so,
                         act_min, act_max)


def rescaled_inputs(p: AddInt8Params, a: np.ndarray, b: np.ndarray):
    """Both inputs at the common scale (int64 arrays, values of int32)."""
    a = multiply_by_quantized_multiplier((a + p.input1_offset) << p.left_shift,
                                         p.input1_multiplier, p.input1_shift)
    b = multiply_by_quantized_multiplier((b + p.input2_offset) << p.left_shift,
                                         p.input2_multiplier, p.input2_shift)
    return a, b


def rescaled_output(p: AddInt8Params, raw: np.ndarray) -> np.ndarray:
    out = multiply_by_quantized_multiplier(raw, p.output_multiplier, p.output_shift)
    return np.clip(out + p.output_offset, p.act_min, p.act_max)


@register
class Add(BinaryOp):
    name = "Add"
    kernel_op = "add"
    float_fn = np.add
    int8_params_type = "tm_add_s8_params"

    def prepare_int8(self, node, graph):
        (s1, _), (s2, _) = (per_tensor(graph.tensor(n)) for n in node.inputs[:2])
        out_scale, _ = per_tensor(graph.tensor(node.outputs[0]))
        twice_max = 2.0 * max(s1, s2)
        return add_sub_params(node, graph, (s1 / twice_max, s2 / twice_max,
                                            twice_max / ((1 << LEFT_SHIFT) * out_scale)))

    def evaluate_int8(self, p, a, b):
        a, b = rescaled_inputs(p, a, b)
        return rescaled_output(p, a + b)
