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

from ..dtypes import DTYPES, channel_rows, pack_ternary
from ..ir import Graph, Node
from ..ops import REGISTRY, get_op
from ..ops.base import Arg, ConstArray, KernelCall
from ..quant.ternary import weight_axis
from .registry import KernelVariant, add_variant


def signs(node: Node, graph: Graph) -> np.ndarray:
    """The weights' signs, int8 in the IR's layout."""
    return np.sign(graph.tensor(node.inputs[1]).data).astype(np.int8)


def gains(rows: np.ndarray) -> np.ndarray:
    """q per output channel of ternary values as [channel, ...] rows (1 for an all-zero
    channel)."""
    q = np.abs(rows.astype(np.int64)).max(axis=1, initial=0)
    return np.where(q > 0, q, 1)


def with_ternary_weights(call: KernelCall, node: Node, graph: Graph,
                         packed: np.ndarray) -> KernelCall:
    """A call on the weights tensor turned to one on the `packed` signs and the gain (NULL,
    and no constant, when every q is 1)."""
    w = graph.tensor(node.inputs[1])
    q = gains(channel_rows(w.data, weight_axis(node, graph))).astype(np.int32)
    gain = ((Arg("null"),), ()) if np.all(q == 1) else (
        (Arg("const", "gain"),), (ConstArray("gain", "int32_t", q),))
    at = next(i for i, a in enumerate(call.args) if a.kind == "tensor" and a.ref == node.inputs[1])
    return replace(call, args=(*call.args[:at], Arg("const", "weights"), *gain[0],
                               *call.args[at + 1:]),
                   consts=(ConstArray("weights", "uint8_t", packed), *gain[1], *call.consts))


def _portable(node: Node, graph: Graph) -> KernelCall:
    """The int8 portable call (a tm_<op>_generic_s8 kernel) on the packed signs, in the int8
    kernel's weight order: tm_<op>_generic_s8t2."""
    call = get_op(node, graph).lower(node, graph)
    kernel = call.kernel + DTYPES["ternary"].suffix
    call = replace(call, kernel=kernel, sources=(kernel + ".c",))
    return with_ternary_weights(call, node, graph, pack_ternary(signs(node, graph)))


PORTABLE_VARIANTS = tuple(
    add_variant(KernelVariant(f"{op.name}.int8.ternary.portable", op.name, "int8", "ternary",
                              _portable, reason="portable, ternary weights"))
    for op in REGISTRY.values() if op.ternary_weights)
