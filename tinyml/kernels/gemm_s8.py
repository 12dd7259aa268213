"""What the DSP GEMM kernels (codegen/kernels/tm_gemm_s8.h) read: weights laid out for the
inner loop, the offset folded into one constant per channel, and when that is exact."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import Graph, Node
from ..numerics import multiply_by_quantized_multiplier
from ..ops.base import ConstArray, KernelCall
from .output_stage import INT32_MAX, accumulator_bounds, doubled_ok, node_bias, rounding_ok

GROUP = 4   # int8 values per SXTB16 pair of words
SOURCES = ("tm_gemm_s8.c",)   # the GEMM loops every DSP GEMM kernel links
BLOCK = 4   # output channels whose groups alternate (TM_GEMM_BLOCK)


def depth4(depth: int) -> int:
    return -(-depth // GROUP) * GROUP


def pack_weights(rows: np.ndarray) -> np.ndarray:
    """[channels, depth] int8 -> flat int8 of the same size but for the zero padding of each
    row to depth4: channels in blocks of BLOCK whose 4-byte groups alternate (one block's
    group g is BLOCK * 4 contiguous bytes), the last channels % BLOCK as plain rows."""
    channels, depth = rows.shape
    padded = np.zeros((channels, depth4(depth)), dtype=np.int8)
    padded[:, :depth] = rows
    groups = padded.reshape(channels, -1, GROUP)
    blocked = channels // BLOCK * BLOCK
    blocks = groups[:blocked].reshape(channels // BLOCK, BLOCK, groups.shape[1], GROUP)
    blocks = blocks.transpose(0, 2, 1, 3)
    return np.concatenate([blocks.reshape(-1), groups[blocked:].reshape(-1)])


def pack_row_pairs(rows: np.ndarray) -> np.ndarray:
    """[channels, depth] int8 -> the fully connected layout (tm_gemm_s8.h, tm_dot_pairs_1x4):
    channels in blocks of BLOCK, each block two pairs of rows (a, b); per group of 4 inputs
    k0..k3 a block is 16 bytes: for pair (a, b) the word matching the column's (x0, x2),
    then the one matching (x1, x3), each as [a_k + 128, b_k, a_k' + 128, b_k'] so that a
    halfword read as int16 is (a_k + 128) + 256 * b_k. The last channels % BLOCK as plain
    rows. Same size as pack_weights."""
    channels, depth = rows.shape
    padded = np.zeros((channels, depth4(depth)), dtype=np.int16)
    padded[:, :depth] = rows
    blocked = channels // BLOCK * BLOCK
    g = padded[:blocked].reshape(channels // BLOCK, 2, 2, -1 if blocked else 0, GROUP)
    a, b = g[:, :, 0], g[:, :, 1]                                       # block, pair, group, k
    words = []
    for lanes in ((0, 2), (1, 3)):
        k0, k1 = lanes
        words.append(np.stack([a[..., k0] + 128, b[..., k0], a[..., k1] + 128, b[..., k1]],
                              axis=-1))                                  # block, pair, group, 4
    block = np.stack(words, axis=3)                                      # block, pair, group, word, 4
    block = block.transpose(0, 2, 1, 3, 4)                               # block, group, pair, word, 4
    as_bytes = (block.reshape(-1) & 0xFF).astype(np.uint8).view(np.int8)
    plain = padded[blocked:].astype(np.int8).reshape(-1)
    return np.concatenate([as_bytes, plain])


def offset_terms(rows: np.ndarray, bias: np.ndarray | None, input_offset: int) -> np.ndarray:
    terms = input_offset * rows.astype(np.int64).sum(axis=1)
    if bias is not None:
        terms = terms + bias.astype(np.int64).reshape(-1)
    return terms


@dataclass(frozen=True)
class GemmOutput:
    """The per-channel constants the DSP GEMM kernels read: offset terms, multiplier, shift."""
    terms: np.ndarray
    multiplier: np.ndarray
    shift: np.ndarray

    def consts(self) -> tuple[ConstArray, ...]:
        return (ConstArray("offset_terms", "int32_t", self.terms),
                ConstArray("multiplier", "int32_t", self.multiplier),
                ConstArray("shift", "int32_t", self.shift))


def gemm_output(rows: np.ndarray, bias: np.ndarray | None, input_offset: int,
                multiplier: np.ndarray, shift: np.ndarray) -> GemmOutput | None:
    """The constants under which the kernels are exact, or None where they cannot be.

    The folded sums must stay inside int32 (offset terms, plus raw int8 inputs of magnitude
    at most 128 against the weights), and so must the output stage's doubled accumulator and
    its rounding. A channel whose weights are all zero outputs a constant, requantize(bias);
    models carry such dead channels with biases near 2^30 and shifts near -31, beyond the
    fast output stage: the same constant comes from terms 2c, multiplier 2^30, shift 0."""
    channels = rows.shape[0]
    multiplier = np.broadcast_to(np.asarray(multiplier, dtype=np.int64), (channels,)).copy()
    shift = np.broadcast_to(np.asarray(shift, dtype=np.int64), (channels,)).copy()
    terms = offset_terms(rows, bias, input_offset)
    true = accumulator_bounds(rows, 0, bias)
    ok = rounding_ok(true, shift) & doubled_ok(true, shift)
    constant = ~rows.any(axis=1)
    if np.any(~ok & ~constant):
        return None
    fix = ~ok
    value = multiply_by_quantized_multiplier(terms[fix], multiplier[fix], shift[fix])
    terms[fix] = 2 * np.clip(value, -1024, 1024)
    multiplier[fix], shift[fix] = 1 << 30, 0
    raw = np.abs(terms) + accumulator_bounds(rows, 0, None, input_span=128)
    if np.any(raw > INT32_MAX):
        return None
    return GemmOutput(terms.astype(np.int32), multiplier.astype(np.int32), shift.astype(np.int32))


def conv_rows(node: Node, graph: Graph) -> np.ndarray:
    """Conv2D OHWI or FullyConnected [out, in] weights as [out_c, depth] rows."""
    w = graph.tensor(node.inputs[1]).data
    return w.reshape(w.shape[0], -1)


def layer_output(node: Node, graph: Graph, rows: np.ndarray, p) -> GemmOutput | None:
    """gemm_output for a layer whose int8 params (input offset, multipliers, shifts) are p."""
    return gemm_output(rows, node_bias(node, graph), p.input_offset, p.multiplier, p.shift)


def gemm_call(kernel: str, args, params_type: str, params, consts) -> KernelCall:
    """A DSP GEMM kernel's call: its own C file and the shared GEMM loops."""
    return KernelCall(kernel=kernel, sources=(kernel + ".c", *SOURCES), args=tuple(args),
                      params_type=params_type, params=tuple(params), consts=tuple(consts))
