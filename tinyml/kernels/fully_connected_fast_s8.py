"""FullyConnected int8 on every core: the portable GEMM of codegen/kernels/tm_gemm_fast_s8.h,
batch rows as its pixels (four x two channels per inner step when there are four rows, one
row x two channels otherwise)."""

from __future__ import annotations

from ..ops.base import Arg, ConstArray, tensor_args
from ..ops.conv2d import kernel_call
from ..ops.fully_connected import prepare_int8
from .gemm_fast_s8 import layer_fast_output, pack_pairs
from .registry import variant


def _rows(node, graph):
    return graph.tensor(node.inputs[1]).data


def _batches(node, graph) -> int:
    x, w = (graph.tensor(n) for n in node.inputs[:2])
    return x.size // w.shape[1]


def _applies(node, graph) -> bool:
    w = graph.tensor(node.inputs[1])
    if w.quant is None or any(w.quant.zero_point):
        return False
    return layer_fast_output(node, graph, _rows(node, graph), prepare_int8(node, graph)) is not None


def scratch_bytes(node, graph) -> int:
    """Four uint8 columns with four batch rows or more, else one
    (tm_fully_connected_fast_s8_get_buffer_size)."""
    return (4 if _batches(node, graph) >= 4 else 1) * graph.tensor(node.inputs[1]).shape[1]


@variant(op="FullyConnected", act="int8", weights="int8", condition=_applies,
         reason="portable GEMM, channel pairs", scratch=scratch_bytes, priority=5)
def tm_fully_connected_fast_s8(node, graph):
    w = graph.tensor(node.inputs[1])
    p = prepare_int8(node, graph)
    n_out, n_in = w.shape
    rows = _rows(node, graph)
    out = layer_fast_output(node, graph, rows, p)
    return kernel_call("tm_fully_connected_fast_s8",
                       (Arg("params"), tensor_args(node.inputs[0])[0], Arg("const", "weights"),
                        Arg("const", "offset_terms"), Arg("const", "multiplier"),
                        Arg("const", "shift"), *tensor_args(node.outputs[0]), Arg("scratch")),
                       "tm_fully_connected_s8_params",
                       (("batches", _batches(node, graph)), ("in_features", n_in),
                        ("out_features", n_out), ("input_offset", p.input_offset),
                        ("output_offset", p.output_offset), ("act_min", p.act_min),
                        ("act_max", p.act_max)),
                       (ConstArray("weights", "int8_t", pack_pairs(rows)), *out.consts()))
