"""Conv2D on ternary weights, 1x1 without padding (any stride), on cores with the DSP
extension: the USADA8 GEMM of codegen/kernels/tm_gemm_s8t2.h, four pixels per code byte, no
weight multiply; a strided layer reads its pixels in place, with no im2col window."""

from __future__ import annotations

from dataclasses import replace

from ..ops.base import Arg, tensor_args
from ..ops.conv2d import conv2d_params, prepare_int8
from ..targets.cores import DSP
from .gemm_s8t2 import gemm_call, layer_gemm
from .registry import variant


def _int8(node, graph):
    return prepare_int8(node, graph, graph.tensor(node.inputs[1]).shape[0])


def one_by_one(node, graph) -> bool:
    """1x1 kernel, no padding, one group: pointwise at any stride."""
    a = node.attrs
    return (graph.tensor(node.inputs[1]).shape[1:3] == (1, 1) and a.pads == (0, 0, 0, 0)
            and a.groups == 1)


def _applies(node, graph) -> bool:
    return one_by_one(node, graph) and layer_gemm(node, graph, _int8(node, graph)) is not None


def scratch_bytes(node, graph) -> int:
    """Four offset-binary columns of whole groups (tm_conv2d_1x1_dsp_s8t2_get_buffer_size)."""
    return 4 * -(-graph.tensor(node.inputs[0]).shape[3] // 4) * 4


@variant(op="Conv2D", act="int8", weights="ternary", features=(DSP,), condition=_applies,
         reason="1x1, DSP, ternary: USADA8 GEMM 4 pixels x 1 channel", scratch=scratch_bytes,
         priority=20)
def tm_conv2d_1x1_dsp_s8t2(node, graph):
    p = _int8(node, graph)
    gemm = layer_gemm(node, graph, p)
    call = gemm_call("tm_conv2d_1x1_dsp_s8t2",
                     (Arg("params"), tensor_args(node.inputs[0])[0], *gemm.args(),
                      *tensor_args(node.outputs[0]), Arg("scratch")),
                     "tm_conv2d_s8_params", conv2d_params(node, graph, p), gemm.consts())
    # a group of pixels is in the columns before its outputs land (tm_conv2d_1x1_dsp_s8);
    # with a stride the outputs would overtake the pixels still to read
    x, w = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1])
    fits = w.shape[0] <= x.shape[3] and node.attrs.strides == (1, 1)
    return replace(call, in_place=(0,) if fits else ())
