"""The intermediate representation: an immutable graph of ops over named tensors.

Activations are NHWC. Constants carry their data (read-only numpy arrays). Quantized tensors
carry TFLite-style parameters: scale and zero point per tensor, or per channel along `axis`.
Passes build new graphs with `Graph.replace`; nothing is mutated in place.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Mapping

import numpy as np

from .dtypes import DTYPES
from .errors import TinymlError


@dataclass(frozen=True)
class Quant:
    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1

    @staticmethod
    def of(scale, zero_point=0, axis: int = 0) -> "Quant":
        scales = tuple(float(s) for s in np.atleast_1d(np.asarray(scale, dtype=np.float64)))
        zps = tuple(int(z) for z in np.atleast_1d(np.asarray(zero_point)))
        if len(zps) == 1 and len(scales) > 1:
            zps = zps * len(scales)
        return Quant(scales, zps, axis)


@dataclass(frozen=True)
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: Quant | None = None
    data: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        if self.dtype not in DTYPES:
            raise TinymlError(f"unknown dtype {self.dtype!r} for tensor {self.name!r}")
        if self.data is not None:
            data = np.ascontiguousarray(self.data, dtype=DTYPES[self.dtype].numpy)
            if data.shape != tuple(self.shape):
                data = data.reshape(self.shape)
            data.flags.writeable = False
            object.__setattr__(self, "data", data)
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        """Bytes as stored: packed for sub-byte dtypes."""
        return DTYPES[self.dtype].nbytes(self.size)

    def with_(self, **changes: Any) -> "Tensor":
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Node:
    name: str
    op: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: Any = None
    label: str = ""          # the source framework's layer name, when it differs (Keras)

    def with_(self, **changes: Any) -> "Node":
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Graph:
    name: str
    nodes: tuple[Node, ...]
    tensors: Mapping[str, Tensor]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    source: str = ""

    def __post_init__(self):
        object.__setattr__(self, "tensors", MappingProxyType(dict(self.tensors)))
        object.__setattr__(self, "nodes", tuple(self.nodes))

    @staticmethod
    def build(name: str, nodes: Iterable[Node], tensors: Iterable[Tensor], inputs, outputs,
              source: str = "") -> "Graph":
        return Graph(name, tuple(nodes), {t.name: t for t in tensors}, tuple(inputs),
                     tuple(outputs), source)

    def replace(self, *, nodes=None, tensors=None, inputs=None, outputs=None) -> "Graph":
        """A new graph; tensors no node, input or output mentions are dropped."""
        nodes = tuple(self.nodes if nodes is None else nodes)
        pool = dict(self.tensors)
        if tensors is not None:
            pool.update({t.name: t for t in tensors})
        inputs = tuple(self.inputs if inputs is None else inputs)
        outputs = tuple(self.outputs if outputs is None else outputs)
        used = set(inputs) | set(outputs)
        for node in nodes:
            used.update(n for n in node.inputs if n)
            used.update(node.outputs)
        return Graph(self.name, nodes, {k: v for k, v in pool.items() if k in used}, inputs,
                     outputs, self.source)

    def tensor(self, name: str) -> Tensor:
        return self.tensors[name]

    def producers(self) -> dict[str, Node]:
        return {out: node for node in self.nodes for out in node.outputs}

    def consumers(self) -> dict[str, list[Node]]:
        users: dict[str, list[Node]] = {}
        for node in self.nodes:
            for name in node.inputs:
                if name:
                    users.setdefault(name, []).append(node)
        return users

    def unique_name(self, base: str) -> str:
        taken = set(self.tensors) | {n.name for n in self.nodes}
        if base not in taken:
            return base
        i = 1
        while f"{base}_{i}" in taken:
            i += 1
        return f"{base}_{i}"


def check_graph(graph: Graph) -> None:
    """Structural invariants every pass must keep: run after each pass in tests."""
    defined = set(graph.inputs) | {n for n, t in graph.tensors.items() if t.is_const}
    names = set()
    for node in graph.nodes:
        if node.name in names:
            raise TinymlError(f"duplicate node name {node.name!r}")
        names.add(node.name)
        for name in node.inputs:
            if name and name not in graph.tensors:
                raise TinymlError(f"node {node.name!r} reads unknown tensor {name!r}")
            if name and name not in defined:
                raise TinymlError(f"node {node.name!r} reads {name!r} before it is computed")
        for name in node.outputs:
            if name in defined:
                raise TinymlError(f"tensor {name!r} is written twice")
            if name not in graph.tensors:
                raise TinymlError(f"node {node.name!r} writes unknown tensor {name!r}")
            defined.add(name)
    for name in graph.outputs:
        if name not in defined:
            raise TinymlError(f"graph output {name!r} is never computed")
