"""QDQ models to int8 ops: Dequantize -> float op -> Quantize groups become the int8 op.

ONNX QDQ models (onnxruntime.quantization.quantize_static, and QLinearConv / QLinearMatMul,
which the importer writes in the same form) compute each op in float between a Dequantize
of its int8 inputs and a Quantize of its output. The group becomes one int8 op on the int8
tensors with their quantization: weights dequantized from int8 constants become int8
constants with per-channel Quant; a bias dequantized from int32 stays int32 (re-rounded when
its scale is not input scale x weight scale, which the int8 kernels assume). Requantization
is then TFLite's, which may differ from onnxruntime's float rounding by 1 LSB.
A group the int8 op cannot express (asymmetric weights, an output quantization the op fixes
or keeps otherwise) stays in float. Quantize and Dequantize remain at the graph edges; a
Dequantize that meets a Quantize of the same parameters cancels; a Dequantize of a constant
that nothing fused is folded into a float constant.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node, Quant, Tensor
from ..numerics import dequantize, round_half_away
from ..ops import get_op
from .eliminate_dead import eliminate_dead
from .fold_constants import fold_nodes
from .graph_edit import rename_inputs

_EDGES = {"Quantize", "Dequantize"}


def fuse_qdq(graph: Graph) -> Graph:
    producers, consumers = graph.producers(), graph.consumers()
    new_tensors: list[Tensor] = []
    replaced: dict[str, Node] = {}
    absorbed: set[str] = set()
    renames: dict[str, str] = {}
    for node in graph.nodes:
        if node.op in _EDGES:
            continue
        group = _int8_node(graph, node, producers, consumers, new_tensors)
        if group is None:
            continue
        fused, quantizes = group
        replaced[node.name] = fused
        absorbed.update(q.name for q in quantizes)
        renames.update((q.outputs[0], quantizes[0].outputs[0]) for q in quantizes[1:])
    if replaced:
        nodes = [replaced.get(n.name, n) for n in graph.nodes if n.name not in absorbed]
        graph = graph.replace(nodes=rename_inputs(nodes, renames), tensors=new_tensors)
    graph = eliminate_dead(_cancel_pairs(graph))
    return fold_nodes(graph, lambda n: n.op == "Dequantize")


def _int8_node(graph: Graph, node: Node, producers, consumers, new_tensors):
    """(the int8 version of `node`, the Quantize nodes it absorbs), or None."""
    if len(node.outputs) != 1 or node.outputs[0] in graph.outputs:
        return None
    quantizes = list({q.name: q for q in consumers.get(node.outputs[0], [])}.values())
    if not quantizes or any(q.op != "Quantize" for q in quantizes):
        return None
    y = graph.tensor(quantizes[0].outputs[0])
    if y.dtype != "int8" or y.quant is None or y.quant.per_channel or any(
            graph.tensor(q.outputs[0]).quant != y.quant for q in quantizes):
        return None
    op = get_op(node, graph)
    sources = []
    for name in node.inputs:
        p = producers.get(name) if name else None
        if name and (p is None or p.op != "Dequantize"):
            return None
        sources.append(p.inputs[0] if name else "")
    for index, name in enumerate(sources):
        t = graph.tensor(name) if name and index != op.bias_input else None
        if t is None:
            continue
        if t.dtype != "int8" or t.quant is None:
            return None
        if index in op.weight_axes:
            if not t.is_const or any(t.quant.zero_point) or (
                    t.quant.per_channel and t.quant.axis != op.weight_axes[index]):
                return None
        elif t.quant.per_channel:
            return None
    if op.bias_input is not None and op.bias_input < len(sources) and sources[op.bias_input]:
        bias = _int32_bias(graph, sources, op, new_tensors)
        if bias is None:
            return None
        sources[op.bias_input] = bias
    x_quant = graph.tensor(sources[0]).quant
    if op.keeps_input_quant and x_quant != y.quant:
        return None
    fixed = op.fixed_output_quant
    if fixed is not None and not (np.isclose(y.quant.scale[0], fixed[0], rtol=1e-6)
                                  and y.quant.zero_point[0] == fixed[1]):
        return None
    return node.with_(inputs=tuple(sources), outputs=(y.name,)), quantizes


def _int32_bias(graph: Graph, sources, op, new_tensors) -> str | None:
    """The bias as int32 at scale input_scale * weight_scale (per output channel)."""
    b = graph.tensor(sources[op.bias_input])
    x, w = graph.tensor(sources[0]), graph.tensor(sources[1])
    if not b.is_const or b.quant is None:
        return None
    wanted = x.quant.scale[0] * np.broadcast_to(np.asarray(w.quant.scale), b.shape)
    if b.dtype == "int32" and np.allclose(np.broadcast_to(b.quant.scale, b.shape), wanted,
                                          rtol=1e-6, atol=0):
        return b.name
    real = dequantize(b.data, b.quant.scale, b.quant.zero_point, axis=0).astype(np.float64)
    q = np.clip(round_half_away(real / wanted), -(1 << 31), (1 << 31) - 1).astype(np.int32)
    t = Tensor(graph.unique_name(f"{b.name}_int32"), b.shape, "int32", Quant.of(wanted, 0), q)
    new_tensors.append(t)
    return t.name


def _cancel_pairs(graph: Graph) -> Graph:
    """Quantize(Dequantize(q)) with q's own parameters is q."""
    producers = graph.producers()
    renames = {}
    for node in graph.nodes:
        p = producers.get(node.inputs[0]) if node.op == "Quantize" else None
        if p is None or p.op != "Dequantize" or node.outputs[0] in graph.outputs:
            continue
        q, y = graph.tensor(p.inputs[0]), graph.tensor(node.outputs[0])
        if q.dtype == y.dtype and q.quant == y.quant:
            renames[y.name] = q.name
    if not renames:
        return graph
    nodes = [n for n in graph.nodes if not (n.op == "Quantize" and n.outputs[0] in renames)]
    return graph.replace(nodes=rename_inputs(nodes, renames))
