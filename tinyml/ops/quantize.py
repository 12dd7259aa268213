"""Quantize (TFLite QUANTIZE, ONNX QuantizeLinear): float32 -> int8, or int8 -> int8 with
new parameters (requantization).

float32 -> int8 is TFLM's AffineQuantize: round(x / scale) half away from zero, in float32,
plus the zero point, saturated. int8 -> int8 is TFLM's Requantize: (x - input zero point)
times a Q31 multiplier of in_scale / out_scale, plus the output zero point, saturated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..numerics import multiply_by_quantized_multiplier, quantize, quantize_multiplier
from .base import Arg, KernelCall, Op, per_tensor, register, tensor_args, unsupported_dtype
from .checks import NodeCheck
from .binary import struct_fields


@dataclass(frozen=True)
class RequantizeParams:
    input_offset: int
    multiplier: int
    shift: int
    output_offset: int


def prepare_requantize(node, graph) -> RequantizeParams:
    in_scale, in_zp = per_tensor(graph.tensor(node.inputs[0]))
    out_scale, out_zp = per_tensor(graph.tensor(node.outputs[0]))
    multiplier, shift = quantize_multiplier(in_scale / out_scale)
    return RequantizeParams(-in_zp, multiplier, shift, out_zp)


def _dtypes(node, graph) -> tuple[str, str]:
    return graph.tensor(node.inputs[0]).dtype, graph.tensor(node.outputs[0]).dtype


@register
class Quantize(Op):
    name = "Quantize"
    elementwise = True

    def check(self, node, graph):
        c = NodeCheck(node, graph)
        x, y = c.input(0), c.output()
        c.same_shape(x, y)
        c.require((x.dtype, y.dtype) in (("float32", "int8"), ("int8", "int8")),
                  f"quantizing {x.dtype} to {y.dtype} is not supported")

    def evaluate(self, node, graph, inputs):
        dtypes = _dtypes(node, graph)
        if dtypes == ("float32", "int8"):
            scale, zero_point = per_tensor(graph.tensor(node.outputs[0]))
            return [quantize(inputs[0], scale, zero_point)]
        if dtypes == ("int8", "int8"):
            p = prepare_requantize(node, graph)
            x = inputs[0].astype(np.int64) + p.input_offset
            out = multiply_by_quantized_multiplier(x, p.multiplier, p.shift) + p.output_offset
            return [np.clip(out, -128, 127).astype(np.int8)]
        raise unsupported_dtype(node, graph, "->".join(dtypes))

    def lower(self, node, graph):
        dtypes = _dtypes(node, graph)
        size = graph.tensor(node.inputs[0]).size
        if dtypes == ("float32", "int8"):
            scale, zero_point = per_tensor(graph.tensor(node.outputs[0]))
            kernel, params_type = "tm_quantize_f32_s8", "tm_quantize_f32_s8_params"
            fields = (("zero_point", zero_point), ("scale", scale))
        elif dtypes == ("int8", "int8"):
            kernel, params_type = "tm_requantize_s8", "tm_requantize_s8_params"
            fields = struct_fields(prepare_requantize(node, graph))
        else:
            raise unsupported_dtype(node, graph, "->".join(dtypes))
        return KernelCall(kernel=kernel, sources=(kernel + ".c",),
                          args=(Arg("params"), *tensor_args(node.inputs[0], node.outputs[0])),
                          params_type=params_type, params=(("size", size), *fields))
