"""QDQ models to int8 ops: Dequantize -> float op -> Quantize groups become the int8 op.

ONNX QDQ models (onnxruntime.quantization.quantize_static, and QLinearConv / QLinearMatMul,
which the importer writes in the same form) compute each op in float between a Dequantize
of its int8 inputs and a Quantize of its output. The group becomes one int8 op on the int8
tensors with their quantization: weights dequantized from int8 constants become int8
constants with per-channel Quant; a bias dequantized from int32 stays int32 (re-rounded when
its scale is not input scale x weight scale, which the int8 kernels assume). Requantization
is then TFLite's, which may differ from onnxruntime's float rounding by 1 LSB.
A float bias (no DequantizeLinear) is quantized to int32 at that scale. An activation
between the op and its Quantize (Conv -> Relu -> QuantizeLinear, as exporters write it)
first gets the Quantize's parameters on its input too: quantizing is monotone, so
clamp(quantize(v)) is quantize(clamp(v)), and fuse_activations folds the int8 clamp later.
A group the int8 op cannot express (asymmetric weights, an output quantization the op fixes
or keeps otherwise) stays in float. Quantize and Dequantize remain at the graph edges; a
Dequantize that meets a Quantize of the same parameters cancels; a Dequantize of a constant
that nothing fused is folded into a float constant (per channel too).
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node, Quant, Tensor
from ..numerics import dequantize, round_half_away
from ..ops import get_op
from .eliminate_dead import eliminate_dead
from .graph_edit import rename_inputs, sole_consumer

_EDGES = {"Quantize", "Dequantize"}
_ACTIVATIONS = {"Relu", "Relu6", "Clip"}


def fuse_qdq(graph: Graph) -> Graph:
    graph = _quantize_before_activations(graph)
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
    return _fold_dequantized_constants(graph)


def _quantize_before_activations(graph: Graph) -> Graph:
    """op -> Relu/Relu6/Clip -> Quantize(s) becomes op -> Quantize -> Dequantize -> activation
    -> Quantize(s), the inserted Quantize with the activation's output parameters."""
    producers, consumers = graph.producers(), graph.consumers()
    inserted: dict[str, list[Node]] = {}
    renames: dict[str, str] = {}
    tensors: list[Tensor] = []
    for act in graph.nodes:
        p = producers.get(act.inputs[0]) if act.op in _ACTIVATIONS else None
        if p is None or p.op in _EDGES or sole_consumer(graph, act.inputs[0], consumers) is not act:
            continue
        users = consumers.get(act.outputs[0], [])
        if not users or any(u.op != "Quantize" for u in users) or act.outputs[0] in graph.outputs:
            continue
        y = graph.tensor(users[0].outputs[0])
        if y.dtype != "int8" or y.quant is None or any(
                graph.tensor(u.outputs[0]).quant != y.quant for u in users):
            continue
        q = Tensor(graph.unique_name(f"{act.inputs[0]}_q"), graph.tensor(act.inputs[0]).shape,
                   "int8", y.quant)
        dq = graph.tensor(act.inputs[0]).with_(name=graph.unique_name(f"{act.inputs[0]}_dq"))
        tensors += [q, dq]
        inserted[act.name] = [Node(graph.unique_name(f"{act.name}_quantize_input"), "Quantize",
                                   (act.inputs[0],), (q.name,)),
                              Node(graph.unique_name(f"{act.name}_dequantize_input"),
                                   "Dequantize", (q.name,), (dq.name,))]
        renames[act.name] = dq.name
    if not inserted:
        return graph
    nodes = []
    for n in graph.nodes:
        if n.name in inserted:
            nodes += inserted[n.name]
            n = n.with_(inputs=(renames[n.name], *n.inputs[1:]))
        nodes.append(n)
    return graph.replace(nodes=nodes, tensors=tensors)


def _fold_dequantized_constants(graph: Graph) -> Graph:
    """A Dequantize of a constant that no int8 op took becomes the float constant."""
    folded, dropped = [], set()
    for node in graph.nodes:
        if node.op != "Dequantize" or node.outputs[0] in graph.outputs:
            continue
        q = graph.tensor(node.inputs[0])
        if not q.is_const or q.quant is None:
            continue
        value = dequantize(q.data, q.quant.scale, q.quant.zero_point, axis=q.quant.axis)
        folded.append(graph.tensor(node.outputs[0]).with_(data=value))
        dropped.add(node.name)
    if not folded:
        return graph
    return graph.replace(nodes=[n for n in graph.nodes if n.name not in dropped],
                         tensors=folded)


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
    for index, name in enumerate(node.inputs):
        p = producers.get(name) if name else None
        if index == op.bias_input and p is None and name and graph.tensor(name).is_const:
            sources.append(name)   # a float bias: quantized to int32 below
            continue
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
    if not b.is_const or (b.quant is None and b.dtype != "float32") or x.quant is None or \
            w.quant is None or len(b.shape) != 1:
        return None
    wanted = x.quant.scale[0] * np.broadcast_to(np.asarray(w.quant.scale), b.shape)
    if b.quant is None:
        real = b.data.astype(np.float64)
    elif b.dtype == "int32" and np.allclose(np.broadcast_to(b.quant.scale, b.shape), wanted,
                                            rtol=1e-6, atol=0):
        return b.name
    else:
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
