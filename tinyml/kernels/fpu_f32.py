"""What the float32 FPU variants share (codegen/kernels/tm_fpu_f32.h): the weight layout
their register blocks read, and the packed weights as a kernel constant."""

from __future__ import annotations

import numpy as np

from ..ops.base import ConstArray

#: output channels per weight block (TM_F32_BLOCK)
BLOCK = 4


def pack_by_4(weights: np.ndarray) -> np.ndarray:
    """[channels, depth] -> flat, "packed by 4": each full block of 4 channels interleaved
    (element k * 4 + j is channel 4b + j's k-th weight), the channels % 4 left over as plain
    rows after them. Same values, same size: channel c's block or row starts at c * depth."""
    rows = np.asarray(weights, dtype=np.float32).reshape(weights.shape[0], -1)
    full = rows.shape[0] - rows.shape[0] % BLOCK
    blocks = rows[:full].reshape(-1, BLOCK, rows.shape[1]).transpose(0, 2, 1)
    return np.concatenate([blocks.reshape(-1), rows[full:].reshape(-1)])


def packed_weights(weights: np.ndarray) -> ConstArray:
    return ConstArray("packed_weights", "float", pack_by_4(weights))
