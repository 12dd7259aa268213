"""DepthwiseConv2D int8, 3x3, dilation 1, stride_w 1 or 2, on cores with the DSP extension:
int16 planes of four channels, two outputs per step with SMLAD (codegen/kernels/
tm_depthwise_conv2d_3x3_dsp_s8.c)."""

from __future__ import annotations

from ..targets.cores import DSP
from . import depthwise_dsp
from .registry import variant

KERNEL = "tm_depthwise_conv2d_3x3_dsp_s8"


def applies(node, graph) -> bool:
    a = node.attrs
    return (graph.tensor(node.inputs[1]).shape[1:3] == (3, 3) and a.dilations == (1, 1)
            and a.strides[1] in (1, 2) and depthwise_dsp.output_stage_fits(node, graph))


def scratch_bytes(node, graph) -> int:
    g = depthwise_dsp.geometry(node, graph)
    return depthwise_dsp.buffer_size(g, depthwise_dsp.band_rows(g))


@variant(op="DepthwiseConv2D", act="int8", weights="int8", features=(DSP,), condition=applies,
         reason="3x3, DSP: int16 planes, SMLAD 2 outputs per step", scratch=scratch_bytes,
         priority=30, region_scratch=depthwise_dsp.region_buffer_size)
def tm_depthwise_conv2d_3x3_dsp_s8(node, graph):
    return depthwise_dsp.lower(KERNEL, node, graph)
