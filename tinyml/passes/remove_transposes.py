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
import heapq

import numpy as np

from ..ir import Graph, Node, Tensor
from ..ops.transpose import TransposeAttrs
from .collapse_reshapes import collapse_reshapes
from .eliminate_dead import eliminate_dead

UNARY = {"Relu", "Relu6", "Clip", "Logistic", "Tanh", "LeakyRelu", "HardSwish", "Quantize",
         "Dequantize"}
BINARY = {"Add", "Sub", "Mul", "Div"}


def remove_transposes(graph: Graph) -> Graph:
    graph = _hoist_above_dequantize(_push_transposes(graph))
    graph = collapse_reshapes(_size_one_transposes_as_reshapes(graph))
    return eliminate_dead(_fold_into_fully_connected(graph))


def _perm(node: Node) -> tuple[int, ...]:
    return tuple(node.attrs.perm)


def _inverse(perm) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argsort(perm))


# -- pushing ----------------------------------------------------------------------------------

class _Names:
    """Fresh names for a rewrite: `base`, else `base_1`, `base_2`, ... unused in the graph."""

    def __init__(self, graph: Graph):
        self._taken = set(graph.tensors) | {n.name for n in graph.nodes}
        self._next: dict[str, int] = {}

    def fresh(self, base: str) -> str:
        name = base
        while name in self._taken:
            self._next[base] = self._next.get(base, 0) + 1
            name = f"{base}_{self._next[base]}"
        self._taken.add(name)
        return name


class _Rewrite:
    """The graph being rewritten, with producers and consumers kept up to date as nodes are
    replaced, so that each push costs time in proportion to the nodes it touches (a full
    rescan per push made a 2,000-op chain quadratic). Node order is kept by sort keys: a
    node's replacements take its place, in their order."""

    def __init__(self, graph: Graph):
        self.graph, self.names = graph, _Names(graph)
        self.nodes = {n.name: n for n in graph.nodes}
        self.keys = {n.name: (i,) for i, n in enumerate(graph.nodes)}
        self.new_tensors: dict[str, Tensor] = {}
        self.producers: dict[str, str] = {}
        self._consumers: dict[str, dict[str, None]] = {}
        for node in graph.nodes:
            self._link(node)

    def tensor(self, name: str) -> Tensor:
        return self.new_tensors.get(name) or self.graph.tensor(name)

    def producer(self, name: str) -> Node | None:
        p = self.producers.get(name)
        return None if p is None else self.nodes[p]

    def consumers(self, name: str) -> list[Node]:
        return [self.nodes[c] for c in self._consumers.get(name, ())]

    def _link(self, node: Node) -> None:
        for name in node.inputs:
            if name:
                self._consumers.setdefault(name, {})[node.name] = None
        for name in node.outputs:
            self.producers[name] = node.name

    def _unlink(self, node: Node) -> None:
        for name in node.inputs:
            if name:
                self._consumers.get(name, {}).pop(node.name, None)
        for name in node.outputs:
            if self.producers.get(name) == node.name:
                del self.producers[name]

    def replace(self, name: str, replacements: list[Node]) -> None:
        key = self.keys.pop(name)
        self._unlink(self.nodes.pop(name))
        for i, node in enumerate(replacements):
            self.nodes[node.name] = node
            self.keys[node.name] = key + (i,)
            self._link(node)

    def remove_if_unused(self, name: str) -> None:
        node = self.nodes.get(name)
        if node is not None and not any(self._consumers.get(o) or o in self.graph.outputs
                                        for o in node.outputs):
            self.replace(name, [])

    def result(self) -> Graph:
        nodes = sorted(self.nodes.values(), key=lambda n: self.keys[n.name])
        return eliminate_dead(self.graph.replace(nodes=nodes, tensors=self.new_tensors.values()))


def _push_transposes(graph: Graph) -> Graph:
    """Push every Transpose as far down as its consumers let it: a worklist of Transposes,
    where each push queues the Transposes whose surroundings it changed."""
    graph = eliminate_dead(graph)   # a dead consumer must not hold a Transpose back
    rw = _Rewrite(graph)
    work = [(rw.keys[n.name], n.name) for n in graph.nodes if n.op == "Transpose"]
    while work:   # the first Transpose in graph order first, as a rescan from the top would
        key, name = heapq.heappop(work)
        t = rw.nodes.get(name)
        if t is None or rw.keys[name] != key or t.op != "Transpose" \
                or t.outputs[0] in graph.outputs:
            continue
        users = rw.consumers(t.outputs[0])
        if users and all(_takes(u, t, rw) for u in users):
            for again in set(_push(rw, t, users)):
                if again in rw.nodes:
                    heapq.heappush(work, (rw.keys[again], again))
    return rw.result()


def _takes(user: Node, t: Node, rw: _Rewrite) -> bool:
    """Whether `user` can run on the untransposed data, with a Transpose after it."""
    if user.op == "Transpose":
        return True
    if user.op in UNARY:
        quants = (rw.tensor(user.inputs[0]).quant, rw.tensor(user.outputs[0]).quant)
        return all(q is None or not q.per_channel for q in quants)
    if user.op in BINARY or user.op in ("Concatenation", "Pad"):
        return all(_operand_follows(name, t, rw) for name in user.inputs if name)
    return False


def _operand_follows(name: str, t: Node, rw: _Rewrite) -> bool:
    p = rw.producer(name)
    if p is not None and p.op == "Transpose":
        return _perm(p) == _perm(t)
    if p is not None and p.op == "Dequantize":
        q = rw.tensor(p.inputs[0])
        return q.is_const and not q.quant.per_channel
    tensor = rw.tensor(name)
    return tensor.is_const and (tensor.quant is None or not tensor.quant.per_channel)


def _push(rw: _Rewrite, t: Node, users: list[Node]) -> list[str]:
    """Rewrite `users` to read `t`'s input, each followed by a Transpose; returns the names of
    the Transposes to look at again."""
    perm, inv = _perm(t), _inverse(_perm(t))
    rank = len(perm)
    fresh = rw.names.fresh

    def untransposed(name: str, extra: list[Node]) -> str:
        p = rw.producer(name)
        if p is not None and p.op == "Transpose":
            return p.inputs[0]
        if p is not None and p.op == "Dequantize":
            q = _transposed_const(rw.tensor(p.inputs[0]), rank, inv, fresh)
            f = rw.tensor(name)
            out = Tensor(fresh(f"{name}_nhwc"), q.shape, f.dtype, f.quant)
            rw.new_tensors.update({q.name: q, out.name: out})
            extra.append(p.with_(name=fresh(f"{p.name}_nhwc"), inputs=(q.name,),
                                 outputs=(out.name,)))
            return out.name
        c = _transposed_const(rw.tensor(name), rank, inv, fresh)
        rw.new_tensors[c.name] = c
        return c.name

    # every rewiring is decided on the graph as it was before this push, then applied
    replaced: dict[str, list[Node]] = {}
    operand_producers = {t.name}
    for user in users:
        operand_producers.update(p.name for p in map(rw.producer, user.inputs)
                                 if p is not None and p.op == "Transpose")
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
        y = rw.tensor(user.outputs[0])
        y_x = Tensor(fresh(f"{y.name}_nhwc"), tuple(y.shape[i] for i in inv), y.dtype, y.quant)
        rw.new_tensors[y_x.name] = y_x
        back = Node(fresh(f"{user.name}_transpose"), "Transpose", (y_x.name,), (y.name,),
                    TransposeAttrs(perm))
        replaced[user.name] = [*extra, user.with_(inputs=inputs, outputs=(y_x.name,),
                                                  attrs=_remapped_attrs(user, perm)), back]
    requeue = []
    for name, nodes in replaced.items():
        rw.replace(name, nodes)
        requeue.extend(n.name for n in nodes if n.op == "Transpose")
        # a Transpose reading one of these outputs may take its consumers now
        for out in nodes[-1].outputs:
            for consumer in rw.consumers(out):
                requeue.extend(p.name for p in map(rw.producer, consumer.inputs)
                               if p is not None and p.op == "Transpose")
    for name in operand_producers:
        rw.remove_if_unused(name)
        node = rw.nodes.get(name)
        if node is not None:   # it lost consumers: the rest may all take it now
            requeue.append(name)
    return requeue


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
    names = _Names(graph)
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
        q_t = q.with_(name=names.fresh(f"{q.name}_t"),
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
    """Transpose -> Reshape -> FullyConnected(constant W): permute W's columns instead.
    Each such chain is disjoint from the others, so all are found in one walk."""
    consumers = graph.consumers()
    names = _Names(graph)
    replaced: dict[str, Node] = {}
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
        w_new = Tensor(names.fresh(f"{w.name}_nhwc"), w.shape, w.dtype, w.quant, permuted)
        new_tensors.append(w_new)
        replaced[reshape.name] = reshape.with_(inputs=(t.inputs[0],))
        replaced[fc.name] = fc.with_(inputs=(fc.inputs[0], w_new.name, *fc.inputs[2:]))
    if not replaced:
        return graph
    return graph.replace(nodes=[replaced.get(n.name, n) for n in graph.nodes], tensors=new_tensors)


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
