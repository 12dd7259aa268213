"""Dequantize (TFLite DEQUANTIZE, ONNX DequantizeLinear): int8 -> float32, (x - zero point) *
scale, rounded once to float32 as TFLM does.
"""

from __future__ import annotations

from ..errors import UnsupportedError
from ..numerics import dequantize
from .base import Arg, KernelCall, Op, per_tensor, register, tensor_args, unsupported_dtype
from .checks import NodeCheck


def _quant(node, graph) -> tuple[float, int]:
    """(scale, zero point) of the int8 input; float32 output."""
    x = graph.tensor(node.inputs[0])
    if x.dtype != "int8" or graph.tensor(node.outputs[0]).dtype != "float32":
        raise unsupported_dtype(node, graph, x.dtype)
    if x.quant.per_channel:
        raise UnsupportedError("per-channel dequantization is not supported",
                               model=graph.source, node=node.name, op=node.op)
    return per_tensor(x)


@register
class Dequantize(Op):
    name = "Dequantize"
    dtypes = ("int8",)

    def check(self, node, graph):
        c = NodeCheck(node, graph)
        x, y = c.input(0), c.output()
        c.same_shape(x, y)
        # int32 (QDQ biases) and per-channel int8 (QDQ weights) are valid here: the QDQ pass
        # folds them into the op that reads them; lowering refuses what remains
        c.require(x.dtype in ("int8", "int32") and x.quant is not None and y.dtype == "float32",
                  f"dequantizing {x.dtype} to {y.dtype} is not supported")

    def evaluate(self, node, graph, inputs):
        scale, zero_point = _quant(node, graph)
        return [dequantize(inputs[0], scale, zero_point)]

    def lower(self, node, graph):
        scale, zero_point = _quant(node, graph)
        return KernelCall(kernel="tm_dequantize_s8_f32", sources=("tm_dequantize_s8_f32.c",),
                          args=(Arg("params"), *tensor_args(node.inputs[0], node.outputs[0])),
                          params_type="tm_dequantize_s8_f32_params",
                          params=(("size", graph.tensor(node.inputs[0]).size),
                                  ("zero_point", zero_point), ("scale", scale)))
