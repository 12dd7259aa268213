"""BatchNorm folding: a per-channel scale and shift after a Conv2D, DepthwiseConv2D or
FullyConnected moves into its weights and bias.

The ONNX importer writes inference BatchNormalization as Mul(x, s) -> Add(., t) with
per-channel constants, and bias additions (Conv -> Add(b)) look the same, so one rule
covers both: Mul by a constant along the output channel scales the weights and the bias;
Add / Sub of such a constant shifts the bias. Float graphs only (int8 weights are final).
A BatchNorm after anything else stays a Mul and an Add (an elementwise per-channel affine).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..ir import Graph, Tensor
from ..ops import get_op
from ..ops.base import NO_CLAMP
from .graph_edit import sole_consumer

_AFFINE = {"Mul", "Add", "Sub"}
_LINEAR = {"Conv2D", "DepthwiseConv2D", "FullyConnected"}


def fold_batchnorm(graph: Graph) -> Graph:
    while True:
        consumers = graph.consumers()
        for node in graph.nodes:
            if node.op not in _LINEAR or node.attrs.act != NO_CLAMP:
                continue
            follower = sole_consumer(graph, node.outputs[0], consumers)
            if follower is None or follower.op not in _AFFINE:
                continue
            channel = _channel_constant(graph, node, follower)
            if channel is not None:
                graph = _fold(graph, node, follower, channel)
                break
        else:
            return graph


def _channel_constant(graph: Graph, node, follower) -> np.ndarray | None:
    """The follower's other operand as one value per output channel, or None."""
    y = graph.tensor(node.outputs[0])
    w = graph.tensor(node.inputs[1])
    if y.dtype != "float32" or not w.is_const or w.dtype != "float32":
        return None
    if graph.tensor(follower.outputs[0]).shape != y.shape or len(set(follower.inputs)) != 2:
        return None
    index = follower.inputs.index(node.outputs[0])
    if follower.op == "Sub" and index != 0:
        return None
    c = graph.tensor(follower.inputs[1 - index])
    if not c.is_const or c.dtype != "float32" or c.data.ndim > len(y.shape):
        return None
    per_channel = c.data.ndim == 0 or c.data.shape[-1] in (1, y.shape[-1])
    if not per_channel or any(d != 1 for d in c.data.shape[:-1]):
        return None
    return np.broadcast_to(c.data.reshape(-1), (y.shape[-1],)).astype(np.float64)


def _fold(graph: Graph, node, follower, channel: np.ndarray) -> Graph:
    op = get_op(node, graph)
    w = graph.tensor(node.inputs[1])
    axis = op.weight_axes[1]
    n_out = w.shape[axis]
    bias_name = node.inputs[2] if len(node.inputs) > 2 else ""
    bias = (graph.tensor(bias_name).data.astype(np.float64) if bias_name
            else np.zeros(n_out, np.float64))
    weights = w.data
    if follower.op == "Mul":
        shape = [1] * w.data.ndim
        shape[axis] = n_out
        weights = (w.data.astype(np.float64) * channel.reshape(shape)).astype(np.float32)
        bias = bias * channel
    else:
        bias = bias + channel if follower.op == "Add" else bias - channel
    w_new = Tensor(graph.unique_name(f"{w.name}_folded"), w.shape, "float32", data=weights)
    b_new = Tensor(graph.unique_name(f"{node.name}_bias"), (n_out,), "float32",
                   data=bias.astype(np.float32))
    act = getattr(follower.attrs, "act", NO_CLAMP)
    fused = node.with_(inputs=(node.inputs[0], w_new.name, b_new.name),
                       outputs=follower.outputs, attrs=dataclasses.replace(node.attrs, act=act))
    nodes = [fused if n is node else n for n in graph.nodes if n is not follower]
    return graph.replace(nodes=nodes, tensors=[w_new, b_new])
