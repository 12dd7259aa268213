"""The predicates op shape rules are written with: each failure is one ModelError naming the
model, node and op. An op's `check` runs before anything computes on the node (shape rules,
passes, quantization, lowering), so these are the only code that sees unchecked values.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from ..dtypes import ternary_magnitudes
from ..errors import ModelError
from ..ir import Graph, Node, Tensor


class NodeCheck:
    """What an op's `check` reads of one node, each read checked."""

    def __init__(self, node: Node, graph: Graph):
        self.node, self.graph = node, graph

    def fail(self, message: str) -> ModelError:
        return ModelError(message, model=self.graph.source, node=self.node.name, op=self.node.op)

    def require(self, condition: bool, message: str) -> None:
        if not condition:
            raise self.fail(message)

    # ---- operands
    def has_input(self, i: int) -> bool:
        return i < len(self.node.inputs) and bool(self.node.inputs[i])

    def input(self, i: int, what: str = "") -> Tensor:
        self.require(self.has_input(i), f"input {i}{' (' + what + ')' if what else ''} is missing")
        return self.graph.tensor(self.node.inputs[i])

    def output(self, i: int = 0) -> Tensor:
        return self.graph.tensor(self.node.outputs[i])

    def const(self, i: int, what: str) -> Tensor:
        """A constant input, or (in QDQ models, until the QDQ pass folds it) the Dequantize
        of a constant."""
        t = self.input(i, what)
        if not t.is_const:
            producer = self.graph.producers().get(t.name)
            self.require(producer is not None and producer.op == "Dequantize" and
                         bool(producer.inputs) and producer.inputs[0] in self.graph.tensors and
                         self.graph.tensor(producer.inputs[0]).is_const,
                         f"the {what} must be a constant")
        return t

    # ---- shapes and values
    def rank(self, t: Tensor, ranks: int | Iterable[int], what: str) -> None:
        allowed = (ranks,) if isinstance(ranks, int) else tuple(ranks)
        self.require(len(t.shape) in allowed, f"the {what} has rank {len(t.shape)}, expected "
                     f"{' or '.join(map(str, allowed))} (shape {t.shape})")

    def positive(self, values: Iterable[int], what: str) -> None:
        values = tuple(values)
        self.require(all(_is_int(v) and v >= 1 for v in values),
                     f"{what} must be at least 1, not {values}")

    def non_negative(self, values: Iterable[int], what: str) -> None:
        values = tuple(values)
        self.require(all(_is_int(v) and v >= 0 for v in values),
                     f"{what} must not be negative, not {values}")

    def same_shape(self, a: Tensor, b: Tensor) -> None:
        self.require(a.shape == b.shape, f"{a.name!r} has shape {a.shape} but {b.name!r} has "
                     f"{b.shape}")

    def size_matches(self, a: Tensor, b: Tensor) -> None:
        self.require(a.size == b.size, f"{a.name!r} has {a.size} elements but {b.name!r} has "
                     f"{b.size}")

    def bias(self, i: int, channels: int, dtype: str) -> None:
        """An optional constant bias of `channels` values in `dtype`."""
        if not self.has_input(i):
            return
        b = self.const(i, "bias")
        self.require(b.size == channels and len(b.shape) <= 1 + sum(d > 1 for d in b.shape),
                     f"the bias has shape {b.shape}, expected {channels} values")
        self.require(b.dtype == dtype, f"the bias is {b.dtype}, expected {dtype}")

    # ---- dtypes
    def dtypes(self, tensors: Iterable[Tensor], allowed: Iterable[str]) -> str:
        """Every tensor of one dtype, one of `allowed`; returns it."""
        tensors = tuple(tensors)
        kinds = {t.dtype for t in tensors}
        self.require(len(kinds) == 1, "operands of different dtypes: " +
                     ", ".join(f"{t.name!r} {t.dtype}" for t in tensors))
        (dtype,) = kinds
        self.require(dtype in tuple(allowed), f"dtype {dtype} is not supported by this op")
        return dtype

    def weights(self, w: Tensor, activations: str, channel_axis: int) -> None:
        """Weights of the activations' dtype (or ternary under int8 activations); int8 and
        ternary weights symmetric, one scale or one per output channel along `channel_axis`."""
        self.require(w.dtype == activations or (activations, w.dtype) == ("int8", "ternary"),
                     f"the weights are {w.dtype} but the activations {activations}")
        if activations != "int8":
            return
        q = w.quant
        self.require(q is not None, "int8 weights without quantization parameters")
        self.require(not any(q.zero_point), "int8 weights must be quantized symmetrically "
                     "(zero point 0)")
        channels = w.shape[channel_axis]
        if w.dtype == "ternary" and w.data is not None:
            self.require(ternary_magnitudes(w.data, channel_axis) is not None,
                         "ternary weights take more than one magnitude in an output channel")
        self.require(len(q.scale) == 1 or (q.axis == channel_axis and len(q.scale) == channels),
                     f"the weights have {len(q.scale)} scales along axis {q.axis}, expected 1 or "
                     f"{channels} along axis {channel_axis}")


#: |x - zero point| of an int8 activation is at most 255
INT8_SPAN = 255
INT32_MAX = (1 << 31) - 1


def accumulators_fit(c: NodeCheck, w: Tensor, bias_index: int, channel_axis: int) -> None:
    """The int32 accumulator of an int8 dot product cannot overflow: for every output channel,
    |bias| + 255 * sum |w| stays inside int32, whatever the input (C's signed overflow is
    undefined, so no input may reach it)."""
    if w.data is None or w.dtype not in ("int8", "ternary"):
        return
    magnitude = np.abs(w.data.astype(np.int64))
    per_channel = np.moveaxis(magnitude, channel_axis, 0).reshape(w.shape[channel_axis], -1)
    worst = INT8_SPAN * per_channel.sum(axis=1)
    if c.has_input(bias_index):
        bias = c.graph.tensor(c.node.inputs[bias_index])
        if bias.data is not None and bias.dtype == "int32":
            worst = worst + np.abs(bias.data.astype(np.int64).reshape(-1))
    channel = int(np.argmax(worst))
    c.require(int(worst[channel]) <= INT32_MAX,
              f"the int32 accumulator of output channel {channel} can overflow (bias and "
              f"weights reach {int(worst[channel]):,})")


def sum_fits(c: NodeCheck, count: int, magnitude: int, what: str) -> None:
    """`count` int8 values of at most `magnitude` each sum inside int32."""
    c.require(count * magnitude <= INT32_MAX,
              f"{what} sums {count:,} int8 values: too many for an int32 sum")


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


#: strides, dilations and pads above this are no real model's; below it, the kernels' window
#: arithmetic (origin + dilation, size + pads) stays inside int32
MAX_WINDOW_VALUE = 1 << 28


def window_output(c: NodeCheck, in_hw, kernel_hw, strides, dilations, pads) -> None:
    """Strides, dilations and kernel of a 2-D window op are sane, the pads are four
    non-negative numbers, and the dilated kernel fits the padded input (output dims >= 1)."""
    c.positive(strides, "strides")
    c.positive(dilations, "dilations")
    c.positive(kernel_hw, "the kernel size")
    c.require(len(pads) == 4, f"pads must be 4 numbers (top, left, bottom, right), not {pads}")
    c.non_negative(pads, "pads")
    c.require(max(*strides, *dilations, *pads) <= MAX_WINDOW_VALUE,
              f"strides {tuple(strides)}, dilations {tuple(dilations)} and pads {tuple(pads)} "
              f"must be at most {MAX_WINDOW_VALUE:,}")
    for size, k, d, lo, hi, axis in zip(in_hw, kernel_hw, dilations, pads[:2], pads[2:],
                                        ("height", "width")):
        c.require((k - 1) * d + 1 <= size + lo + hi,
                  f"the kernel ({k}, dilation {d}) does not fit the padded input {axis} "
                  f"({size} + {lo} + {hi})")
