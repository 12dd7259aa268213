"""Dead-node elimination: drop nodes none of whose outputs reaches a graph output."""

from __future__ import annotations

from ..ir import Graph


def eliminate_dead(graph: Graph) -> Graph:
    live = set(graph.outputs)
    kept = []
    for node in reversed(graph.nodes):
        if any(o in live for o in node.outputs):
            kept.append(node)
            live.update(i for i in node.inputs if i)
    if len(kept) == len(graph.nodes):
        return graph
    return graph.replace(nodes=reversed(kept))
