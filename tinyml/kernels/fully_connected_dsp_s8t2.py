"""FullyConnected on ternary weights, on cores with the DSP extension: the USADA8 GEMM of
codegen/kernels/tm_gemm_s8t2.h, one input row against four output rows, no weight multiply."""

from __future__ import annotations

from ..ops.fully_connected import prepare_int8
from ..targets.cores import DSP
from .gemm_s8t2 import fully_connected_call, layer_gemm
from .registry import variant


def _applies(node, graph) -> bool:
    return layer_gemm(node, graph, prepare_int8(node, graph)) is not None


def scratch_bytes(node, graph) -> int:
    """One offset-binary column of whole groups (tm_fully_connected_dsp_s8t2_get_buffer_size)."""
    return -(-graph.tensor(node.inputs[1]).shape[1] // 4) * 4


@variant(op="FullyConnected", act="int8", weights="ternary", features=(DSP,), condition=_applies,
         reason="DSP, ternary: USADA8 GEMM 1 row x 4 outputs", scratch=scratch_bytes, priority=20)
def tm_fully_connected_dsp_s8t2(node, graph):
    return fully_connected_call("tm_fully_connected_dsp_s8t2", node, graph, lut=False)
