"""Small helpers the rewrite passes share: renaming uses, single-use tests."""

from __future__ import annotations

from ..ir import Graph, Node


def rename_inputs(nodes, mapping: dict[str, str]) -> list[Node]:
    """The nodes with every input named in `mapping` read from its new name instead."""
    return [n.with_(inputs=tuple(mapping.get(i, i) for i in n.inputs))
            if any(i in mapping for i in n.inputs) else n for n in nodes]


def sole_consumer(graph: Graph, name: str, consumers=None) -> Node | None:
    """The one node reading `name`, if exactly one does and `name` is not a graph output."""
    users = (consumers if consumers is not None else graph.consumers()).get(name, [])
    if name in graph.outputs or len(users) != 1:
        return None
    return users[0]


def has_attr(node: Node, field: str) -> bool:
    return node.attrs is not None and hasattr(node.attrs, field)
