"""Lowering: graph -> plain records (layers, steps, constants, buffer locations) for the
templates.

The kernel variants come from tinyml/kernels (select), every memory decision from the planner
(tinyml/plan/planner.py): the schedule, what runs in place, the patch stage and the arena
offsets. Lowering turns the planned schedule into steps: a kernel call on a whole layer, on a
band of its rows (tinyml/plan/bands.py) or on a patch (tinyml/plan/patches.py), and the
copies a band's ring needs. Graph inputs and outputs are the caller's pointers unless they
live in the arena. Nothing here writes C: the templates do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np

from ..dtypes import DTYPES
from ..errors import ModelError
from ..ir import Graph, Node, Tensor
from ..kernels import select
from ..kernels.registry import portable_choice
from ..kernels.regions import geometry_of, region_call
from ..ops import get_op
from ..ops.base import Arg, KernelCall
from ..plan.arena import ArenaPlan, BufferRequest
from ..plan.layout import Layout
from ..plan.patches import region_params
from ..plan.planner import MemoryPlan, PlanOptions, plan_memory
from ..plan.schedule import Schedule
from ..targets.cores import Core, get_core
from ..train.lower import TrainCode, lower_train, state_layout
from ..train.plan import TrainPlan
from ..validate import MAX_ARENA_BYTES

CTYPES = {name: d.ctype for name, d in DTYPES.items()}
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
    runs: str = "whole"              # whole | bands | patches | view
    macs_run: int = 0                # MACs as scheduled (patches recompute their halos)


@dataclass(frozen=True)
class ParamsStruct:
    symbol: str
    ctype: str
    fields: tuple


@dataclass(frozen=True)
class CallStep:
    """One kernel call; with `repeat` > 1, a loop whose tensor arguments advance by their
    `stride` elements each turn (a flat kernel on the rows of a rectangle)."""
    layer: int
    kernel: str
    args: tuple[dict, ...]
    repeat: int = 1


@dataclass(frozen=True)
class CopyStep:
    """memmove of `nbytes` inside the arena (a band's rows out of its ring)."""
    layer: int
    dst: int
    src: int
    nbytes: int


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
    memory: MemoryPlan | None = None
    steps: tuple[CallStep | CopyStep, ...] = ()
    params: tuple[ParamsStruct, ...] = ()
    train: TrainCode | None = None

    @property
    def layout(self) -> Layout:
        return self.memory.layout

    @property
    def kernel_sources(self) -> tuple[str, ...]:
        sources = {s for l in self.layers if l.call for s in l.call.sources}
        return tuple(sorted(sources | ({"tm_train.c"} if self.train else set())))

    @property
    def weight_bytes(self) -> int:
        train = sum(values.nbytes for _, _, values in self.train.consts) if self.train else 0
        return sum(c.values.nbytes for c in self.consts) + train


def c_identifier(text: str, limit: int = 40) -> str:
    ident = re.sub(r"[^0-9A-Za-z_]", "_", text).strip("_")[:limit] or "t"
    return ident if not ident[0].isdigit() else "t" + ident


def _io_info(t: Tensor) -> IOInfo:
    scale = zp = None
    if t.quant is not None and t.dtype != "float32":
        scale, zp = t.quant.scale[0], t.quant.zero_point[0]
    return IOInfo(t.name, t.dtype, t.shape, scale, zp)


class _Steps:
    """Builds the steps and the params structs they point to (one struct per distinct params
    of a layer)."""

    def __init__(self, code_locations: dict[str, Location], graph: Graph):
        self.locations = code_locations
        self.graph = graph
        self.steps: list[CallStep | CopyStep] = []
        self.structs: list[ParamsStruct] = []
        self._symbols: dict[tuple, str] = {}

    def params_symbol(self, layer: Layer, params: tuple) -> str | None:
        call = layer.call
        if not call.params_type:
            return None
        key = (layer.index, params)
        if key not in self._symbols:
            first = not any(k[0] == layer.index for k in self._symbols)
            symbol = layer.params_symbol if first else f"{layer.params_symbol}{len(self._symbols)}"
            self._symbols[key] = symbol
            self.structs.append(ParamsStruct(symbol, call.params_type, params))
        return self._symbols[key]

    def call(self, layer: Layer, params: tuple, buffers: dict[str, tuple[Location, int, int]],
             scratch: int, repeat: int = 1) -> None:
        """`buffers`: tensor -> (its buffer, element offset, stride per repeat)."""
        symbol = self.params_symbol(layer, params)
        args = []
        for a in layer.call.args:
            if a.kind == "tensor" and a.ref in buffers:
                loc, elements, stride = buffers[a.ref]
                args.append(_tensor_record(loc, elements, stride))
            elif a.kind == "params":
                args.append({"kind": "params", "symbol": symbol})
            elif a.kind == "scratch":
                args.append({"kind": "scratch", "offset": scratch})
            else:
                args.append(_arg_record(layer, a, self.locations))
        self.steps.append(CallStep(layer.index, layer.call.kernel, tuple(args), repeat))


def _tensor_record(loc: Location, elements: int = 0, stride: int = 0) -> dict:
    return {"kind": loc.kind, "ctype": loc.ctype, "index": loc.index, "offset": loc.offset,
            "symbol": loc.symbol, "elements": elements, "stride": stride}


def _arg_record(layer: Layer, arg: Arg, locations: dict[str, Location]) -> dict:
    if arg.kind == "tensor":
        return _tensor_record(locations[arg.ref])
    if arg.kind == "tensor_list":
        items = [_arg_record(layer, Arg("tensor", name), locations) for name in arg.refs]
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


def _band_steps(out: _Steps, layer: Layer, layout: Layout) -> None:
    node, graph = layer.node, layout.graph
    bands = layout.decisions.bands[node.name]
    g = geometry_of(layer.call.params)
    x, y = node.inputs[0], node.outputs[0]
    loc_x, loc_y = out.locations[x], out.locations[y]
    ring = layout.ring_offset(node.name)
    row = bands.out_row_bytes
    ring_loc = Location("arena", loc_y.ctype, offset=ring)
    for band in bands.bands:
        box = bands.ring_box(band, g["out_w"]) if band.ring_top is not None else None
        rc = region_call(layer.call.params, band.region, None, box)
        target = ring_loc if box else loc_y
        out.call(layer, rc.params, {x: (loc_x, rc.input_offset, 0), y: (target, rc.output_offset, 0)},
                 layer.scratch_offset)
        if band.flush:
            a, b = band.flush
            out.steps.append(CopyStep(layer.index, loc_y.offset + a * row,
                                      ring + (a - band.ring_top) * row, (b - a) * row))
        if band.keep and band.keep[0] != band.ring_top:
            a, b = band.keep
            out.steps.append(CopyStep(layer.index, ring, ring + (a - band.ring_top) * row,
                                      (b - a) * row))


def _patch_steps(out: _Steps, layers: dict[str, Layer], layout: Layout) -> None:
    stage, graph = layout.decisions.stage, layout.graph
    base = layout.scratch_offset(layout.stage_node)
    for i, ps in enumerate(stage.steps):
        layer = layers[ps.node]
        node, call = layer.node, layer.call
        boxes = dict(ps.boxes)

        def buffer(t: str) -> Location:
            if t in stage.internal:
                return Location("arena", CTYPES[graph.tensor(t).dtype],
                                offset=base + stage.buffers[(t, ps.patch)])
            return out.locations[t]
        scratch = base + stage.scratch_offsets[i]
        if geometry_of(call.params) is not None:
            x, y = node.inputs[0], node.outputs[0]
            rc = region_params(call, ps.region, boxes, node, graph)
            out.call(layer, rc.params, {x: (buffer(x), rc.input_offset, 0),
                                        y: (buffer(y), rc.output_offset, 0)}, scratch)
            continue
        r = ps.region
        channels = graph.tensor(node.outputs[0]).shape[3]
        tensors = [t for t in (*node.inputs, *node.outputs) if t and not graph.tensor(t).is_const]
        rows_apart = any(boxes[t].width != r.right - r.left for t in tensors)
        count = (r.right - r.left) * channels * (1 if rows_apart else r.bottom - r.top)
        params = tuple((f, count if f == "size" else v) for f, v in call.params)
        buffers = {t: (buffer(t), ((r.top - boxes[t].top) * boxes[t].width
                                   + r.left - boxes[t].left) * channels,
                       boxes[t].width * channels if rows_apart else 0) for t in tensors}
        out.call(layer, params, buffers, scratch, r.bottom - r.top if rows_apart else 1)


def lower_model(graph: Graph, name: str, core: Core | None = None,
                io_in_arena: bool = False, options: PlanOptions | None = None,
                train: TrainPlan | None = None) -> ModelCode:
    """`core` (the host's when None) decides which kernel variant computes each layer;
    `io_in_arena` plans the model's inputs and outputs inside the arena (as TFLite Micro
    does: an input's bytes are reused once it is dead) instead of in the caller's buffers;
    `options` the planner's (tinyml/plan/planner.py); `train` a training plan
    (tinyml/train/plan.py, whose graph `graph` is): its layers read their trained tensors
    from the state, with the portable kernels, and the step is lowered too."""
    core = core or get_core("host")
    options = replace(options or PlanOptions(), io_in_arena=io_in_arena)
    choices = select(graph, core)
    trained = {p.node for p in train.params} if train else set()
    choices.update({n.name: portable_choice(n, graph) for n in graph.nodes if n.name in trained})
    memory = plan_memory(graph, choices, core, options)
    layout = memory.layout
    plan = layout.plan
    if plan.size > MAX_ARENA_BYTES:
        raise ModelError(f"the arena would take {plan.size:,} bytes, above the limit of "
                         f"{MAX_ARENA_BYTES:,}", model=graph.source)
    choices = layout.decisions.calls
    gathered = layout.sharing.gathered
    calls = {n: c.call for n, c in choices.items() if n not in gathered}
    roots = layout.roots
    within = layout.sharing.offsets
    stage = layout.decisions.stage

    locations: dict[str, Location] = {}
    consts: list[ConstData] = []
    if not io_in_arena:
        for i, tname in enumerate(graph.inputs):
            locations[tname] = Location("input", CTYPES[graph.tensor(tname).dtype], index=i)
        for i, tname in enumerate(graph.outputs):
            locations[tname] = Location("output", CTYPES[graph.tensor(tname).dtype], index=i)
    # only constants some kernel reads: a lowering may replace a weight by derived constants
    referenced = {roots.get(name, name) for call in calls.values() for a in call.args
                  for name in (a.ref, *a.refs) if a.kind in ("tensor", "tensor_list")}
    for tname, t in graph.tensors.items():
        if t.is_const and tname in referenced:
            symbol = f"w{len(consts)}"   # never from the name: the model file is untrusted
            locations[tname] = Location("const", CTYPES[t.dtype], symbol=symbol)
            consts.append(ConstData(symbol, CTYPES[t.dtype], t.data.reshape(-1), tname))
    flash_symbols = {t: loc.symbol for t, loc in locations.items() if loc.kind == "const"}
    if train:
        for st in state_layout(train, flash_symbols.get)[0]:
            locations[st.tensor] = Location("state", st.ctype, offset=st.offset)
    for tname in graph.tensors:
        if tname in locations:
            continue
        root = roots.get(tname, tname)
        base = locations.get(root)
        ctype = CTYPES[graph.tensor(tname).dtype]
        if base is not None:
            locations[tname] = Location(base.kind, ctype, base.index, base.offset, base.symbol)
        elif root in plan.offsets:
            locations[tname] = Location("arena", ctype,
                                        offset=plan.offsets[root] + within.get(tname, 0))

    nodes = {node.name: node for node in graph.nodes}
    in_stage = set(stage.nodes) if stage else set()
    run_macs = dict(zip(stage.nodes, stage.node_macs)) if stage else {}
    layers: list[Layer] = []
    for index, node in enumerate(nodes[n] for n in layout.node_order()):
        call = calls.get(node.name)
        ident = f"l{index}_{c_identifier(node.op)}"
        const_symbols = {}
        if call is not None:
            for c in call.consts:
                const_symbols[c.suffix] = f"{ident}_{c.suffix}"
                consts.append(ConstData(f"{ident}_{c.suffix}", c.ctype, np.asarray(c.values).reshape(-1)))
        macs = get_op(node, graph).macs(node, graph)
        runs = ("slices" if node.name in gathered else "view" if call is None
                else "patches" if node.name in in_stage
                else "bands" if node.name in layout.decisions.bands else "whole")
        reason = {"slices": "its inputs are written in place, in its slices",
                  "view": "view"}.get(runs, choices[node.name].reason if call else "")
        layers.append(Layer(index, node, call, f"{ident}_params", const_symbols,
                            layout.scratch_offset(node.name), macs, reason,
                            runs, run_macs.get(node.name, macs)))

    out = _Steps(locations, graph)
    by_node = {layer.node.name: layer for layer in layers}
    for step in layout.schedule.steps:
        if stage is not None and step.node == layout.stage_node:
            _patch_steps(out, by_node, layout)
            continue
        layer = by_node[step.node]
        if layer.call is None:
            continue
        if layer.runs == "bands":
            _band_steps(out, layer, layout)
        else:
            out.call(layer, layer.call.params, {}, layer.scratch_offset)

    def io(tname: str) -> IOInfo:
        info = _io_info(graph.tensor(tname))
        if io_in_arena:
            info = replace(info, arena_offset=plan.offsets[roots[tname]] + within.get(tname, 0))
        return info
    train_code = None
    if train:
        train_code = lower_train(
            train, layer_index={l.node.name: l.index for l in layers},
            runs={n for n, c in calls.items() if c is not None},
            locations={t: _tensor_record(loc) for t, loc in locations.items()},
            const_symbol=flash_symbols.__getitem__, arena_size=plan.size)
    return ModelCode(name, graph, tuple(layers), tuple(consts), locations, plan,
                     layout.requests, layout.schedule,
                     tuple(io(t) for t in graph.inputs), tuple(io(t) for t in graph.outputs),
                     io_in_arena, memory, tuple(out.steps), tuple(out.structs), train_code)

