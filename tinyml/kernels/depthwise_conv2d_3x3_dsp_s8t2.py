"""DepthwiseConv2D on ternary weights, 3x3, on cores with the DSP extension: the int8 kernel's
int16 planes and SMLAD passes (tm_depthwise_conv2d_3x3_dsp_s8.c), each channel's nine taps
read from their packed codes (codegen/kernels/tm_depthwise_dsp.h tm_dw_ternary), and the
multiplies of zero single taps left out. Flash holds 2 bits per weight."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..dtypes import pack_ternary
from ..targets.cores import DSP
from . import depthwise_dsp
from .depthwise_conv2d_3x3_dsp_s8 import applies as applies_3x3
from .registry import variant
from .ternary import signs, with_ternary_weights

KERNEL = "tm_depthwise_conv2d_3x3_dsp_s8t2"
SOURCE = "tm_depthwise_conv2d_3x3_dsp_s8.c"
#: a channel's codes are read as one 32-bit word from its first byte
READ_PAST = 3


def scratch_bytes(node, graph) -> int:
    g = depthwise_dsp.geometry(node, graph)
    return depthwise_dsp.buffer_size(g, depthwise_dsp.band_rows(g))


@variant(op="DepthwiseConv2D", act="int8", weights="ternary", features=(DSP,),
         condition=applies_3x3,
         reason="3x3, DSP, ternary: codes read per channel, SMLAD without zero single taps",
         scratch=scratch_bytes, priority=30, region_scratch=depthwise_dsp.region_buffer_size)
def tm_depthwise_conv2d_3x3_dsp_s8t2(node, graph):
    call = replace(depthwise_dsp.lower(KERNEL, node, graph), sources=(SOURCE,))
    # signs channel by channel: [1, kh, kw, out_c] -> [out_c, kh * kw]
    per_channel = np.moveaxis(signs(node, graph)[0], -1, 0)
    packed = np.concatenate([pack_ternary(per_channel), np.zeros(READ_PAST, np.uint8)])
    return with_ternary_weights(call, node, graph, packed)
