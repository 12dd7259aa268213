"""Reshape (also Flatten, Squeeze, ExpandDims): the same bytes under a new shape.

A view: the planner gives the output the input's buffer, so no code runs, unless the output
is a graph output (then the bytes are copied into the caller's buffer).
"""

from __future__ import annotations

from ..ir import Graph, Node
from .base import Arg, KernelCall, Op, register, tensor_args
from .checks import NodeCheck


@register
class Reshape(Op):
    name = "Reshape"
    is_view = True
    keeps_input_quant = True

    def check(self, node, graph):
        c = NodeCheck(node, graph)
        x, y = c.input(0), c.output()
        c.dtypes((x, y), self.dtypes)
        c.size_matches(x, y)

    def evaluate(self, node: Node, graph: Graph, inputs):
        return [inputs[0].reshape(graph.tensor(node.outputs[0]).shape)]

    def lower(self, node: Node, graph: Graph) -> KernelCall:
        out = graph.tensor(node.outputs[0])
        return KernelCall(kernel="tm_copy", sources=("tm_copy.c",),
                          args=(*tensor_args(node.inputs[0], node.outputs[0]),
                                Arg("int", value=out.nbytes)))
