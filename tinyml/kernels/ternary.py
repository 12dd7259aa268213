"""Ternary weights in kernels (codegen/kernels/tm_ternary.h): what every ternary variant
reads besides its layout of the signs, and the portable variants of Conv2D, DepthwiseConv2D
and FullyConnected, which keep the int8 kernel's weight order with the signs packed.

The IR holds ternary weights as values +-q (tinyml/quant/ternary.py); a kernel sums +-x and
multiplies by q once per output (`gain`, omitted when every q is 1), so it computes the int8
kernel's accumulator exactly.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..dtypes import kernel_suffix, pack_ternary, ternary_magnitudes
from ..ir import Graph, Node
from ..ops import REGISTRY, get_op
from ..ops.base import Arg, ConstArray, KernelCall
from .registry import KernelVariant, add_variant


def channel_axis(node: Node, graph: Graph) -> int:
    w = graph.tensor(node.inputs[1])
    return get_op(node, graph).weight_axes[1] % len(w.shape)


def signs(node: Node, graph: Graph) -> np.ndarray:
    """The weights' signs, int8 in the IR's layout."""
    return np.sign(graph.tensor(node.inputs[1]).data).astype(np.int8)


def gains(node: Node, graph: Graph) -> np.ndarray:
    """q per output channel (1 for an all-zero channel)."""
    w = graph.tensor(node.inputs[1])
    top = ternary_magnitudes(w.data, channel_axis(node, graph))
    return np.where(top > 0, top, 1).astype(np.int32)


def gain_consts(node: Node, graph: Graph) -> tuple[tuple[Arg, ...], tuple[ConstArray, ...]]:
    """The gain argument and its constant: NULL and none when every q is 1."""
    q = gains(node, graph)
    if np.all(q == 1):
        return (Arg("null"),), ()
    return (Arg("const", "gain"),), (ConstArray("gain", "int32_t", q),)


def _portable(node: Node, graph: Graph) -> KernelCall:
    """The int8 portable call with the weights replaced by their packed signs and the gain."""
    call = get_op(node, graph).lower(node, graph)
    kernel = call.kernel + kernel_suffix("int8", "ternary")[len("s8"):]
    at = next(i for i, a in enumerate(call.args) if a.kind == "tensor" and a.ref == node.inputs[1])
    gain_args, gain_const = gain_consts(node, graph)
    args = (*call.args[:at], Arg("const", "weights"), *gain_args, *call.args[at + 1:])
    weights = ConstArray("weights", "uint8_t", pack_ternary(signs(node, graph)))
    return replace(call, kernel=kernel, sources=(kernel + ".c",), args=args,
                   consts=(weights, *gain_const, *call.consts))


PORTABLE_VARIANTS = tuple(
    add_variant(KernelVariant(f"{op.name}.int8.ternary.portable", op.name, "int8", "ternary",
                              _portable, reason="portable, ternary weights"))
    for op in REGISTRY.values() if op.ternary_weights)
