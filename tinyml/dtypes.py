"""The one definition of every dtype the IR holds.

A dtype knows its bits per value as stored, the numpy type its values take in the IR, the C
type of a stored element, its kernel-name suffix and its packing. Byte counts come from bits,
so a packed 2-bit ternary weight tensor is an ordinary IR tensor: its data holds the values
(-1, 0, +1 as int8), its `nbytes` the packed size.

Ternary ("1.58-bit") weights take at most three values per output channel, {-q, 0, +q}
(tinyml/quant/ternary.py: q = 1 but for int8 models found ternary), times the channel's
scale (the tensor's quantization, zero point 0). Packed, the signs take 2 bits: four share a
byte, sign i of a group in bits 2i..2i+1 as a two's-complement code, 00 = 0, 01 = +1,
11 = -1 (10 never occurs); q, where it is not 1, is one int32 per channel beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Dtype:
    name: str
    bits: int            # per value, as stored in flash or RAM
    numpy: type          # one value in the IR (unpacked)
    ctype: str           # one stored element in C (a byte of packed values)
    suffix: str          # in kernel names: tm_<op>_<variant>_<suffix>
    packing: str = ""    # how sub-byte values share a byte ("" = one value per element)

    def nbytes(self, count: int) -> int:
        return -(-int(count) * self.bits // 8)


DTYPES: dict[str, Dtype] = {d.name: d for d in (
    Dtype("float32", 32, np.float32, "float", "f32"),
    Dtype("int8", 8, np.int8, "int8_t", "s8"),
    Dtype("uint8", 8, np.uint8, "uint8_t", "u8"),
    Dtype("int16", 16, np.int16, "int16_t", "s16"),
    Dtype("int32", 32, np.int32, "int32_t", "s32"),
    Dtype("int64", 64, np.int64, "int64_t", "s64"),
    Dtype("bool", 8, np.bool_, "uint8_t", "b8"),
    # kernels on int8 activations and ternary weights are tm_<op>_<variant>_s8t2
    Dtype("ternary", 2, np.int8, "uint8_t", "t2",
          "4 signs per byte, sign i in bits 2i..2i+1: 00 = 0, 01 = +1, 11 = -1"),
)}


def channel_rows(w: np.ndarray, axis: int) -> np.ndarray:
    """The weights as [output channel, everything else]."""
    return np.moveaxis(np.asarray(w), axis, 0).reshape(w.shape[axis], -1)


def ternary_magnitudes(w: np.ndarray, axis: int) -> np.ndarray | None:
    """Per output channel along `axis`, the one magnitude of its nonzero weights (0 for an
    all-zero channel), or None unless every channel has at most one."""
    rows = np.abs(channel_rows(w, axis))
    if rows.size == 0 or not np.isfinite(rows).all():
        return None
    top = rows.max(axis=1)
    if np.any((rows != 0) & (rows != top[:, None])):
        return None
    return top


def pack_ternary(values: np.ndarray) -> np.ndarray:
    """The signs of ternary values (any shape, flattened in C order) -> uint8, four per byte;
    the last byte's unused codes are 0."""
    flat = np.sign(np.asarray(values)).astype(np.int8).reshape(-1)
    padded = np.zeros(-(-flat.size // 4) * 4, dtype=np.uint8)
    padded[:flat.size] = flat.astype(np.uint8) & 0b11   # two's complement: -1 -> 11
    quads = padded.reshape(-1, 4)
    return (quads[:, 0] | quads[:, 1] << 2 | quads[:, 2] << 4 | quads[:, 3] << 6).astype(np.uint8)


def unpack_ternary(packed: np.ndarray, count: int) -> np.ndarray:
    codes = (np.asarray(packed, dtype=np.uint8)[:, None] >> np.array([0, 2, 4, 6])) & 0b11
    values = codes.reshape(-1)[:count].astype(np.int8)
    return np.where(values == 0b11, -1, values).astype(np.int8)


def pack_trits_base3(values: np.ndarray) -> np.ndarray:
    """The signs of ternary values -> uint8, five per byte as the base-3 number
    sum (v_i + 1) 3^i (1.6 bits per value; the last byte's unused digits are 1: value 0)."""
    flat = np.sign(np.asarray(values)).astype(np.int16).reshape(-1) + 1
    padded = np.ones(-(-flat.size // 5) * 5, dtype=np.int16)
    padded[:flat.size] = flat
    return (padded.reshape(-1, 5) @ (3 ** np.arange(5))).astype(np.uint8)


def unpack_trits_base3(packed: np.ndarray, count: int) -> np.ndarray:
    digits = (np.asarray(packed, dtype=np.int32)[:, None] // (3 ** np.arange(5))) % 3
    return (digits.reshape(-1)[:count] - 1).astype(np.int8)
