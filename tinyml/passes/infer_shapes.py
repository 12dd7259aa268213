"""Shape inference: each op's shape rule, checked against the shapes the frontend recorded.

Frontends take shapes from the model (ONNX shape inference, TFLite tensor shapes); an op whose
own rule disagrees would compute something else than the model, so that is an error here,
at compile time, naming the node.
"""

from __future__ import annotations

from ..errors import ShapeError
from ..ir import Graph
from ..ops import get_op


def infer_shapes(graph: Graph) -> Graph:
    for node in graph.nodes:
        shapes = get_op(node, graph).output_shapes(node, graph)
        for name, shape in zip(node.outputs, shapes):
            recorded = graph.tensor(name).shape
            if tuple(shape) != recorded:
                raise ShapeError(f"the op computes shape {tuple(shape)} for {name!r} but the "
                                 f"model says {recorded}", model=graph.source, node=node.name,
                                 op=node.op)
    return graph
