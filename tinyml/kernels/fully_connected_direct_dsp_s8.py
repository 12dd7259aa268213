"""FullyConnected int8 on cores with the DSP extension, without scratch: the pair layout and
output stage of fully_connected_dsp_s8, the inputs extended to int16 where they are read
(codegen/kernels/tm_fully_connected_direct_dsp_s8.c). About an eighth slower than the column
in scratch, so ranked below it: the memory planner takes it where the column would raise the
peak (--optimize ram)."""

from __future__ import annotations

from dataclasses import replace

from ..targets.cores import DSP
from . import fully_connected_dsp_s8 as column
from .registry import variant

KERNEL = "tm_fully_connected_direct_dsp_s8"


@variant(op="FullyConnected", act="int8", weights="int8", features=(DSP,),
         condition=column.applies,
         reason="DSP: SMLAD GEMM 1 row x 4 outputs, paired rows, no scratch", priority=18)
def tm_fully_connected_direct_dsp_s8(node, graph):
    call = column.tm_fully_connected_dsp_s8(node, graph)
    return replace(call, kernel=KERNEL, sources=(KERNEL + ".c",),
                   args=tuple(a for a in call.args if a.kind != "scratch"))
