"""What the DSP GEMM kernels on ternary weights (codegen/kernels/tm_gemm_s8t2.h) read: the
2-bit codes laid out for the inner loop, and the per-channel terms that turn the USADA8 sums
into the int8 accumulator, handed to the int8 GEMM's output stage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..dtypes import pack_ternary
from ..ops.base import Arg, ConstArray, KernelCall
from ..ops.fully_connected import prepare_int8 as prepare_fc_int8
from .gemm_s8 import BLOCK, GROUP, GemmOutput, gemm_output
from .output_stage import INT32_MAX, node_bias
from .ternary import gains

SOURCES = ("tm_gemm_s8t2.c",)


def pack_codes(signs: np.ndarray) -> np.ndarray:
    """[channels, depth] signs -> uint8 2-bit codes (tinyml/dtypes.py), one byte per group of
    4 (the row padded with zeros): channels in blocks of BLOCK whose group bytes alternate,
    then plain rows."""
    channels, depth = signs.shape
    groups = -(-depth // GROUP)
    padded = np.zeros((channels, groups * GROUP), dtype=np.int8)
    padded[:, :depth] = signs
    return _blocked(pack_ternary(padded).reshape(channels, groups))


@dataclass(frozen=True)
class TernaryGemm:
    codes: np.ndarray
    terms: np.ndarray
    output: GemmOutput
    gain: np.ndarray | None
    bias: np.ndarray | None

    def args(self) -> tuple[Arg, ...]:
        """codes, offset_terms, gain, bias, multiplier, shift."""
        gain = (Arg("const", "gain"), Arg("const", "bias")) if self.gain is not None \
            else (Arg("null"), Arg("null"))
        return (Arg("const", "weights"), Arg("const", "offset_terms"), *gain,
                Arg("const", "multiplier"), Arg("const", "shift"))

    def consts(self) -> tuple[ConstArray, ...]:
        gain = () if self.gain is None else (ConstArray("gain", "int32_t", self.gain),
                                              ConstArray("bias", "int32_t", self.bias))
        return (ConstArray("weights", "uint8_t", self.codes),
                ConstArray("offset_terms", "int32_t", self.terms), *gain,
                ConstArray("multiplier", "int32_t", self.output.multiplier),
                ConstArray("shift", "int32_t", self.output.shift))


#: groups of 4 inputs in one table (TM_T2_LUT_CHUNK), and the tables of a pass over the
#: channels (TM_T2_LUT_TABLES) of the table kernel
LUT_CHUNK, LUT_TABLES = 4, 3


def pack_lut_codes(signs: np.ndarray) -> np.ndarray:
    """[channels, depth] signs -> uint8 pattern indexes for tm_fully_connected_lut_dsp_s8t2.c,
    one per group of 4: 27 (t0 + 1) + 9 (t1 + 1) + 3 (t2 + 1) + t3 + 1, plus 81 (k mod
    LUT_TABLES) in chunk k, rows padded to whole chunks of LUT_CHUNK groups with zeros (index
    40). Blocks of BLOCK channels hold, per chunk, [group][channel] bytes; then the plain rows,
    chunk by chunk."""
    channels, depth = signs.shape
    span = GROUP * LUT_CHUNK
    chunks = -(-depth // span)
    padded = np.zeros((channels, chunks * span), dtype=np.int64)
    padded[:, :depth] = signs
    digits = padded.reshape(channels, chunks, LUT_CHUNK, GROUP) + 1
    index = digits @ np.array([27, 9, 3, 1])                          # channel, chunk, group
    # chunk k reads table k mod LUT_TABLES of the pass that builds it, 81 k entries further
    index = (index + 81 * (np.arange(chunks) % LUT_TABLES)[None, :, None]).astype(np.uint8)
    blocked = channels // BLOCK * BLOCK
    blocks = index[:blocked].reshape(channels // BLOCK, BLOCK, chunks, LUT_CHUNK)
    blocks = blocks.transpose(0, 2, 3, 1)                             # block, chunk, group, ch
    return np.concatenate([blocks.reshape(-1), index[blocked:].reshape(-1)]).astype(np.uint8)


def _blocked(per_group: np.ndarray) -> np.ndarray:
    """[channels, groups] bytes -> channels in blocks of BLOCK whose group bytes alternate,
    then plain rows."""
    channels, groups = per_group.shape
    blocked = channels // BLOCK * BLOCK
    blocks = per_group[:blocked].reshape(channels // BLOCK, BLOCK, groups).transpose(0, 2, 1)
    return np.concatenate([blocks.reshape(-1), per_group[blocked:].reshape(-1)]).astype(np.uint8)


def ternary_gemm(values: np.ndarray, bias: np.ndarray | None, input_offset: int,
                 multiplier: np.ndarray, shift: np.ndarray, lut: bool = False
                 ) -> TernaryGemm | None:
    """The constants for weights `values` ([channels, depth], +-q per channel), or None where
    the int8 output stage is not exact for them (gemm_output). `lut`: for the table kernel,
    whose sums are sum(t (x + input_offset)) already; else for the USADA8 ones, whose sums
    start from the doubled constant 2 ((input_offset - 128) sum(t) - K / 2 [+ bias]) - (K mod
    2) and end at twice the accumulator (tm_gemm_s8t2.h)."""
    out = gemm_output(values, bias, input_offset, multiplier, shift)
    if out is None:
        return None
    values = values.astype(np.int64)
    depth = values.shape[1]
    signs = np.sign(values)
    q = gains(values)
    s = signs.sum(axis=1)
    # out.terms = bias + input_offset * sum(values), or a dead channel's constant
    exact = out.terms.astype(np.int64) - q * input_offset * s
    parity = np.zeros_like(s)
    if lut:
        base = np.zeros_like(s)
    else:
        minus = (signs < 0).sum(axis=1)
        zeros = -(-depth // GROUP) * GROUP - minus - (signs > 0).sum(axis=1)
        base = (input_offset - 128) * s - ((510 * minus + 255 * zeros) >> 1)
        parity = zeros & 1          # of K = 510 n(-1) + 255 n(0), and so of the sums
    if np.all(q == 1):
        terms, gain, bias_out = base + exact, None, None
    else:
        terms, gain, bias_out = base, q.astype(np.int32), exact
    if not lut:     # the USADA8 sums start from the doubled terms (tm_gemm_s8t2.h)
        terms = 2 * terms - parity
    for a in (terms, bias_out):
        if a is not None and np.any(np.abs(a) > INT32_MAX):
            return None
    codes = pack_lut_codes(signs) if lut else pack_codes(signs.astype(np.int8))
    return TernaryGemm(codes, terms.astype(np.int32), out, gain,
                       None if bias_out is None else bias_out.astype(np.int32))


def layer_gemm(node, graph, p, lut: bool = False) -> TernaryGemm | None:
    """ternary_gemm for a Conv2D or FullyConnected layer whose int8 params are p."""
    w = graph.tensor(node.inputs[1])
    if w.dtype != "ternary":
        return None
    return ternary_gemm(w.data.reshape(w.shape[0], -1), node_bias(node, graph), p.input_offset,
                        p.multiplier, p.shift, lut)


def gemm_call(kernel: str, args, params_type: str, params, consts) -> KernelCall:
    """A ternary DSP GEMM kernel's call: its own C file and the shared loops."""
    return KernelCall(kernel=kernel, sources=(kernel + ".c", *SOURCES), args=tuple(args),
                      params_type=params_type, params=tuple(params), consts=tuple(consts))


def fully_connected_call(kernel: str, node, graph, lut: bool) -> KernelCall:
    """The call of a ternary fully connected kernel: tm_fully_connected_s8_params and the
    constants of ternary_gemm."""
    x, w = (graph.tensor(n) for n in node.inputs[:2])
    p = prepare_fc_int8(node, graph)
    n_out, n_in = w.shape
    gemm = layer_gemm(node, graph, p, lut)
    return gemm_call(kernel, (Arg("params"), Arg("tensor", node.inputs[0]), *gemm.args(),
                              Arg("tensor", node.outputs[0]), Arg("scratch")),
                     "tm_fully_connected_s8_params",
                     (("batches", x.size // n_in), ("in_features", n_in), ("out_features", n_out),
                      ("input_offset", p.input_offset), ("output_offset", p.output_offset),
                      ("act_min", p.act_min), ("act_max", p.act_max)),
                     gemm.consts())
