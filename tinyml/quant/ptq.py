"""Post-training quantization: a float graph plus activation ranges -> an int8 graph.

The nodes stay as they are; only tensors change (dtype, quantization, data), and each op's
int8 `prepare` derives its multipliers from them. What an op needs comes from its traits
(tinyml/ops/base.py):
- `weight_axes`: constant float weights become per-channel symmetric int8 along that axis,
  or ternary where `ternary_weights` and they take at most {-s, 0, +s} per channel
  (tinyml/quant/ternary.py);
- `bias_input`: the bias becomes int32 at input_scale * weight_scale per channel (weight
  scales are raised where needed so the int32 bias cannot saturate);
- `fixed_output_quant`: the output takes the op's fixed parameters (softmax, logistic, tanh);
- `keeps_input_quant`: the output and every float input share one quantization, as TFLite
  Micro's int8 kernels for these ops require (reshape, pooling, pad, concatenation: a
  concatenation's inputs and output must all agree). Such tensors form a group quantized over
  the union of their ranges, or with the fixed parameters of a member.
Every other float tensor (activations, graph inputs and outputs, other float constants) gets
per-tensor asymmetric int8 over its range, so the model's I/O dtype becomes int8.
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedError
from ..ir import Graph, Node, Quant, Tensor
from ..numerics import quantize
from ..ops import get_op
from . import params
from .ternary import float_ternary


class _Groups:
    """Union-find over tensor names."""

    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, name: str) -> str:
        self.parent.setdefault(name, name)
        while self.parent[name] != name:
            self.parent[name] = self.parent[self.parent[name]]
            name = self.parent[name]
        return name

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def _is_float(graph: Graph, name: str) -> bool:
    return bool(name) and graph.tensor(name).dtype == "float32"


def _is_const_float(graph: Graph, name: str) -> bool:
    return _is_float(graph, name) and graph.tensor(name).is_const


def _input(node: Node, index: int | None) -> str:
    """The name of an optional input ("" when absent)."""
    return node.inputs[index] if index is not None and index < len(node.inputs) else ""


def _weight_and_bias_inputs(graph: Graph) -> tuple[set[str], set[str]]:
    weights, biases = set(), set()
    for node in graph.nodes:
        op = get_op(node, graph)
        weights.update(n for n in (_input(node, i) for i in op.weight_axes)
                       if _is_const_float(graph, n))
        if _is_const_float(graph, _input(node, op.bias_input)):
            biases.add(_input(node, op.bias_input))
    return weights, biases


def _tensor_range(t: Tensor, ranges: dict[str, tuple[float, float]]) -> tuple[float, float]:
    if t.is_const:
        return (float(t.data.min()), float(t.data.max())) if t.size else (0.0, 0.0)
    return ranges.get(t.name, (0.0, 0.0))


def activation_quants(graph: Graph, ranges: dict[str, tuple[float, float]],
                      skip: set[str]) -> dict[str, Quant]:
    """Quantization of every float tensor not in `skip` (weights and biases)."""
    names = [n for n in graph.tensors if _is_float(graph, n) and n not in skip]
    groups = _Groups()
    fixed: dict[str, tuple[float, int]] = {}
    for node in graph.nodes:
        op = get_op(node, graph)
        if op.keeps_input_quant:
            members = [n for n in (*node.inputs, *node.outputs)
                       if _is_float(graph, n) and n not in skip]
            for other in members[1:]:
                groups.union(members[0], other)
    for node in graph.nodes:
        op = get_op(node, graph)
        if op.fixed_output_quant is None or not _is_float(graph, node.outputs[0]):
            continue
        root = groups.find(node.outputs[0])
        if fixed.setdefault(root, op.fixed_output_quant) != op.fixed_output_quant:
            raise UnsupportedError("tensors that must share one quantization have different fixed "
                                   "output quantizations", model=graph.source or None,
                                   node=node.name, op=node.op)
    spans: dict[str, tuple[float, float]] = {}
    for name in names:
        lo, hi = _tensor_range(graph.tensor(name), ranges)
        root = groups.find(name)
        old_lo, old_hi = spans.get(root, (lo, hi))
        spans[root] = (min(lo, old_lo), max(hi, old_hi))
    out = {}
    for name in names:
        root = groups.find(name)
        out[name] = (Quant.of(*fixed[root]) if root in fixed
                     else params.activation_quant(*spans[root]))
    return out


def _quantize_weighted(node: Node, graph: Graph, done: dict[str, Tensor]) -> None:
    """Weights (per channel) and bias (int32) of one node, into `done`."""
    op = get_op(node, graph)
    if not op.weight_axes or node.inputs[0] not in done:
        return
    in_scale = done[node.inputs[0]].quant.scale[0]
    bias_name = _input(node, op.bias_input)
    bias = graph.tensor(bias_name) if _is_const_float(graph, bias_name) else None
    w_quant = None
    for index, axis in sorted(op.weight_axes.items()):
        name = _input(node, index)
        if not name:
            continue
        if name not in done:
            w = graph.tensor(name)
            axis %= len(w.shape)
            floor = None
            if bias is not None and bias.size == w.shape[axis]:
                floor = params.bias_min_weight_scales(bias.data, in_scale)
            ternary = float_ternary(w.data, axis) if op.ternary_weights and index == 1 else None
            if ternary is not None:
                t, scales = ternary
                if floor is not None and np.any(scales < floor):
                    # the bias must fit: a channel's scale too small for it becomes the
                    # smallest that fits, its +-s rounded to it as int8 would round them (to
                    # +-1 or 0), and the weights stay ternary with no gain
                    scales = np.maximum(scales, floor).astype(np.float32)
                    t = np.clip(params.quantize_weights(w.data, scales, axis), -1, 1)
                done[name] = w.with_(dtype="ternary", quant=Quant.of(scales, 0, axis), data=t)
            else:
                scales = params.weight_scales(w.data, axis, floor)
                done[name] = w.with_(dtype="int8", quant=Quant.of(scales, 0, axis),
                                     data=params.quantize_weights(w.data, scales, axis))
        w_quant = w_quant or done[name].quant
    if bias is None or w_quant is None or bias_name in done:
        return
    scales = params.bias_scales(in_scale, np.asarray(w_quant.scale))
    data = params.quantize_bias(bias.data, np.broadcast_to(scales, bias.shape))
    done[bias_name] = bias.with_(dtype="int32", quant=Quant.of(scales, 0, 0), data=data)


def convert(graph: Graph, ranges: dict[str, tuple[float, float]]) -> Graph:
    """The int8 graph for a float graph whose activations take values in `ranges`."""
    weights, biases = _weight_and_bias_inputs(graph)
    done: dict[str, Tensor] = {}
    for name, q in activation_quants(graph, ranges, weights | biases).items():
        t = graph.tensor(name)
        data = None if not t.is_const else quantize(t.data, q.scale[0], q.zero_point[0])
        done[name] = t.with_(dtype="int8", quant=q, data=data)
    for node in graph.nodes:
        _quantize_weighted(node, graph, done)
    left = sorted((weights | biases) - set(done))
    if left:
        raise UnsupportedError(f"cannot quantize float tensors {', '.join(left)}: their op's "
                               "input is not quantized", model=graph.source or None)
    return graph.replace(tensors=done.values())
