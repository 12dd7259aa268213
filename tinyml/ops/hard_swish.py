"""HardSwish: y = x * relu6(x + 3) / 6 (TFLite HARD_SWISH, ONNX HardSwish).

int8 follows TFLite Micro's reference kernel, in int16 fixed point: the input - zero point
is shifted up 7 bits ("hires" scale), rescaled once to the output scale and once to the
"reluish" scale where 3.0 is 32768; the reluish value, mapped to [0, 1], multiplies the
output-scale value with a truncating doubling high mul. Both multipliers are int16 (Q15).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..errors import UnsupportedError
from ..ir import Graph, Node
from ..numerics import INT32_MAX, quantize_multiplier
from .base import (Arg, KernelCall, Op, dtype_suffix, io_dtype, per_tensor, register,
                   tensor_args, unsupported_dtype)

INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1


def _int16_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier, then DownScaleInt32ToInt16Multiplier (rounding, saturating)."""
    multiplier, exponent = quantize_multiplier(real)
    if multiplier >= INT32_MAX - (1 << 15):
        return INT16_MAX, exponent
    return (multiplier + (1 << 15)) >> 16, exponent


@dataclass(frozen=True)
class Int8Params:
    """Fields in the order of tm_hard_swish_s8_params."""

    input_zero_point: int
    output_zero_point: int
    reluish_multiplier: int     # Q15
    output_multiplier: int      # Q15
    reluish_exponent: int
    output_exponent: int


def prepare_int8(node: Node, graph: Graph) -> Int8Params:
    in_scale, in_zp = per_tensor(graph.tensor(node.inputs[0]))
    out_scale, out_zp = per_tensor(graph.tensor(node.outputs[0]))
    # TFLM's HardSwishPrepare works in float32
    hires_input_scale = np.float32(1.0 / 128.0) * np.float32(in_scale)
    reluish_scale = np.float32(3.0 / 32768.0)
    output_multiplier, output_exponent = _int16_multiplier(
        float(hires_input_scale / np.float32(out_scale)))
    if output_exponent > 0:
        raise UnsupportedError("int8 HardSwish needs input scale / output scale <= 128",
                               model=graph.source, node=node.name, op=node.op)
    reluish_multiplier, reluish_exponent = _int16_multiplier(
        float(hires_input_scale / reluish_scale))
    return Int8Params(in_zp, out_zp, reluish_multiplier, output_multiplier, reluish_exponent,
                      output_exponent)


# -- int16 arithmetic of TFLite's reference HardSwish (values in int64 arrays) -------------

def _wrap_int16(x: np.ndarray) -> np.ndarray:
    return ((x + (1 << 15)) & 0xFFFF) - (1 << 15)


def saturating_left_shift16(x: np.ndarray, amount: int) -> np.ndarray:
    return np.clip(x * (1 << amount), INT16_MIN, INT16_MAX)


def srdhm16(a: np.ndarray, b: int) -> np.ndarray:
    """gemmlowp's SaturatingRoundingDoublingHighMul for int16 (C division truncates)."""
    ab = a * b
    nudged = ab + np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    high = np.where(nudged >= 0, nudged // (1 << 15), -((-nudged) // (1 << 15)))
    return np.where((a == INT16_MIN) & (b == INT16_MIN), INT16_MAX, _wrap_int16(high))


def sdhm16(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SaturatingDoublingHighMul: as srdhm16 but rounding towards zero."""
    ab = a * b
    high = np.where(ab >= 0, ab // (1 << 15), -((-ab) // (1 << 15)))
    return np.where((a == INT16_MIN) & (b == INT16_MIN), INT16_MAX, _wrap_int16(high))


def rdbpot16(x: np.ndarray, exponent: int) -> np.ndarray:
    """gemmlowp's RoundingDivideByPOT on int16 (the mask is an int16 too)."""
    mask = int(_wrap_int16(np.int64((1 << exponent) - 1)))
    threshold = (mask >> 1) + (x < 0)
    return _wrap_int16((x >> exponent) + ((x & mask) > threshold))


def hard_swish_int8(x: np.ndarray, p: Int8Params) -> np.ndarray:
    hires = (x.astype(np.int64) - p.input_zero_point) * (1 << 7)
    on_preshift_output_scale = srdhm16(hires, p.output_multiplier)
    # hires rescaled so that 3.0 is 32768 (saturating): left shifts around the multiply
    # keep saturation from the first shift out of the result
    reluish = hires
    exponent = p.reluish_exponent
    if exponent > 0:
        reluish = saturating_left_shift16(reluish, exponent - 1)
    reluish = srdhm16(reluish, p.reluish_multiplier)
    if exponent > 0:
        reluish = saturating_left_shift16(reluish, 1)
    if exponent < 0:
        reluish = rdbpot16(reluish, -exponent)
    reluish = (reluish + (1 << 15)) >> 1                     # [-1, 1] -> [0, 1]
    out = rdbpot16(sdhm16(reluish, on_preshift_output_scale), -p.output_exponent)
    out = _wrap_int16(out + p.output_zero_point)
    return np.clip(out, -128, 127).astype(np.int8)


def hard_swish_float(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float32)
    return (x * np.minimum(np.float32(6), np.maximum(np.float32(0), x + np.float32(3)))
            / np.float32(6)).astype(np.float32)


@register
class HardSwish(Op):
    name = "HardSwish"
    elementwise = True

    def evaluate(self, node, graph, inputs):
        dtype = io_dtype(node, graph)
        if dtype == "float32":
            return [hard_swish_float(inputs[0])]
        if dtype == "int8":
            return [hard_swish_int8(inputs[0], prepare_int8(node, graph))]
        raise unsupported_dtype(node, graph, dtype)

    def lower(self, node, graph):
        dtype = io_dtype(node, graph)
        kernel = f"tm_hard_swish_generic_{dtype_suffix(dtype)}"
        io = tensor_args(node.inputs[0], node.outputs[0])
        size = graph.tensor(node.inputs[0]).size
        if dtype == "float32":
            return KernelCall(kernel=kernel, sources=(kernel + ".c",),
                              args=(*io, Arg("int", value=size)))
        if dtype == "int8":
            p = dataclasses.asdict(prepare_int8(node, graph))
            return KernelCall(kernel=kernel, sources=(kernel + ".c",),
                              args=(Arg("params"), *io), params_type="tm_hard_swish_s8_params",
                              params=(("size", size), *p.items()))
        raise unsupported_dtype(node, graph, dtype)
