"""AveragePool2D and MaxPool2D int8 on cores with SIMD32: four channels per word load
(codegen/kernels/tm_avgpool2d_dsp_s8.c, tm_maxpool2d_dsp_s8.c), the channels past the last
multiple of 4 one by one. The average sums in 16-bit lanes, so its window holds at most 256
cells (|sum| <= 256 * 128 = 2^15)."""

from __future__ import annotations

from ..ops.pool2d import lower_pool
from ..targets.cores import DSP
from .registry import variant

LANE_CELLS = 256


def _channels_by_word(node, graph) -> bool:
    return graph.tensor(node.inputs[0]).shape[3] >= 4


def _avg_applies(node, graph) -> bool:
    kh, kw = node.attrs.kernel
    return _channels_by_word(node, graph) and kh * kw <= LANE_CELLS


@variant(op="AveragePool2D", act="int8", features=(DSP,), condition=_avg_applies,
         reason="4 channels per word, SXTAB16 sums", priority=10)
def tm_avgpool2d_dsp_s8(node, graph):
    return lower_pool("tm_avgpool2d_dsp_s8", node, graph, "int8")


@variant(op="MaxPool2D", act="int8", features=(DSP,), condition=_channels_by_word,
         reason="4 channels per word, SSUB8 + SEL maxima", priority=10)
def tm_maxpool2d_dsp_s8(node, graph):
    return lower_pool("tm_maxpool2d_dsp_s8", node, graph, "int8")
