"""Validation: every check a model file must pass before anything computes on it.

Model files are untrusted. A graph that passes `validate_graph` has tensors of sane sizes,
quantization parameters the int8 kernels compute with exactly, nodes that read tensors that
exist and are computed before them, and nodes whose operands each op's `check` accepts
(channels against weights, strides, pads, perms, axes, dtypes, ...). That is the promise the
generated C rests on: a model that compiles cannot make it read or write out of bounds or
divide by zero. Problems of support (an unknown op) are collected and reported at once;
the first invalid node ends the check.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ModelError, UnsupportedError, about
from .ir import Graph, Tensor
from .ops import REGISTRY, get_op

#: limits on what a model may ask for (docs/model-validation.md): far above any
#: microcontroller's memory, low enough that every index and offset fits an int32
MAX_RANK = 6
MAX_TENSOR_ELEMENTS = 1 << 28
MAX_TENSOR_BYTES = 1 << 28
MAX_CONSTANT_BYTES = 1 << 30
MAX_ARENA_BYTES = 1 << 30
MAX_NODES = 100_000

_INT_RANGES = {"int8": (-128, 127), "uint8": (0, 255), "int16": (0, 0), "int32": (0, 0),
               "int64": (0, 0)}
#: float32 normal range: a scale outside it becomes 0 or inf in the C kernels
_SCALE_MIN = float(np.finfo(np.float32).tiny)
_SCALE_MAX = float(np.finfo(np.float32).max)


def validate_graph(graph: Graph, *, supported: bool = True) -> None:
    """Raise a TinymlError naming the model, node and op of the first problem found.

    With `supported`, also every op on a dtype its kernels compute on: not yet so right after
    import, where Dequantize nodes of int32 biases wait for the QDQ pass to fold them."""
    _check_structure(graph)
    for tensor in graph.tensors.values():
        _check_tensor(graph, tensor)
    constant_bytes = sum(t.nbytes for t in graph.tensors.values() if t.is_const)
    if constant_bytes > MAX_CONSTANT_BYTES:
        raise ModelError(f"{constant_bytes:,} bytes of constants exceed the limit of "
                         f"{MAX_CONSTANT_BYTES:,}", model=graph.source)
    if supported:
        _check_supported(graph)
    for node in graph.nodes:
        op = get_op(node, graph)   # an unknown op: the frontends refuse it
        lo, hi = op.num_inputs
        where = dict(model=graph.source, node=node.name, op=node.op)
        if not lo <= len(node.inputs) <= hi or len(node.outputs) != 1:
            raise ModelError(f"{len(node.inputs)} inputs and {len(node.outputs)} outputs; the op "
                             f"takes {lo}" + (f" to {hi}" if hi != lo else "") + " inputs and 1 "
                             "output", **where)
        with about(**where):
            op.check(node, graph)
            shapes = op.output_shapes(node, graph)
        for name, shape in zip(node.outputs, shapes):
            if tuple(shape) != graph.tensor(name).shape:
                raise ModelError(f"the op computes shape {tuple(shape)} for {name!r} but the "
                                 f"model says {graph.tensor(name).shape}", **where)


def _check_structure(graph: Graph) -> None:
    """Names resolve; each tensor is written once, before it is read; no cycles; the graph's
    inputs are neither constants nor computed, and every output is computed by a node."""
    source = graph.source
    if len(graph.nodes) > MAX_NODES:
        raise ModelError(f"{len(graph.nodes):,} nodes exceed the limit of {MAX_NODES:,}",
                         model=source)
    if not graph.inputs or not graph.outputs:
        raise ModelError("the graph has no inputs or no outputs", model=source)
    for kind, names in (("input", graph.inputs), ("output", graph.outputs)):
        if len(set(names)) != len(names):
            raise ModelError(f"a graph {kind} is listed twice", model=source)
        for name in names:
            if name not in graph.tensors:
                raise ModelError(f"graph {kind} {name!r} is not a tensor of the graph",
                                 model=source)
    defined = {n for n, t in graph.tensors.items() if t.is_const}
    for name in graph.inputs:
        if name in defined:
            raise ModelError(f"graph input {name!r} is a constant", model=source)
    defined.update(graph.inputs)
    computed = set()
    node_names = set()
    for node in graph.nodes:
        where = dict(model=source, node=node.name, op=node.op)
        if node.name in node_names:
            raise ModelError("two nodes have this name", **where)
        node_names.add(node.name)
        for name in node.inputs:
            if name and name not in graph.tensors:
                raise ModelError(f"reads {name!r}, which is no tensor of the graph", **where)
            if name and name not in defined:
                raise ModelError(f"reads {name!r}, which is neither a graph input, a constant "
                                 "nor computed by an earlier node (a cycle, nodes out of order, "
                                 "or a constant without data)", **where)
        for name in node.outputs:
            if name not in graph.tensors:
                raise ModelError(f"writes {name!r}, which is no tensor of the graph", **where)
            if name in defined:
                raise ModelError(f"writes {name!r}, which is already an input, a constant or "
                                 "another node's output", **where)
            defined.add(name)
            computed.add(name)
    for name in graph.outputs:
        if name not in computed:
            raise ModelError(f"graph output {name!r} is not computed by any node (an input or a "
                             "constant as output is not supported)", model=source)


def _check_tensor(graph: Graph, t: Tensor) -> None:
    source = graph.source
    if len(t.shape) > MAX_RANK:
        raise UnsupportedError(f"tensor {t.name!r} has rank {len(t.shape)}; at most {MAX_RANK} "
                               "is supported", model=source)
    if any(d < 1 for d in t.shape):
        raise ModelError(f"tensor {t.name!r} has shape {t.shape}: every dimension must be at "
                         "least 1", model=source)
    if t.size > MAX_TENSOR_ELEMENTS or t.nbytes > MAX_TENSOR_BYTES:
        raise ModelError(f"tensor {t.name!r} of shape {t.shape} ({t.nbytes:,} bytes) exceeds the "
                         f"limit of {MAX_TENSOR_BYTES:,} bytes", model=source)
    if t.quant is not None and t.dtype != "float32":
        _check_quant(graph, t)


def _check_quant(graph: Graph, t: Tensor) -> None:
    q, source = t.quant, graph.source
    bad = [s for s in q.scale if not (math.isfinite(s) and _SCALE_MIN <= s <= _SCALE_MAX)]
    if bad:
        raise ModelError(f"tensor {t.name!r} has quantization scale {bad[0]}: scales must be "
                         "positive normal float32 numbers", model=source)
    if len(q.zero_point) != len(q.scale):
        raise ModelError(f"tensor {t.name!r} has {len(q.scale)} scales but "
                         f"{len(q.zero_point)} zero points", model=source)
    lo, hi = _INT_RANGES.get(t.dtype, (0, 0))
    if any(not lo <= z <= hi for z in q.zero_point):
        raise ModelError(f"tensor {t.name!r} ({t.dtype}) has a zero point outside "
                         f"[{lo}, {hi}]", model=source)
    if q.per_channel:
        rank = len(t.shape)
        if not 0 <= q.axis < rank or t.shape[q.axis] != len(q.scale):
            raise ModelError(f"tensor {t.name!r} of shape {t.shape} has {len(q.scale)} scales "
                             f"along axis {q.axis}", model=source)


def _check_supported(graph: Graph) -> None:
    """Every op known and on a dtype it computes on; all problems reported at once."""
    problems = []
    for tensor in graph.tensors.values():
        if tensor.dtype in ("int8", "uint8", "int16") and tensor.quant is None:
            problems.append(f"{tensor.dtype} tensor {tensor.name!r} without quantization "
                            "parameters")
    for node in graph.nodes:
        op = REGISTRY.get(node.op)
        first = node.inputs[0] if node.inputs else ""
        dtype = graph.tensor(first).dtype if first else None
        if op is None:
            problems.append(f"{node.op} (node {node.name!r})")
        elif dtype is not None and dtype not in op.dtypes:
            problems.append(f"{node.op} on {dtype} (node {node.name!r})")
    if problems:
        raise UnsupportedError("unsupported: " + ", ".join(problems), model=graph.source)
