"""What the DSP GEMM kernels (codegen/kernels/tm_gemm_s8.h) read: weights laid out for the
inner loop, the offset folded into one constant per channel, and when that is exact."""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node
from .output_stage import (INT32_MAX, accumulator_bounds, doubled_fits, node_bias,
                           rounding_fits)

GROUP = 4   # int8 values per SXTB16 pair of words
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


def gemm_fits(rows: np.ndarray, bias: np.ndarray | None, input_offset: int,
              shift: np.ndarray) -> bool:
    """The folded sums stay inside int32 (offset terms, plus raw int8 inputs of magnitude at
    most 128 against the weights), and so do the output stage's doubled accumulator and its
    rounding."""
    terms = offset_terms(rows, bias, input_offset)
    raw = np.abs(terms) + accumulator_bounds(rows, 0, None, input_span=128)
    true = accumulator_bounds(rows, 0, bias)
    return (bool(np.all(raw <= INT32_MAX)) and rounding_fits(true, shift)
            and doubled_fits(true, shift))


def conv_rows(node: Node, graph: Graph) -> np.ndarray:
    """Conv2D OHWI or FullyConnected [out, in] weights as [out_c, depth] rows."""
    w = graph.tensor(node.inputs[1]).data
    return w.reshape(w.shape[0], -1)


def gemm_consts(node: Node, graph: Graph, rows: np.ndarray, input_offset: int):
    """(packed weights, offset terms) of a layer, as int8 and int32 arrays."""
    terms = offset_terms(rows, node_bias(node, graph), input_offset)
    return pack_weights(rows), terms.astype(np.int32)
