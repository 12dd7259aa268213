"""FullyConnected float32 on a core with an FPU: blocks of 4 rows x 4 outputs held in FPU
registers (one row x 4 outputs for a batch of one), weights packed by 4 at compile time; each
output's sum keeps the portable kernel's order, so results are bit-identical to it."""

from __future__ import annotations

from ..ops.base import Arg, KernelCall, float_bounds, tensor_args
from ..ops.conv2d import bias_arg
from ..targets.cores import FPU
from .fpu_f32 import packed_weights
from .registry import variant


@variant(op="FullyConnected", act="float32", weights="float32", features=(FPU,),
         reason="FPU: 4x4 register blocks", priority=5)
def tm_fully_connected_blocked_f32(node, graph):
    x, w = (graph.tensor(n) for n in node.inputs[:2])
    n_out, n_in = w.shape
    lo, hi = float_bounds(node.attrs.act)
    return KernelCall(
        kernel="tm_fully_connected_blocked_f32", sources=("tm_fully_connected_blocked_f32.c",),
        args=(Arg("params"), *tensor_args(node.inputs[0]), Arg("const", "packed_weights"),
              *bias_arg(node), *tensor_args(node.outputs[0])),
        params_type="tm_fully_connected_f32_params",
        params=(("batches", x.size // n_in), ("in_features", n_in), ("out_features", n_out),
                ("act_min", lo), ("act_max", hi)),
        consts=(packed_weights(w.data),))
