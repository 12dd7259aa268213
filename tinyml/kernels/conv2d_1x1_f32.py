"""Conv2D float32, pointwise, on a core with an FPU: a GEMM over the pixels in blocks of 4
pixels x 4 output channels held in FPU registers, weights packed by 4 at compile time; each
output's sum keeps the portable kernel's order, so results are bit-identical to it."""

from __future__ import annotations

from ..ops.base import Arg, float_bounds, tensor_args
from ..ops.conv2d import bias_arg, conv2d_geometry, is_pointwise, kernel_call
from ..targets.cores import FPU
from .fpu_f32 import packed_weights
from .registry import variant


@variant(op="Conv2D", act="float32", weights="float32", features=(FPU,), condition=is_pointwise,
         reason="pointwise, FPU: 4x4 register blocks", priority=10)
def tm_conv2d_1x1_f32(node, graph):
    lo, hi = float_bounds(node.attrs.act)
    return kernel_call("tm_conv2d_1x1_f32",
                       (Arg("params"), *tensor_args(node.inputs[0]), Arg("const", "packed_weights"),
                        *bias_arg(node), *tensor_args(node.outputs[0])),
                       "tm_conv2d_f32_params",
                       (*conv2d_geometry(node, graph), ("act_min", lo), ("act_max", hi)),
                       (packed_weights(graph.tensor(node.inputs[1]).data),))
