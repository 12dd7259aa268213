"""Constant folding: a node whose inputs are all constants is evaluated once, at compile
time, with the reference executor's op code; its outputs become constants.

Dequantize stays (the QDQ pass reads integer weights and their scales from it, then folds
what is left), and so does a node computing a graph output (the caller's buffer must be
written).
"""

from __future__ import annotations

from typing import Callable

from ..ir import Graph, Node
from ..ops import get_op


def fold_constants(graph: Graph) -> Graph:
    return fold_nodes(graph, lambda node: node.op != "Dequantize")


def fold_nodes(graph: Graph, selected: Callable[[Node], bool]) -> Graph:
    """Fold every `selected` node whose inputs are all constants."""
    while (node := _foldable(graph, selected)) is not None:
        values = get_op(node, graph).evaluate(
            node, graph, [graph.tensor(n).data if n else None for n in node.inputs])
        folded = [graph.tensor(o).with_(data=v) for o, v in zip(node.outputs, values)]
        graph = graph.replace(nodes=[n for n in graph.nodes if n is not node], tensors=folded)
    return graph


def _foldable(graph: Graph, selected) -> Node | None:
    for node in graph.nodes:
        names = [n for n in node.inputs if n]
        if (selected(node) and names and not any(o in graph.outputs for o in node.outputs)
                and all(graph.tensor(n).is_const for n in names)):
            return node
    return None
