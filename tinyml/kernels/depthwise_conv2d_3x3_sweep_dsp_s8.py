"""DepthwiseConv2D int8, 3x3, dilation 1, multiplier 1, stride 1 or 2 each way, taller than
wide, on cores with the DSP extension: int16 planes stored column by column and swept down
the columns, two output rows per step (codegen/kernels/tm_depthwise_conv2d_3x3_sweep_dsp_s8.c);
the output stage of tm_gemm_s8.h."""

from __future__ import annotations

from dataclasses import replace

from ..ops.base import Arg, tensor_args
from ..ops.conv2d import geometry_params, int8_fields, kernel_call, prepare_int8
from ..targets.cores import DSP
from .gemm_s8 import gemm_output
from .output_stage import node_bias
from .registry import variant

GROUP = 4        # channels converted to planes together (TM_SWEEP_GROUP)
BUDGET = 4096    # scratch bytes a band of output columns aims at (TM_SWEEP_BUDGET)


def _rows(node, graph):
    """The weights [1, 3, 3, C] as one row of 9 per channel."""
    w = graph.tensor(node.inputs[1]).data
    return w.reshape(9, w.shape[3]).T


def _output(node, graph):
    p = prepare_int8(node, graph, graph.tensor(node.inputs[1]).shape[3])
    return p, gemm_output(_rows(node, graph), node_bias(node, graph), 0, p.multiplier, p.shift)


def _applies(node, graph) -> bool:
    """Taller than wide: the columns are the long runs (a keyword spotter's 25x5); square and
    wide inputs go to the row-wise kernel (depthwise_conv2d_3x3_dsp_s8), faster there."""
    a = node.attrs
    x, w = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1])
    _, out_h, out_w, _ = graph.tensor(node.outputs[0]).shape
    return (w.shape[1:3] == (3, 3) and a.dilations == (1, 1) and a.depth_multiplier == 1
            and x.shape[3] == w.shape[3] and set(a.strides) <= {1, 2} and out_h > out_w
            and _output(node, graph)[1] is not None)


def _plane_rows(out_h: int, stride_h: int) -> int:
    rows = (out_h - 1) * stride_h + 3
    return rows + rows % 2


def _band(out_h: int, out_w: int, stride_h: int, stride_w: int) -> int:
    in_cols = BUDGET // (GROUP * _plane_rows(out_h, stride_h) * 2)
    band = (in_cols - 3) // stride_w + 1 if in_cols >= 3 else 1
    return min(band, out_w)


def scratch_bytes(node, graph) -> int:
    """GROUP planes of the band's input columns (its C get_buffer_size)."""
    _, out_h, out_w, _ = graph.tensor(node.outputs[0]).shape
    sh, sw = node.attrs.strides
    in_cols = (_band(out_h, out_w, sh, sw) - 1) * sw + 3
    return GROUP * in_cols * _plane_rows(out_h, sh) * 2


@variant(op="DepthwiseConv2D", act="int8", weights="int8", features=(DSP,), condition=_applies,
         reason="3x3, taller than wide, DSP: column planes, 2 outputs per step", scratch=scratch_bytes,
         priority=40)
def tm_depthwise_conv2d_3x3_sweep_dsp_s8(node, graph):
    p, out = _output(node, graph)
    w = graph.tensor(node.inputs[1])
    params = (*geometry_params(node, graph, w.shape[1:3]), ("depth_multiplier", 1),
              *int8_fields(p))
    args = (Arg("params"), *tensor_args(node.inputs[0], node.inputs[1]), Arg("const", "offset_terms"),
            Arg("const", "multiplier"), Arg("const", "shift"), *tensor_args(node.outputs[0]),
            Arg("scratch"))
    call = kernel_call("tm_depthwise_conv2d_3x3_sweep_dsp_s8", args,
                       "tm_depthwise_conv2d_s8_params", params, out.consts())
    # With one band of columns each group of 4 channels is wholly in scratch before any of
    # its outputs is written, and an output only lands on its own channel's bytes: the
    # output may overwrite the input.
    _, out_h, out_w, _ = graph.tensor(node.outputs[0]).shape
    one_band = _band(out_h, out_w, *node.attrs.strides) == out_w
    return replace(call, in_place=(0,) if one_band else ())
