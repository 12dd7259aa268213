"""Graph -> Graph rewrites, run in the order of `PIPELINE`."""

from __future__ import annotations

from typing import Callable

from ..ir import Graph, check_graph

Pass = Callable[[Graph], Graph]

PIPELINE: list[Pass] = []


def run_pipeline(graph: Graph, passes: list[Pass] | None = None, check: bool = False) -> Graph:
    for p in PIPELINE if passes is None else passes:
        graph = p(graph)
        if check:
            check_graph(graph)
    return graph
