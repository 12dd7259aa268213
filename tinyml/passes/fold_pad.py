"""A constant Pad of the height and width only, writing the padded tensor's own zero (int8: its
zero point; float32: 0.0), read by one Conv2D or DepthwiseConv2D and nothing else, becomes that
layer's padding. The layer skips the taps the Pad wrote, and those taps add exactly nothing
(an int8 zero point minus itself, or +-0.0), so outputs are unchanged bit for bit; the padded
copy's bytes and its pass are saved (Keras' ZeroPadding2D before strided convs)."""

from __future__ import annotations

import dataclasses

from ..ir import Graph
from ..ops.base import per_tensor
from ..ops.pad import pad_value
from .eliminate_dead import eliminate_dead
from .graph_edit import sole_consumer

CONV_LIKE = ("Conv2D", "DepthwiseConv2D")


def _pads_zero(node, graph) -> bool:
    x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    if x.dtype == "int8":   # the conv then reads x with the quantization it read y with
        return x.quant == y.quant and pad_value(node, graph) == per_tensor(x)[1]
    return x.dtype == "float32" and pad_value(node, graph) == 0.0


def fold_pad(graph: Graph) -> Graph:
    consumers = graph.consumers()
    folded: dict[str, tuple[str, tuple[int, int, int, int]]] = {}   # conv -> (input, pads)
    dropped: set[str] = set()
    for node in graph.nodes:
        if node.op != "Pad" or len(node.attrs.pads) != 4:
            continue
        conv = sole_consumer(graph, node.outputs[0], consumers)
        (n0, n1), (top, bottom), (left, right), (c0, c1) = node.attrs.pads
        if (conv is None or conv.op not in CONV_LIKE or conv.inputs[0] != node.outputs[0]
                or (n0, n1, c0, c1) != (0, 0, 0, 0) or not _pads_zero(node, graph)):
            continue
        folded[conv.name] = (node.inputs[0], (top, left, bottom, right))
        dropped.add(node.name)
    if not folded:
        return graph
    nodes = []
    for node in graph.nodes:
        if node.name in dropped:
            continue
        if node.name in folded:
            src, (top, left, bottom, right) = folded[node.name]
            t, l, b, r = node.attrs.pads
            attrs = dataclasses.replace(node.attrs, pads=(t + top, l + left, b + bottom, r + right))
            node = node.with_(inputs=(src, *node.inputs[1:]), attrs=attrs)
        nodes.append(node)
    return eliminate_dead(graph.replace(nodes=nodes))
