"""Conv2D int8, pointwise, on cores with the DSP extension: the SMLAD GEMM of
codegen/kernels/tm_gemm_s8.h, four pixels per weight word."""

from __future__ import annotations

from dataclasses import replace

from ..ops.base import Arg, ConstArray, tensor_args
from ..ops.conv2d import conv2d_params, is_pointwise, prepare_int8
from ..targets.cores import DSP
from .gemm_s8 import conv_rows, depth4, gemm_call, layer_output, pack_weights
from .registry import variant


def _int8(node, graph):
    return prepare_int8(node, graph, graph.tensor(node.inputs[1]).shape[0])


def _applies(node, graph) -> bool:
    if not is_pointwise(node, graph):
        return False
    return layer_output(node, graph, conv_rows(node, graph), _int8(node, graph)) is not None


def scratch_bytes(node, graph) -> int:
    """Four int16 columns of depth4 (tm_conv2d_1x1_dsp_s8_get_buffer_size)."""
    return 4 * depth4(graph.tensor(node.inputs[0]).shape[3]) * 2


@variant(op="Conv2D", act="int8", weights="int8", features=(DSP,), condition=_applies,
         reason="pointwise, DSP: SMLAD GEMM 4 pixels x 1 channel", scratch=scratch_bytes,
         priority=20)
def tm_conv2d_1x1_dsp_s8(node, graph):
    p = _int8(node, graph)
    rows = conv_rows(node, graph)
    out = layer_output(node, graph, rows, p)
    call = gemm_call("tm_conv2d_1x1_dsp_s8",
                       (Arg("params"), tensor_args(node.inputs[0])[0], Arg("const", "weights"),
                        Arg("const", "offset_terms"), Arg("const", "multiplier"),
                        Arg("const", "shift"), *tensor_args(node.outputs[0]), Arg("scratch")),
                       "tm_conv2d_s8_params", conv2d_params(node, graph, p),
                       (ConstArray("weights", "int8_t", pack_weights(rows)), *out.consts()))
    # a group of pixels is in the columns before its outputs land: with no more output
    # channels than input ones, the outputs may go over the input's bytes
    x, w = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1])
    return replace(call, in_place=(0,) if w.shape[0] <= x.shape[3] else ())
