"""Conv2D on ternary weights, one group, any kernel, stride, dilation and padding, on cores
with the DSP extension: each output pixel's window as an offset-binary column (im2col), then
the USADA8 GEMM of codegen/kernels/tm_gemm_s8t2.h; padding taps hold the input zero point."""

from __future__ import annotations

from ..ops.base import Arg, tensor_args
from ..ops.conv2d import conv2d_params, prepare_int8
from ..targets.cores import DSP
from .gemm_s8t2 import gemm_call, layer_gemm
from .registry import variant


def _int8(node, graph):
    return prepare_int8(node, graph, graph.tensor(node.inputs[1]).shape[0])


def _applies(node, graph) -> bool:
    return node.attrs.groups == 1 and layer_gemm(node, graph, _int8(node, graph)) is not None


def scratch_bytes(node, graph) -> int:
    """Four offset-binary columns and one int8 window of whole groups (its C
    get_buffer_size)."""
    _, kh, kw, in_c = graph.tensor(node.inputs[1]).shape
    groups = -(-(kh * kw * in_c) // 4)
    return 4 * groups * 4 + 4 * groups


@variant(op="Conv2D", act="int8", weights="ternary", features=(DSP,), condition=_applies,
         reason="one group, DSP, ternary: im2col + USADA8 GEMM 4 pixels x 1 channel",
         scratch=scratch_bytes, priority=15)
def tm_conv2d_im2col_dsp_s8t2(node, graph):
    p = _int8(node, graph)
    gemm = layer_gemm(node, graph, p)
    return gemm_call("tm_conv2d_im2col_dsp_s8t2",
                     (Arg("params"), tensor_args(node.inputs[0])[0], *gemm.args(),
                      *tensor_args(node.outputs[0]), Arg("scratch")),
                     "tm_conv2d_s8_params", conv2d_params(node, graph, p), gemm.consts())
