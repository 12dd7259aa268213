"""The numpy reference of one training step, which the generated `<name>_train_step` is
checked against.

State. Every trained tensor keeps its integer copy (int8 weights, int32 bias: what the
forward reads, the whole tensor) and a float32 master of its trained channels in the
tensor's own units (one unit = one step of the int8 or int32 value), initialised to the
integer values. An update moves the master; the copy is the master rounded (half away from
zero) and saturated (weights to +-127, biases to int32).

Step. The int8 forward of the current state (the compiled graph's reference); the loss,
cross-entropy of the softmax of the logits (real units); the backward in real units
(tinyml/train/grads.py); then per trained tensor, SGD: master -= lr * k * g, in float32,
with g the gradient in real units and k per output channel:

- weights, with quantization-aware scaling (QAS, on by default): k = 1 / s_w, which moves
  the real weight by -lr * g as float SGD would; without: k = s_w, the gradient of the
  integer weight itself (s_w * g) taken as is, as if the int8 model were a float one;
- biases (real scale s_b = s_x * s_w): k = 1 / s_b with QAS, s_b without.

Without QAS the updates shrink by s^2 (about 1e-4 for weights, 1e-8 for biases): the
gradient-to-weight ratio of the integer parameters is off by that much (Lin et al., "On-Device
Training Under 256KB Memory", 2022).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import Graph
from ..ref.executor import run_trace
from . import grads
from .plan import TrainedParam, TrainPlan, _node

INT32_LO, INT32_HI = -2.0 ** 31, 2147483520.0   # the float32 values nearest int32's bounds


@dataclass(frozen=True)
class Tensors:
    """One trained tensor's state: its integer copy and the master of its trained channels."""
    ints: np.ndarray       # int8 or int32, the tensor's shape
    master: np.ndarray     # float32, the tensor's shape with its channel axis cut


State = dict  # tensor name -> Tensors


def channels_of(array: np.ndarray, p: TrainedParam) -> np.ndarray:
    """The trained channels of an array of the tensor's shape."""
    return np.take(array, np.arange(p.channels), axis=p.axis)


def init_state(plan: TrainPlan) -> State:
    state = {}
    for p in plan.params:
        data = plan.graph.tensor(p.tensor).data
        state[p.tensor] = Tensors(data.copy(), channels_of(data, p).astype(np.float32))
    return state


def graph_of(plan: TrainPlan, state: State) -> Graph:
    """The trained graph with the state's integer copies as its parameters."""
    return plan.graph.replace(tensors=[plan.graph.tensor(name).with_(data=t.ints)
                                       for name, t in state.items()])


def factors(plan: TrainPlan, p: TrainedParam) -> np.ndarray:
    """k per trained channel (float32), as the generated code holds it: from the weights'
    scales, times the input's for a bias (the scale of the accumulator it adds to)."""
    node = _node(plan.graph, p.node)
    scale = grads.weight_scales(plan.graph, node)[:p.channels]
    if p.role == "bias":
        scale = scale * plan.graph.tensor(node.inputs[0]).quant.scale[0]
    return (1.0 / scale if plan.qas else scale).astype(np.float32)


def round_saturate(master: np.ndarray, role: str) -> np.ndarray:
    """The integer copy of a master: rounded half away from zero, saturated; a NaN (a
    diverged step) becomes the low bound, as in tm_train.c."""
    m = master.astype(np.float64)
    r = np.sign(m) * np.floor(np.abs(m) + 0.5)
    lo, hi, dtype = (-127, 127, np.int8) if role == "weights" else (INT32_LO, INT32_HI, np.int32)
    return np.clip(np.where(np.isnan(r), lo, r), lo, hi).astype(dtype)


def _update(plan: TrainPlan, p: TrainedParam, t: Tensors, grad: np.ndarray, lr: float) -> Tensors:
    shape = [1] * t.master.ndim
    shape[p.axis] = -1
    rate = (np.float32(lr) * factors(plan, p)).reshape(shape)
    g = channels_of(grad, p).astype(np.float32)
    with np.errstate(invalid="ignore", over="ignore"):   # a diverged step: inf * 0, as in C
        master = (t.master - rate * g).astype(np.float32)
    ints = t.ints.copy()
    index = [slice(None)] * ints.ndim
    index[p.axis] = slice(0, p.channels)
    ints[tuple(index)] = round_saturate(master, p.role)
    return Tensors(ints, master)


@dataclass(frozen=True)
class StepResult:
    state: State
    loss: float


def loss(plan: TrainPlan, state: State, x: np.ndarray, label: int) -> float:
    """The loss of one sample under `state`, forward only."""
    values = run_trace(graph_of(plan, state), [x])
    return grads.softmax_xent(values[plan.logits], plan.graph.tensor(plan.logits), int(label),
                              plan.beta)[0]


def train_step(plan: TrainPlan, state: State, x: np.ndarray, label: int, lr: float) -> StepResult:
    graph = graph_of(plan, state)
    values = run_trace(graph, [x])
    logits = graph.tensor(plan.logits)
    loss, dlogits = grads.softmax_xent(values[plan.logits], logits, int(label), plan.beta)
    g: dict[str, np.ndarray] = {plan.logits: dlogits}
    new = dict(state)
    for step in plan.steps:
        node = _node(graph, step.node)
        y = node.outputs[0]
        dy = g[y]
        if step.mask is not None:
            dy = grads.mask(dy, values[y], step.mask)
        param_grads = {}
        if node.op in ("FullyConnected", "Conv2D", "DepthwiseConv2D"):
            fn = {"FullyConnected": grads.fully_connected, "Conv2D": grads.conv2d,
                  "DepthwiseConv2D": grads.depthwise_conv2d}[node.op]
            dx, dw, db = fn(node, graph, dy, values[node.inputs[0]], values[node.inputs[1]])
            param_grads = {"weights": dw, "bias": db}
            passed = {0: dx}
        elif node.op == "AveragePool2D":
            passed = {0: grads.average_pool(node, graph, dy)}
        elif node.op == "Mean":
            passed = {0: grads.mean(node, graph, dy)}
        elif node.op == "Reshape":
            passed = {0: dy.reshape(graph.tensor(node.inputs[0]).shape)}
        else:   # Add, clamps: the gradient passes as it is
            passed = {i: dy for i in range(len(node.inputs))}
        for i in step.grad_inputs:
            name = node.inputs[i]
            g[name] = g.get(name, 0.0) + passed[i]
        for role, grad in param_grads.items():
            p = plan.param(node.name, role)
            if p is not None:
                new[p.tensor] = _update(plan, p, new[p.tensor], grad, lr)
    return StepResult(new, loss)
