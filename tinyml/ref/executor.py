"""The golden model: runs a graph with each op's numpy reference, integer-exact for int8.

Every C kernel is checked against this executor, and it is checked against TFLite Micro and
onnxruntime.
"""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError, about
from ..dtypes import DTYPES
from ..ir import Graph
from ..ops import get_op


def _bind_inputs(graph: Graph, inputs) -> dict[str, np.ndarray]:
    if len(inputs) != len(graph.inputs):
        raise ShapeError(f"the model has {len(graph.inputs)} inputs, {len(inputs)} given",
                         model=graph.source)
    values = {}
    for name, value in zip(graph.inputs, inputs):
        t = graph.tensor(name)
        value = np.asarray(value)
        if value.shape != t.shape:
            raise ShapeError(f"input {name!r} has shape {value.shape}, the model expects {t.shape}",
                             model=graph.source)
        values[name] = value.astype(DTYPES[t.dtype].numpy, copy=False)
    return values


def run_trace(graph: Graph, inputs) -> dict[str, np.ndarray]:
    """Every tensor's value for one inference (inputs in graph order, without batch axis)."""
    values = _bind_inputs(graph, inputs)
    values.update({n: t.data for n, t in graph.tensors.items() if t.is_const})
    for node in graph.nodes:
        args = [values[n] if n else None for n in node.inputs]
        with about(graph.source, node.name, node.op):
            outputs = get_op(node, graph).evaluate(node, graph, args)
        for name, value in zip(node.outputs, outputs):
            t = graph.tensor(name)
            assert value.shape == t.shape, (node.name, value.shape, t.shape)
            values[name] = value.astype(DTYPES[t.dtype].numpy, copy=False)
    return values


def run(graph: Graph, inputs) -> list[np.ndarray]:
    values = run_trace(graph, inputs)
    return [values[n] for n in graph.outputs]
