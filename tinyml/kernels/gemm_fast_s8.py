"""What the portable fast GEMM kernels (codegen/kernels/tm_gemm_fast_s8.h) read: weights in
channel pairs, the input offset and the kernels' +128 shift of the inputs folded into one
constant per channel, and when that is exact."""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node
from .gemm_s8 import GemmOutput, gemm_output
from .output_stage import INT32_MAX, accumulator_bounds, node_bias

SHIFT = 128          # the kernels read inputs as uint8 x + 128
UINT8_SPAN = 255     # their magnitude


def pack_pairs(rows: np.ndarray) -> np.ndarray:
    """[channels, depth] int8 -> flat int8 of the same size: channels in pairs whose rows
    interleave ([depth][2] bytes per pair), the last of an odd count as a plain row."""
    channels, depth = rows.shape
    paired = channels // 2 * 2
    pairs = rows[:paired].reshape(channels // 2, 2, depth).transpose(0, 2, 1)
    return np.concatenate([pairs.reshape(-1), rows[paired:].reshape(-1)]).astype(np.int8)


def fast_output(rows: np.ndarray, bias: np.ndarray | None, input_offset: int,
                multiplier: np.ndarray, shift: np.ndarray) -> GemmOutput | None:
    """The constants under which the kernels are exact, or None where they cannot be.

    The output stage and dead channels as gemm_s8.gemm_output (its bound is the stricter
    one the SMMULR stage needs, so it holds for tm_requant.h's too), with offset terms for
    inputs shifted by 128; every partial sum, those terms plus uint8 inputs against the
    weights, must stay inside int32."""
    out = gemm_output(rows, bias, input_offset - SHIFT, multiplier, shift)
    if out is None:
        return None
    raw = np.abs(out.terms.astype(np.int64)) + accumulator_bounds(rows, 0, None, UINT8_SPAN)
    return None if np.any(raw > INT32_MAX) else out


def layer_fast_output(node: Node, graph: Graph, rows: np.ndarray, p) -> GemmOutput | None:
    """fast_output for a layer whose int8 params (input offset, multipliers, shifts) are p."""
    return fast_output(rows, node_bias(node, graph), p.input_offset, p.multiplier, p.shift)
