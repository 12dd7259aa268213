"""When the fast output stages are exact. tm_requant.h's rounding sum x + 2^(right-1) must
stay inside int32 (x is at most the accumulator's magnitude: the multiplier is below 2^31 and
a right shift means no left shift); tm_gemm_s8.h's SMMULR of acc << (left + 1) needs that
shifted accumulator inside int32. Both bounds come from the constant weights and bias at
compile time."""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node

INT32_MAX = 2**31 - 1
INT8_SPAN = 255   # |x + input_offset| for int8 x and an offset in [-127, 128]


def accumulator_bounds(weights: np.ndarray, channel_axis: int, bias: np.ndarray | None,
                       input_span: int = INT8_SPAN) -> np.ndarray:
    """Per output channel, the largest |accumulator| any input can give: |bias| + span * sum|w|."""
    magnitude = np.abs(np.moveaxis(weights.astype(np.int64), channel_axis, 0))
    bound = input_span * magnitude.reshape(magnitude.shape[0], -1).sum(axis=1)
    if bias is not None:
        bound = bound + np.abs(bias.astype(np.int64).reshape(-1))
    return bound


def rounding_ok(bounds: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Per channel: the rounding sum |acc| + 2^(right-1) stays inside int32."""
    right = np.maximum(-np.asarray(shift, dtype=np.int64), 0)
    half = np.where(right > 0, np.left_shift(np.int64(1), np.maximum(right - 1, 0)), 0)
    return np.broadcast_to(bounds, half.shape) + half <= INT32_MAX


def rounding_fits(bounds: np.ndarray, shift: np.ndarray) -> bool:
    return bool(np.all(rounding_ok(bounds, shift)))


def node_bias(node: Node, graph: Graph) -> np.ndarray | None:
    if len(node.inputs) > 2 and node.inputs[2]:
        return graph.tensor(node.inputs[2]).data
    return None


def doubled_ok(bounds: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Per channel: |acc| * 2^(left + 1) stays inside int32 (SMMULR of the doubled,
    left-shifted accumulator is TFLite's doubling high multiply)."""
    left = np.maximum(np.asarray(shift, dtype=np.int64), 0) + 1
    return np.broadcast_to(bounds, left.shape) << left <= INT32_MAX


def doubled_fits(bounds: np.ndarray, shift: np.ndarray) -> bool:
    return bool(np.all(doubled_ok(bounds, shift)))
