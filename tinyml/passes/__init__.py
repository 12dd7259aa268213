"""Graph -> Graph rewrites, run in the order of `PIPELINE`."""

from __future__ import annotations

from typing import Callable

from ..ir import Graph, check_graph
from .collapse_reshapes import collapse_reshapes
from .eliminate_dead import eliminate_dead
from .fold_batchnorm import fold_batchnorm
from .fold_constants import fold_constants
from .fold_pad import fold_pad
from .fuse_activations import fuse_activations
from .fuse_qdq import fuse_qdq
from .infer_shapes import infer_shapes
from .remove_transposes import remove_transposes

__all__ = ["PIPELINE", "run_pipeline", "collapse_reshapes", "eliminate_dead", "fold_batchnorm",
           "fold_constants", "fold_pad", "fuse_activations", "fuse_qdq", "infer_shapes",
           "remove_transposes"]

Pass = Callable[[Graph], Graph]

PIPELINE: list[Pass] = [
    infer_shapes,
    fold_constants,
    remove_transposes,
    fuse_qdq,
    remove_transposes,      # again: int8 Transpose -> Reshape -> FullyConnected folds now
    collapse_reshapes,
    fold_batchnorm,
    fold_pad,
    fuse_activations,
    eliminate_dead,
    infer_shapes,
]


def run_pipeline(graph: Graph, passes: list[Pass] | None = None, check: bool = False) -> Graph:
    for p in PIPELINE if passes is None else passes:
        graph = p(graph)
        if check:
            check_graph(graph)
    return graph
