"""The training plan: from an int8 graph and what to train (tinyml/train/spec.py), the
parameters updated, the backward steps for exactly those, and the forward tensors the
backward reads.

Gradients flow from the loss back to the earliest trained layer and no further: a layer
gets the gradient of its output when a trained layer lies at or before it on a path to the
loss, and passes a gradient to an input only when that input depends on a trained layer.
Each trained layer updates its parameters as soon as its output gradient exists, after it
has passed the gradient on with the weights the forward used (so the step is plain SGD).

Forward tensors the backward reads ("saved"): the input of every layer whose weights are
trained (the weight gradient needs it), the int8 output of every layer the gradient passes
through (where it saturates or its activation clips, no gradient passes: the mask), and the
logits the loss reads. Nothing else is kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import UnsupportedError, UsageError
from ..ir import Graph, Node, Quant, Tensor
from ..numerics import activation_range
from ..ops import get_op
from ..quant.params import bias_scales
from ..quant.ternary import weight_axis
from .spec import TrainSpec

TRAINABLE_OPS = ("Conv2D", "DepthwiseConv2D", "FullyConnected")
#: ops a gradient passes through (besides the trainable ones)
PASS_OPS = ("Reshape", "AveragePool2D", "Mean", "Add", "Relu", "Relu6", "Clip")
CLAMP_OPS = ("Relu", "Relu6", "Clip")


@dataclass(frozen=True)
class TrainedParam:
    node: str
    tensor: str
    role: str            # "weights" | "bias"
    channels: int        # the first `channels` output channels are updated
    axis: int            # the output-channel axis of the tensor


@dataclass(frozen=True)
class BackwardStep:
    node: str
    grad_inputs: tuple[int, ...]   # the inputs (positions) this step passes a gradient to
    mask: tuple[int, int] | None   # the output's int8 range: gradient only strictly inside


@dataclass(frozen=True)
class TrainPlan:
    graph: Graph                    # the graph trained: zero biases added where trained
    params: tuple[TrainedParam, ...]
    steps: tuple[BackwardStep, ...]  # in the order they run (reverse of the forward)
    saved: tuple[str, ...]           # forward tensors the backward reads, in forward order
    logits: str                      # the tensor the loss reads (dequantized)
    beta: float                      # the softmax's beta the loss applies
    qas: bool
    spec: TrainSpec

    def param(self, node: str, role: str) -> TrainedParam | None:
        return next((p for p in self.params if p.node == node and p.role == role), None)


def _node(graph: Graph, name: str) -> Node:
    return next(n for n in graph.nodes if n.name == name)


def trainable_nodes(graph: Graph) -> list[Node]:
    """Layers with constant weights, in graph order."""
    return [n for n in graph.nodes if n.op in TRAINABLE_OPS and graph.tensor(n.inputs[1]).is_const]


def output_range(node: Node, graph: Graph) -> tuple[int, int]:
    """The int8 range the node's output is clamped to (its activation, or all of int8)."""
    if node.op in CLAMP_OPS:
        p = get_op(node, graph).prepare_int8(node, graph)
        return p.act_min, p.act_max
    act = getattr(node.attrs, "act", None)
    y = graph.tensor(node.outputs[0])
    if act is None or y.quant is None:
        return -128, 127
    return activation_range(*act, y.quant.scale[0], y.quant.zero_point[0])


def _choose(graph: Graph, spec: TrainSpec) -> dict[str, dict[str, int]]:
    """layer -> {"weights": channels, "bias": channels} of what the spec trains."""
    layers = trainable_nodes(graph)
    if not layers:
        raise UnsupportedError("nothing to train: the model has no layer with weights",
                               model=graph.source)
    out_channels = {n.name: graph.tensor(n.outputs[0]).shape[-1] for n in layers}
    chosen: dict[str, dict[str, int]] = {}
    if spec.mode == "full":
        picked = layers
    elif spec.mode == "last":
        picked = layers[-spec.last:]
    else:
        picked = []
    for n in picked:
        chosen[n.name] = {"weights": out_channels[n.name], "bias": out_channels[n.name]}
    if spec.mode == "sparse":
        names = {n.name for n in layers}
        for name in (*spec.bias_layers, *(n for n, _ in spec.weights)):
            if name not in names:
                raise UsageError(f"--train: no layer with weights is named {name!r} "
                                 f"(layers: {', '.join(sorted(names))})")
        tail = {n.name for n in layers[len(layers) - min(spec.biases, len(layers)):]}
        for n in layers:
            if n.name in tail or n.name in spec.bias_layers:
                chosen.setdefault(n.name, {})["bias"] = out_channels[n.name]
        for name, fraction in spec.weights:
            chosen.setdefault(name, {})["weights"] = max(1, math.ceil(fraction * out_channels[name]))
    return chosen


def _with_bias(graph: Graph, node: Node) -> tuple[Graph, Node]:
    """The node with a zero int32 bias where it has none (its scale: input x weights')."""
    if len(node.inputs) > 2 and node.inputs[2]:
        return graph, node
    w, x = graph.tensor(node.inputs[1]), graph.tensor(node.inputs[0])
    channels = graph.tensor(node.outputs[0]).shape[-1]
    scales = np.broadcast_to(np.asarray(w.quant.scale), (channels,))
    bias = Tensor(graph.unique_name(f"{node.name}/bias"), (channels,), "int32",
                  Quant.of(bias_scales(x.quant.scale[0], scales), 0, 0),
                  np.zeros(channels, np.int32))
    new = node.with_(inputs=(node.inputs[0], node.inputs[1], bias.name))
    return graph.replace(nodes=[new if n is node else n for n in graph.nodes],
                         tensors=[bias]), new


def _check_layer(graph: Graph, node: Node) -> None:
    w = graph.tensor(node.inputs[1])
    where = dict(model=graph.source, node=node.name, op=node.op)
    if w.dtype != "int8":
        raise UnsupportedError(f"training updates int8 weights; this layer's are {w.dtype}",
                               **where)
    if node.op == "Conv2D" and node.attrs.groups != 1:
        raise UnsupportedError("training a grouped convolution is not supported", **where)


def build_plan(graph: Graph, spec: TrainSpec) -> TrainPlan:
    """The plan of `spec` on an int8 graph with one input and one output."""
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise UnsupportedError("training needs a model of one input and one output",
                               model=graph.source)
    if graph.tensor(graph.outputs[0]).dtype != "int8":
        raise UsageError("training runs on int8 models: compile with --dtype int8",
                         model=graph.source)
    chosen = _choose(graph, spec)
    for name in chosen:
        _check_layer(graph, _node(graph, name))
    for name, roles in chosen.items():
        if "bias" in roles:
            graph, _ = _with_bias(graph, _node(graph, name))
    params = []
    for node in trainable_nodes(graph):
        roles = chosen.get(node.name, {})
        for role, index in (("weights", 1), ("bias", 2)):
            if role in roles:
                params.append(TrainedParam(node.name, node.inputs[index], role, roles[role],
                                           weight_axis(node, graph) if role == "weights" else 0))

    producers = graph.producers()
    last = producers[graph.outputs[0]]
    beta = 1.0
    logits = graph.outputs[0]
    nodes = list(graph.nodes)
    if last.op == "Softmax":
        logits, beta = last.inputs[0], float(last.attrs.beta)
        nodes.remove(last)
    # a node carries a gradient when a trained node lies at or before it
    carries: set[str] = set()
    depends: set[str] = set()      # tensors that depend on trained parameters
    for node in nodes:
        if node.name in chosen or any(t in depends for t in node.inputs if t):
            carries.add(node.name)
            depends.update(node.outputs)
    if logits not in depends:
        raise UsageError("--train: the loss does not depend on the trained layers",
                         model=graph.source)
    steps, saved = [], set()
    for node in reversed(nodes):
        if node.name not in carries:
            continue
        if node.op not in TRAINABLE_OPS + PASS_OPS:
            raise UnsupportedError("training cannot pass a gradient through this op",
                                   model=graph.source, node=node.name, op=node.op)
        if node.op == "Mean" and (len(graph.tensor(node.inputs[0]).shape) != 4
                                  or tuple(node.attrs.axes) != (1, 2)):
            raise UnsupportedError("training passes gradients through a Mean over height and "
                                   "width only", model=graph.source, node=node.name, op=node.op)
        if node.op == "AveragePool2D" and tuple(node.attrs.dilations) != (1, 1):
            raise UnsupportedError("training passes gradients through undilated average "
                                   "pools only", model=graph.source, node=node.name, op=node.op)
        if node.op == "Add" and len({graph.tensor(t).shape for t in node.inputs}) != 1:
            raise UnsupportedError("training passes gradients through an Add of equal shapes "
                                   "only", model=graph.source, node=node.name, op=node.op)
        grad_inputs = tuple(i for i, t in enumerate(node.inputs) if t in depends
                            and not graph.tensor(t).is_const)
        if node.op in TRAINABLE_OPS:
            grad_inputs = tuple(i for i in grad_inputs if i == 0)
        mask = None if node.op == "Reshape" else output_range(node, graph)
        if mask is not None:
            saved.add(node.outputs[0])
        if "weights" in chosen.get(node.name, {}):
            saved.add(node.inputs[0])
        steps.append(BackwardStep(node.name, grad_inputs, mask))
    saved.add(logits)
    order = [t for n in nodes for t in (*n.inputs, *n.outputs)] + list(graph.inputs)
    saved_order = tuple(t for t in dict.fromkeys([*graph.inputs, *order]) if t in saved)
    return TrainPlan(graph, tuple(params), tuple(steps), saved_order, logits, beta, spec.qas,
                     spec)
