"""Reshape views: a Reshape to the same shape disappears, and a chain of Reshapes becomes one.

Reshapes (Flatten, Squeeze, Unsqueeze, ...) are views already, so this saves no copy; it
makes patterns such as Transpose -> Reshape -> FullyConnected visible to later rewrites.
"""

from __future__ import annotations

from ..ir import Graph
from .eliminate_dead import eliminate_dead
from .graph_edit import rename_inputs


def collapse_reshapes(graph: Graph) -> Graph:
    renames: dict[str, str] = {}
    producers = {}
    nodes = []
    for node in graph.nodes:
        node = rename_inputs([node], renames)[0]
        if node.op == "Reshape":
            src, out = node.inputs[0], node.outputs[0]
            before = producers.get(src)
            if before is not None and before.op == "Reshape":
                src = before.inputs[0]
            if graph.tensor(src).shape == graph.tensor(out).shape and out not in graph.outputs:
                renames[out] = src
                continue
            if src != node.inputs[0]:
                node = node.with_(inputs=(src,))
        nodes.append(node)
        producers.update((o, node) for o in node.outputs)
    if len(nodes) == len(graph.nodes) and all(a is b for a, b in zip(nodes, graph.nodes)):
        return graph
    return eliminate_dead(graph.replace(nodes=nodes))
