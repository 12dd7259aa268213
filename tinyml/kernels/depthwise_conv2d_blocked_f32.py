"""DepthwiseConv2D float32, depth multiplier 1, on a core with an FPU: blocks of 4 channels x
4 pixels of a row held in FPU registers, weights as the portable kernel reads them; each
output's sum keeps the portable kernel's order (kernel row, column), so results are
bit-identical to it."""

from __future__ import annotations

from ..ops.base import Arg, float_bounds, tensor_args
from ..ops.conv2d import bias_arg, geometry_params, kernel_call
from ..targets.cores import FPU
from .registry import variant


def _multiplier_1(node, graph) -> bool:
    return node.attrs.depth_multiplier == 1


@variant(op="DepthwiseConv2D", act="float32", weights="float32", features=(FPU,),
         condition=_multiplier_1, reason="depth multiplier 1, FPU: 4x4 register blocks",
         priority=5)
def tm_depthwise_conv2d_blocked_f32(node, graph):
    lo, hi = float_bounds(node.attrs.act)
    w = graph.tensor(node.inputs[1])
    return kernel_call("tm_depthwise_conv2d_blocked_f32",
                       (Arg("params"), *tensor_args(*node.inputs[:2]), *bias_arg(node),
                        *tensor_args(node.outputs[0])),
                       "tm_depthwise_conv2d_f32_params",
                       (*geometry_params(node, graph, w.shape[1:3]), ("depth_multiplier", 1),
                        ("act_min", lo), ("act_max", hi)))
