"""Lowering: graph -> plain records (layers, constants, buffer locations) for the templates.

Buffers: graph inputs and outputs are the caller's pointers; views (Reshape) share their
input's buffer; everything else, and each kernel's scratch, gets an arena offset from the
planner, over lifetimes the schedule (tinyml/plan/schedule.py) implies; layers are emitted
in the schedule's order. Nothing here writes C: the templates do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import ModelError
from ..ir import Graph, Node, Tensor
from ..kernels import select
from ..ops import get_op
from ..ops.base import Arg, KernelCall
from ..plan.arena import ArenaPlan, BufferRequest, check_plan, plan_arena
from ..plan.schedule import Memory, Schedule, buffer_requests, order_nodes
from ..targets.cores import Core, get_core
from ..validate import MAX_ARENA_BYTES

CTYPES = {"float32": "float", "int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t",
          "int32": "int32_t", "int64": "int64_t", "bool": "uint8_t"}
DTYPE_MACROS = {"float32": "TM_DTYPE_FLOAT32", "int8": "TM_DTYPE_INT8", "uint8": "TM_DTYPE_UINT8",
                "int16": "TM_DTYPE_INT16", "int32": "TM_DTYPE_INT32"}
ALIGNMENT = 16


@dataclass(frozen=True)
class Location:
    """Where a tensor's bytes are: `input`/`output` (index), `arena` (offset), `const` (symbol)."""

    kind: str
    ctype: str
    index: int = 0
    offset: int = 0
    symbol: str = ""


@dataclass(frozen=True)
class ConstData:
    symbol: str
    ctype: str
    values: np.ndarray = field(compare=False)
    comment: str = ""


@dataclass(frozen=True)
class Layer:
    index: int
    node: Node
    call: KernelCall | None          # None: a view, nothing runs
    params_symbol: str
    const_symbols: dict[str, str]
    scratch_offset: int
    macs: int
    variant_reason: str = "view"     # why the kernel variant was chosen (report.json)


@dataclass(frozen=True)
class IOInfo:
    name: str
    dtype: str
    shape: tuple[int, ...]
    scale: float | None
    zero_point: int | None
    arena_offset: int | None = None   # where it lives in the arena, when the I/O is there

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(self.dtype).itemsize


@dataclass(frozen=True)
class ModelCode:
    name: str
    graph: Graph
    layers: tuple[Layer, ...]
    consts: tuple[ConstData, ...]
    locations: dict[str, Location]
    plan: ArenaPlan
    requests: tuple[BufferRequest, ...]
    schedule: Schedule
    inputs: tuple[IOInfo, ...]
    outputs: tuple[IOInfo, ...]
    io_in_arena: bool = False

    @property
    def kernel_sources(self) -> tuple[str, ...]:
        return tuple(sorted({s for l in self.layers if l.call for s in l.call.sources}))

    @property
    def weight_bytes(self) -> int:
        return sum(c.values.nbytes for c in self.consts)


def c_identifier(text: str, limit: int = 40) -> str:
    ident = re.sub(r"[^0-9A-Za-z_]", "_", text).strip("_")[:limit] or "t"
    return ident if not ident[0].isdigit() else "t" + ident


def _io_info(t: Tensor) -> IOInfo:
    scale = zp = None
    if t.quant is not None and t.dtype != "float32":
        scale, zp = t.quant.scale[0], t.quant.zero_point[0]
    return IOInfo(t.name, t.dtype, t.shape, scale, zp)


def _view_roots(graph: Graph) -> dict[str, str]:
    """tensor -> the tensor whose buffer it shares (itself unless it is a view's output)."""
    root: dict[str, str] = {}
    outputs = set(graph.outputs)
    for node in graph.nodes:
        if get_op(node, graph).is_view and node.outputs[0] not in outputs:
            src = node.inputs[0]
            root[node.outputs[0]] = root.get(src, src)
    return root


def _in_place(graph: Graph, calls: dict[str, KernelCall], views: dict[str, str],
              external: set[str]) -> dict[str, str]:
    """Views plus in-place outputs: a kernel that may write over its first input gets the
    input's buffer when that input has no other reader and neither is caller-owned."""
    roots = dict(views)
    readers = graph.consumers()
    for node in graph.nodes:
        call = calls.get(node.name)
        if call is None or not call.in_place:
            continue
        src, out = roots.get(node.inputs[0], node.inputs[0]), node.outputs[0]
        only_reader = [n.name for n in readers.get(node.inputs[0], [])] == [node.name]
        if (only_reader and src not in external and out not in external
                and not graph.tensor(src).is_const and src not in graph.inputs):
            roots[out] = src
    def resolve(t: str) -> str:   # a view of an in-place output shares the first input too
        while t in roots and roots[t] != t:
            t = roots[t]
        return t
    return {t: resolve(t) for t in roots}


def lower_model(graph: Graph, name: str, core: Core | None = None,
                io_in_arena: bool = False) -> ModelCode:
    """`core` (the host's when None) decides which kernel variant computes each layer;
    `io_in_arena` plans the model's inputs and outputs inside the arena (as TFLite Micro
    does: an input's bytes are reused once it is dead) instead of in the caller's buffers."""
    choices = select(graph, core or get_core("host"))
    calls = {node_name: choice.call for node_name, choice in choices.items()}
    views = _view_roots(graph)

    # the schedule orders the steps and implies every lifetime; graph inputs/outputs and
    # constants are not in the arena
    external = set() if io_in_arena else set(graph.inputs) | set(graph.outputs)
    views = _in_place(graph, calls, views, external)
    roots = {t: views.get(t, t) for node in graph.nodes for t in (*node.inputs, *node.outputs) if t}
    roots.update({t: t for t in (*graph.inputs, *graph.outputs) if t not in roots})
    sizes: dict[str, int] = {}
    for t, r in roots.items():   # a root holds the largest tensor aliased onto it
        if r not in external and not graph.tensor(r).is_const:
            sizes[r] = max(sizes.get(r, 0), graph.tensor(t).nbytes)
    memory = Memory(roots, sizes, {name: call.scratch_bytes for name, call in calls.items()
                                   if call.scratch_bytes},
                    frozenset(roots[t] for t in graph.inputs) if io_in_arena else frozenset(),
                    frozenset(roots[t] for t in graph.outputs) if io_in_arena else frozenset())
    schedule = order_nodes(graph, memory, ALIGNMENT)
    requests = buffer_requests(schedule, graph, memory)
    plan = plan_arena(requests, ALIGNMENT)
    check_plan(plan, requests)
    if plan.size > MAX_ARENA_BYTES:
        raise ModelError(f"the arena would take {plan.size:,} bytes, above the limit of "
                         f"{MAX_ARENA_BYTES:,}", model=graph.source)

    locations: dict[str, Location] = {}
    consts: list[ConstData] = []
    if not io_in_arena:
        for i, tname in enumerate(graph.inputs):
            locations[tname] = Location("input", CTYPES[graph.tensor(tname).dtype], index=i)
        for i, tname in enumerate(graph.outputs):
            locations[tname] = Location("output", CTYPES[graph.tensor(tname).dtype], index=i)
    # only constants some kernel reads: a lowering may replace a weight by derived constants
    referenced = {views.get(name, name) for call in calls.values() for a in call.args
                  for name in (a.ref, *a.refs) if a.kind in ("tensor", "tensor_list")}
    for tname, t in graph.tensors.items():
        if t.is_const and tname in referenced:
            symbol = f"w{len(consts)}"   # never from the name: the model file is untrusted
            locations[tname] = Location("const", CTYPES[t.dtype], symbol=symbol)
            consts.append(ConstData(symbol, CTYPES[t.dtype], t.data.reshape(-1), tname))
    for tname in graph.tensors:
        if tname in locations:
            continue
        root = views.get(tname, tname)
        base = locations.get(root)
        ctype = CTYPES[graph.tensor(tname).dtype]
        if base is not None:
            locations[tname] = Location(base.kind, ctype, base.index, base.offset, base.symbol)
        elif root in plan.offsets:
            locations[tname] = Location("arena", ctype, offset=plan.offsets[root])

    layers = []
    by_name = {node.name: node for node in graph.nodes}
    for index, node in enumerate(by_name[name] for name in schedule.order):
        call = calls.get(node.name)
        ident = f"l{index}_{c_identifier(node.op)}"
        const_symbols = {}
        if call is not None:
            for c in call.consts:
                const_symbols[c.suffix] = f"{ident}_{c.suffix}"
                consts.append(ConstData(f"{ident}_{c.suffix}", c.ctype, np.asarray(c.values).reshape(-1)))
        scratch = plan.offsets.get(f"{node.name}#scratch", 0)
        reason = choices[node.name].reason if call is not None else "view"
        layers.append(Layer(index, node, call, f"{ident}_params", const_symbols, scratch,
                            get_op(node, graph).macs(node, graph), reason))
    def io(tname: str) -> IOInfo:
        info = _io_info(graph.tensor(tname))
        if io_in_arena:
            info = replace(info, arena_offset=plan.offsets[roots[tname]])
        return info
    return ModelCode(name, graph, tuple(layers), tuple(consts), locations, plan, tuple(requests),
                     schedule, tuple(io(t) for t in graph.inputs), tuple(io(t) for t in graph.outputs),
                     io_in_arena)


def arg_record(layer: Layer, arg: Arg, code: ModelCode) -> dict:
    """One kernel argument as data for the template."""
    if arg.kind == "tensor":
        loc = code.locations[arg.ref]
        return {"kind": loc.kind, "ctype": loc.ctype, "index": loc.index, "offset": loc.offset,
                "symbol": loc.symbol}
    if arg.kind == "tensor_list":
        items = [arg_record(layer, Arg("tensor", name), code) for name in arg.refs]
        return {"kind": "list", "ctype": items[0]["ctype"], "items": items}
    if arg.kind == "const":
        return {"kind": "const", "symbol": layer.const_symbols[arg.ref]}
    if arg.kind == "params":
        return {"kind": "params", "symbol": layer.params_symbol}
    if arg.kind == "scratch":
        return {"kind": "scratch", "offset": layer.scratch_offset}
    if arg.kind == "int":
        return {"kind": "int", "value": int(arg.value)}
    if arg.kind == "null":
        return {"kind": "null"}
    raise ValueError(f"unknown argument kind {arg.kind}")
