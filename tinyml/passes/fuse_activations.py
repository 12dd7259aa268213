"""Activation fusion: Relu, Relu6 and Clip after an op with a clamp (`act`) become that clamp.

The producer's output must feed only the activation. For int8, the activation must keep its
input's quantization (then clamping the producer's requantized output is the same thing).
"""

from __future__ import annotations

import dataclasses
import math

from ..ir import Graph, Node
from .graph_edit import has_attr, sole_consumer

_CLAMPS = {"Relu": (0.0, math.inf), "Relu6": (0.0, 6.0)}


def _clamp(node: Node) -> tuple[float, float] | None:
    if node.op == "Clip":
        return node.attrs.lo, node.attrs.hi
    return _CLAMPS.get(node.op)


def fuse_activations(graph: Graph) -> Graph:
    while (fused := _fuse_once(graph)) is not graph:
        graph = fused
    return graph


def _fuse_once(graph: Graph) -> Graph:
    producers, consumers = graph.producers(), graph.consumers()
    fused: dict[str, Node] = {}
    dropped = set()
    for act_node in graph.nodes:
        clamp = _clamp(act_node)
        producer = producers.get(act_node.inputs[0]) if clamp else None
        if producer is None or not has_attr(producer, "act") or producer.name in fused:
            continue
        if sole_consumer(graph, producer.outputs[0], consumers) is not act_node:
            continue
        x, y = graph.tensor(act_node.inputs[0]), graph.tensor(act_node.outputs[0])
        if x.dtype != y.dtype or x.quant != y.quant:
            continue
        lo, hi = producer.attrs.act
        act = (max(lo, clamp[0]), min(hi, clamp[1]))
        fused[producer.name] = producer.with_(outputs=act_node.outputs,
                                              attrs=dataclasses.replace(producer.attrs, act=act))
        dropped.add(act_node.name)
    if not fused:
        return graph
    nodes = [fused.get(n.name, n) for n in graph.nodes if n.name not in dropped]
    return graph.replace(nodes=nodes)
