"""NCHW -> NHWC: remove the Transposes the ONNX importer wraps around NHWC-only ops.

Rewrites, repeated until none applies:
- push a Transpose below its consumers when every consumer can take it: another Transpose
  (the two compose; inverse pairs vanish), an elementwise op (Relu, Clip, Add with a
  constant or with an operand transposed alike, ...), Concatenation (axis remapped), Pad
  (pads permuted). Constant operands are transposed at compile time instead;
- a Transpose reading a Dequantize moves above it (onto the integer data), so that QDQ groups
  Dequantize -> op -> Quantize stay whole for the QDQ pass;
- a Transpose that moves only size-1 axes is a Reshape (a view);
- Transpose -> Reshape -> FullyConnected: the permutation moves into the rows of the
  constant weight matrix, so the flattening reads the untransposed tensor.
What remains runs as a Transpose kernel: typically at a graph input or output, where the
model's NCHW interface is kept.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..ir import Graph, Node, Tensor
from ..ops.transpose import TransposeAttrs
from .collapse_reshapes import collapse_reshapes
from .eliminate_dead import eliminate_dead

UNARY = {"Relu", "Relu6", "Clip", "Logistic", "Tanh", "LeakyRelu", "HardSwish", "Quantize",
         "Dequantize"}
BINARY = {"Add", "Sub", "Mul"}


def remove_transposes(graph: Graph) -> Graph:
    graph = _hoist_above_dequantize(_push_transposes(graph))
    graph = collapse_reshapes(_size_one_transposes_as_reshapes(graph))
    return eliminate_dead(_fold_into_fully_connected(graph))


def _perm(node: Node) -> tuple[int, ...]:
    return tuple(node.attrs.perm)


def _inverse(perm) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argsort(perm))


# -- pushing ----------------------------------------------------------------------------------

def _push_transposes(graph: Graph) -> Graph:
    while True:
        consumers, producers = graph.consumers(), graph.producers()
        for t in graph.nodes:
            if t.op != "Transpose" or t.outputs[0] in graph.outputs:
                continue
            users = list({u.name: u for u in consumers.get(t.outputs[0], [])}.values())
            if users and all(_takes(u, t, graph, producers) for u in users):
                graph = _push(graph, t, users, producers)
                break
        else:
            return graph


def _takes(user: Node, t: Node, graph: Graph, producers) -> bool:
    """Whether `user` can run on the untransposed data, with a Transpose after it."""
    if user.op == "Transpose":
        return True
    if user.op in UNARY:
        quants = (graph.tensor(user.inputs[0]).quant, graph.tensor(user.outputs[0]).quant)
        return all(q is None or not q.per_channel for q in quants)
    if user.op in BINARY or user.op in ("Concatenation", "Pad"):
        return all(_operand_follows(name, t, graph, producers) for name in user.inputs if name)
    return False


def _operand_follows(name: str, t: Node, graph: Graph, producers) -> bool:
    p = producers.get(name)
    if p is not None and p.op == "Transpose":
        return _perm(p) == _perm(t)
    if p is not None and p.op == "Dequantize":
        q = graph.tensor(p.inputs[0])
        return q.is_const and not q.quant.per_channel
    tensor = graph.tensor(name)
    return tensor.is_const and (tensor.quant is None or not tensor.quant.per_channel)


def _push(graph: Graph, t: Node, users: list[Node], producers) -> Graph:
    perm, inv = _perm(t), _inverse(_perm(t))
    rank = len(perm)
    new_tensors: list[Tensor] = []
    replaced: dict[str, list[Node]] = {}

    def fresh(base: str) -> str:
        name = graph.unique_name(base)
        while any(x.name == name for x in new_tensors) or name in replaced:
            name = graph.unique_name(name + "_")
        return name

    def untransposed(name: str, extra: list[Node]) -> str:
        p = producers.get(name)
        if p is not None and p.op == "Transpose":
            return p.inputs[0]
        if p is not None and p.op == "Dequantize":
            q = _transposed_const(graph.tensor(p.inputs[0]), rank, inv, fresh)
            f = graph.tensor(name)
            out = Tensor(fresh(f"{name}_nhwc"), q.shape, f.dtype, f.quant)
            new_tensors.extend([q, out])
            extra.append(p.with_(name=fresh(f"{p.name}_nhwc"), inputs=(q.name,),
                                 outputs=(out.name,)))
            return out.name
        c = _transposed_const(graph.tensor(name), rank, inv, fresh)
        new_tensors.append(c)
        return c.name

    for user in users:
        if user.op == "Transpose":
            composite = tuple(perm[i] for i in _perm(user))
            if composite == tuple(range(rank)):
                replaced[user.name] = [Node(user.name, "Reshape", (t.inputs[0],), user.outputs)]
            else:
                replaced[user.name] = [user.with_(inputs=(t.inputs[0],),
                                                  attrs=TransposeAttrs(composite))]
            continue
        extra: list[Node] = []
        inputs = tuple(untransposed(n, extra) if n else n for n in user.inputs)
        y = graph.tensor(user.outputs[0])
        y_x = Tensor(fresh(f"{y.name}_nhwc"), tuple(y.shape[i] for i in inv), y.dtype, y.quant)
        new_tensors.append(y_x)
        back = Node(fresh(f"{user.name}_transpose"), "Transpose", (y_x.name,), (y.name,),
                    TransposeAttrs(perm))
        replaced[user.name] = [*extra, user.with_(inputs=inputs, outputs=(y_x.name,),
                                                  attrs=_remapped_attrs(user, perm)), back]
    nodes = []
    for node in graph.nodes:
        nodes.extend(replaced.get(node.name, [node]))
    return eliminate_dead(graph.replace(nodes=nodes, tensors=new_tensors))


def _transposed_const(c: Tensor, rank: int, inv, fresh) -> Tensor:
    """The constant `c` (broadcast to `rank` dims) in the untransposed layout."""
    data = c.data.reshape((1,) * (rank - c.data.ndim) + c.data.shape)
    data = np.ascontiguousarray(np.transpose(data, inv))
    return Tensor(fresh(f"{c.name}_nhwc"), data.shape, c.dtype, c.quant, data)


def _remapped_attrs(node: Node, perm):
    """Attributes naming axes of the transposed layout, renamed for the untransposed one."""
    if node.op == "Concatenation":
        return dataclasses.replace(node.attrs, axis=perm[node.attrs.axis])
    if node.op == "Pad":
        pads = [None] * len(perm)
        for axis, pad in enumerate(node.attrs.pads):
            pads[perm[axis]] = pad
        return dataclasses.replace(node.attrs, pads=tuple(pads))
    return node.attrs


def _hoist_above_dequantize(graph: Graph) -> Graph:
    consumers, producers = graph.consumers(), graph.producers()
    replaced: dict[str, list[Node]] = {}
    new_tensors = []
    for t in graph.nodes:
        dq = producers.get(t.inputs[0]) if t.op == "Transpose" else None
        if dq is None or dq.op != "Dequantize" or len(consumers[dq.outputs[0]]) != 1 \
                or dq.outputs[0] in graph.outputs or dq.name in replaced:
            continue
        q = graph.tensor(dq.inputs[0])
        if q.is_const or q.quant.per_channel:
            continue
        q_t = q.with_(name=graph.unique_name(f"{q.name}_t"),
                      shape=graph.tensor(t.outputs[0]).shape)
        new_tensors.append(q_t)
        replaced[dq.name] = []
        replaced[t.name] = [t.with_(inputs=(q.name,), outputs=(q_t.name,)),
                            dq.with_(inputs=(q_t.name,), outputs=t.outputs)]
    if not replaced:
        return graph
    nodes = []
    for node in graph.nodes:
        nodes.extend(replaced.get(node.name, [node]))
    return graph.replace(nodes=nodes, tensors=new_tensors)


# -- transposes that are views, or fold into weights ------------------------------------------

def _size_one_transposes_as_reshapes(graph: Graph) -> Graph:
    def moves_data(node: Node) -> bool:
        shape = graph.tensor(node.inputs[0]).shape
        kept = [a for a in _perm(node) if shape[a] != 1]
        return kept != sorted(kept)

    nodes = [Node(n.name, "Reshape", n.inputs, n.outputs)
             if n.op == "Transpose" and not moves_data(n) else n for n in graph.nodes]
    return graph.replace(nodes=nodes)


def _fold_into_fully_connected(graph: Graph) -> Graph:
    """Transpose -> Reshape -> FullyConnected(constant W): permute W's columns instead."""
    consumers = graph.consumers()
    nodes = list(graph.nodes)
    new_tensors = []
    for t in graph.nodes:
        if t.op != "Transpose":
            continue
        reshape = _only_user(graph, consumers, t.outputs[0], "Reshape")
        fc = reshape and _only_user(graph, consumers, reshape.outputs[0], "FullyConnected")
        if not fc or fc.inputs[0] != reshape.outputs[0] or not graph.tensor(fc.inputs[1]).is_const:
            continue
        w = graph.tensor(fc.inputs[1])
        permuted = _permuted_columns(w.data, graph.tensor(t.outputs[0]).shape, _perm(t))
        if permuted is None:
            continue
        w_new = Tensor(graph.unique_name(f"{w.name}_nhwc"), w.shape, w.dtype, w.quant, permuted)
        new_tensors.append(w_new)
        nodes[nodes.index(reshape)] = reshape.with_(inputs=(t.inputs[0],))
        nodes[nodes.index(fc)] = fc.with_(inputs=(fc.inputs[0], w_new.name, *fc.inputs[2:]))
        graph = graph.replace(nodes=nodes, tensors=new_tensors)
        consumers = graph.consumers()
    return graph


def _only_user(graph: Graph, consumers, name: str, op: str) -> Node | None:
    users = consumers.get(name, [])
    if name in graph.outputs or len(users) != 1 or users[0].op != op:
        return None
    return users[0]


def _permuted_columns(w: np.ndarray, y_shape, perm) -> np.ndarray | None:
    """W' with W'.x_flat == W.y_flat for y = transpose(x, perm), or None when the rows of
    the flattened input do not stay whole (the permutation moves a leading axis)."""
    n_out, k = w.shape
    for lead in range(len(perm)):
        if int(np.prod(y_shape[lead:])) == k:
            break
    else:
        return None
    if tuple(perm[:lead]) != tuple(range(lead)):
        return None
    tail = [p - lead for p in perm[lead:]]
    w_y = w.reshape(n_out, *y_shape[lead:])
    w_x = np.transpose(w_y, (0, *(1 + i for i in _inverse(tail))))
    return np.ascontiguousarray(w_x).reshape(n_out, k)
