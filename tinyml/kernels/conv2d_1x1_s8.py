"""Conv2D int8, pointwise: a GEMM over the pixels with the input offset folded into one
constant per output channel (bias + input_offset * sum(weights)), so the inner loop is
sum(x * w) alone."""

from __future__ import annotations

from ..ops.base import Arg, ConstArray, tensor_args
from ..ops.conv2d import (conv2d_params, input_offset_terms, int8_consts, is_pointwise,
                          kernel_call, prepare_int8)
from .registry import variant


def _int8(node, graph):
    return prepare_int8(node, graph, graph.tensor(node.inputs[1]).shape[0])


def _offset_terms(node, graph):
    return input_offset_terms(node, graph, _int8(node, graph))


def _applies(node, graph) -> bool:
    return is_pointwise(node, graph) and _offset_terms(node, graph) is not None


@variant(op="Conv2D", act="int8", weights="int8", condition=_applies,
         reason="pointwise, offset terms fit int32", priority=10)
def tm_conv2d_1x1_s8(node, graph):
    p = _int8(node, graph)
    return kernel_call("tm_conv2d_1x1_s8",
                       (Arg("params"), *tensor_args(*node.inputs[:2]), Arg("const", "offset_terms"),
                        Arg("const", "multiplier"), Arg("const", "shift"),
                        *tensor_args(node.outputs[0])),
                       "tm_conv2d_s8_params", conv2d_params(node, graph, p),
                       (ConstArray("offset_terms", "int32_t", _offset_terms(node, graph)),
                        *int8_consts(p)))
