"""FullyConnected int8 on cores with the DSP extension: the SMLAD GEMM of
codegen/kernels/tm_gemm_s8.h, one input row against four output rows per inner step, the
rows paired so one SXTB16 and two SMLAD make four products (gemm_s8.pack_row_pairs)."""

from __future__ import annotations

from ..ops.base import Arg, ConstArray, tensor_args
from ..ops.conv2d import kernel_call
from ..ops.fully_connected import prepare_int8
from ..targets.cores import DSP
from .gemm_s8 import depth4, layer_output, pack_row_pairs
from .registry import variant


def _rows(node, graph):
    return graph.tensor(node.inputs[1]).data


def applies(node, graph) -> bool:
    w = graph.tensor(node.inputs[1])
    if w.quant is None or any(w.quant.zero_point):
        return False
    return layer_output(node, graph, _rows(node, graph), prepare_int8(node, graph)) is not None


def scratch_bytes(node, graph) -> int:
    """One int16 column of depth4 (tm_fully_connected_dsp_s8_get_buffer_size)."""
    return depth4(graph.tensor(node.inputs[1]).shape[1]) * 2


@variant(op="FullyConnected", act="int8", weights="int8", features=(DSP,), condition=applies,
         reason="DSP: SMLAD GEMM 1 row x 4 outputs, paired rows", scratch=scratch_bytes, priority=20)
def tm_fully_connected_dsp_s8(node, graph):
    x, w = (graph.tensor(n) for n in node.inputs[:2])
    p = prepare_int8(node, graph)
    n_out, n_in = w.shape
    rows = _rows(node, graph)
    out = layer_output(node, graph, rows, p)
    return kernel_call("tm_fully_connected_dsp_s8",
                       (Arg("params"), tensor_args(node.inputs[0])[0], Arg("const", "weights"),
                        Arg("const", "offset_terms"), Arg("const", "multiplier"),
                        Arg("const", "shift"), *tensor_args(node.outputs[0]), Arg("scratch")),
                       "tm_fully_connected_s8_params",
                       (("batches", x.size // n_in), ("in_features", n_in), ("out_features", n_out),
                        ("input_offset", p.input_offset), ("output_offset", p.output_offset),
                        ("act_min", p.act_min), ("act_max", p.act_max)),
                       (ConstArray("weights", "int8_t", pack_row_pairs(rows)), *out.consts()))
