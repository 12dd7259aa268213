"""DepthwiseConv2D int8, any kernel, stride, dilation and depth multiplier, on cores with the
DSP extension: int16 planes of four channels, SMLAD on pairs of taps where dilation_w is 1
(codegen/kernels/tm_depthwise_conv2d_dsp_s8.c)."""

from __future__ import annotations

from ..targets.cores import DSP
from . import depthwise_dsp
from .registry import variant

KERNEL = "tm_depthwise_conv2d_dsp_s8"


def _applies(node, graph) -> bool:
    return depthwise_dsp.output_stage_fits(node, graph)


def _pairs(g: dict[str, int]) -> int:
    """The weight pairs of the dilation_w 1 path."""
    return 4 * g["kernel_h"] * ((g["kernel_w"] + 1) // 2) if g["dilation_w"] == 1 else 0


def scratch_bytes(node, graph) -> int:
    """The shared planes and accumulators, plus the weight pairs of the dilation_w 1 path."""
    g = depthwise_dsp.geometry(node, graph)
    return depthwise_dsp.buffer_size(g, depthwise_dsp.band_rows(g), _pairs(g))


def region_scratch(params: dict) -> int:
    g = {name.split(".", 1)[1]: v for name, v in params.items() if name.startswith("geometry.")}
    return depthwise_dsp.region_buffer_size(params, _pairs(g))


@variant(op="DepthwiseConv2D", act="int8", weights="int8", features=(DSP,), condition=_applies,
         reason="DSP: int16 planes, SMLAD on tap pairs", scratch=scratch_bytes, priority=20,
         region_scratch=region_scratch)
def tm_depthwise_conv2d_dsp_s8(node, graph):
    return depthwise_dsp.lower(KERNEL, node, graph)
