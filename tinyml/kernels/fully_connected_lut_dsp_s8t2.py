"""FullyConnected on ternary weights by table lookup (T-MAC), on cores with the DSP extension
(codegen/kernels/tm_fully_connected_lut_dsp_s8t2.c): per group of four inputs a table of the
sums under all 81 sign patterns, shared by every output channel; a channel's four products
are one read and one add. Ranked above the USADA8 GEMM where the tables pay, that is with
enough output channels (benchmarks/ternary_report.py)."""

from __future__ import annotations

from ..ops.fully_connected import prepare_int8
from ..targets.cores import DSP
from .gemm_s8t2 import LUT_TABLES, fully_connected_call, layer_gemm
from .registry import variant

#: tm_fully_connected_lut_dsp_s8t2.c's tables: TM_T2_LUT_TABLES of 81 patterns x 4 groups
TABLES_BYTES = LUT_TABLES * 81 * 4 * 2
#: fewest output channels for which the tables pay (measured, docs/ternary.md)
MIN_OUT = 16


def _applies(node, graph) -> bool:
    return (graph.tensor(node.inputs[1]).shape[0] >= MIN_OUT
            and layer_gemm(node, graph, prepare_int8(node, graph), lut=True) is not None)


def scratch_bytes(node, graph) -> int:
    """int32 accumulators and the table (tm_fully_connected_lut_dsp_s8t2_get_buffer_size)."""
    return 4 * graph.tensor(node.inputs[1]).shape[0] + TABLES_BYTES


@variant(op="FullyConnected", act="int8", weights="ternary", features=(DSP,), condition=_applies,
         reason="DSP, ternary: tables of sums per 4 inputs (T-MAC), one read per 4 products",
         scratch=scratch_bytes, priority=30)
def tm_fully_connected_lut_dsp_s8t2(node, graph):
    return fully_connected_call("tm_fully_connected_lut_dsp_s8t2", node, graph, lut=True)
