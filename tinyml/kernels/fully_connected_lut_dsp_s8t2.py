"""FullyConnected on ternary weights by table lookup (T-MAC), on cores with the DSP extension
(codegen/kernels/tm_fully_connected_lut_dsp_s8t2.c): per group of four inputs a table of the
sums under all 81 sign patterns, shared by every output channel; a channel's four products
are one read and one add. Ranked above the USADA8 GEMM where the tables pay, that is with
enough output channels (benchmarks/ternary_report.py)."""

from __future__ import annotations

from ..ops.base import Arg, tensor_args
from ..ops.fully_connected import prepare_int8
from ..targets.cores import DSP
from .gemm_s8t2 import LUT_TABLES, gemm_call, layer_gemm
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
    x, w = (graph.tensor(n) for n in node.inputs[:2])
    p = prepare_int8(node, graph)
    n_out, n_in = w.shape
    gemm = layer_gemm(node, graph, p, lut=True)
    return gemm_call("tm_fully_connected_lut_dsp_s8t2",
                     (Arg("params"), tensor_args(node.inputs[0])[0], *gemm.args(),
                      *tensor_args(node.outputs[0]), Arg("scratch")),
                     "tm_fully_connected_s8_params",
                     (("batches", x.size // n_in), ("in_features", n_in), ("out_features", n_out),
                      ("input_offset", p.input_offset), ("output_offset", p.output_offset),
                      ("act_min", p.act_min), ("act_max", p.act_max)),
                     gemm.consts())
