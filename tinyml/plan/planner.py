"""The memory planner: which kernel variants, in-place bands and patch stage a model runs
with, and the arena plan that follows (tinyml/plan/layout.py).

Moves at the peak (`optimize`): the arena is as large as the fullest step of the schedule, so
the planner looks at the nodes there and tries what shrinks their step:
- `speed`: nothing beyond what costs no time (views, kernels that write over their input).
- `balanced` (default): also runs a conv-like layer in place band by band (tinyml/plan/
  bands.py), which costs a kernel call per band and the copies out of the ring.
- `ram`: also swaps a node's kernel for a variant with less scratch (usually slower).
A move is kept when it lowers (arena, number of steps at the peak); the planner repeats until
no move at the peak helps.

Patches (`patch`): "off"; "auto": of layer-by-layer and every stage and grid (tinyml/plan/
patches.py) whose extra MACs stay within `patch_overhead` of the model's, the one of least
arena, and of those within PEAK_TIE of it the one of fewest extra MACs (so never above
layer-by-layer); "RxC@LAYER": that grid, split after that layer (its index in the layer
table, or its name); None: layer by layer. With `arena_budget` (the SRAM left for the arena),
a plan that does not meet it gives way to the plan of fewest extra MACs that does (layer by
layer first, any overhead); when none does, the plan of least arena, and the caller says it
does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import UsageError
from ..ir import Graph
from ..kernels.registry import Choice, variants_for
from ..kernels.regions import geometry_of
from ..ops import get_op
from ..ops.base import io_dtype
from ..targets.cores import Core
from .bands import plan_bands
from .layout import Decisions, Layout, bound, finish, lay_out, writable
from .patches import StagePlan, plan_stage, region_params, split_candidates, stage_grid

OPTIMIZE = ("speed", "balanced", "ram")
BAND_ROWS = (1, 2, 4, 8)
MAX_GRID = 12             # rows and columns of patches tried, each
PEAK_TIE = 0.01           # plans within 1% of the least arena count as equal under --patch auto


@dataclass(frozen=True)
class PlanOptions:
    io_in_arena: bool = False
    optimize: str = "balanced"
    patch: str | None = None          # None | "off" | "auto" | "RxC@LAYER"
    patch_overhead: float = 0.15      # extra MACs allowed, as a fraction of the model's
    arena_budget: int | None = None   # bytes the arena may take
    alignment: int = 16


@dataclass(frozen=True)
class MemoryPlan:
    layout: Layout
    layer_by_layer: Layout            # the same model without patches, planned
    options: PlanOptions


def _score(layout: Layout) -> tuple[int, int]:
    live = layout.live()
    peak = max(live, default=0)
    return bound(layout), sum(1 for b in live if b == peak)


def _band_moves(graph: Graph, lay: Layout, node_name: str):
    """Runs of the node by bands of 1, 2, 4 or 8 rows, when its first input dies at it (its
    only reader) in a buffer its output may take."""
    decisions = lay.decisions
    call = decisions.calls[node_name].call
    g = geometry_of(call.params)
    if (g is None or g["batches"] != 1 or call.in_place or node_name in decisions.bands
            or (decisions.stage and node_name in decisions.stage.nodes)):
        return
    node = next(n for n in graph.nodes if n.name == node_name)
    x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    readers = [n.name for n in graph.consumers().get(node.inputs[0], [])]
    src = lay.roots.get(node.inputs[0], node.inputs[0])
    if readers != [node_name] or not writable(graph, src, node.outputs[0], set(lay.external)):
        return
    in_row, out_row = x.nbytes // (g["in_h"]), y.nbytes // (g["out_h"])
    for rows in BAND_ROWS:
        if rows >= g["out_h"]:
            break
        bands = plan_bands(g, rows, in_row, out_row)
        if bands.ring_rows < g["out_h"]:
            yield replace(decisions, bands={**decisions.bands, node_name: bands})


def _variant_moves(graph: Graph, decisions: Decisions, node_name: str, core: Core):
    node = next(n for n in graph.nodes if n.name == node_name)
    current = decisions.calls[node_name]
    lighter = [v for v in variants_for(node.op, io_dtype(node, graph))
               if v.applies(node, graph, core) and v.scratch(node, graph) < current.call.scratch_bytes]
    if lighter:
        v = min(lighter, key=lambda v: (v.scratch(node, graph), -v.priority))
        calls = {**decisions.calls, node_name: Choice(v, v.lower(node, graph))}
        bands = {k: b for k, b in decisions.bands.items() if k != node_name}
        yield replace(decisions, calls=calls, bands=bands)


def improve(graph: Graph, decisions: Decisions, options: PlanOptions, core: Core) -> Layout:
    """The layout of `decisions` after the moves `options.optimize` allows at the peak."""
    lay = lay_out(graph, decisions, options.io_in_arena, options.alignment, plan=False)
    if options.optimize == "speed":
        return lay
    score = (*_score(lay), 0)
    while True:
        live = lay.live()
        peak = max(live, default=0)
        units = [lay.schedule.steps[s].node for s, b in enumerate(live) if b == peak]
        better = None
        for unit in units:
            if unit not in lay.decisions.calls:
                continue
            moves = list(_band_moves(graph, lay, unit))
            if options.optimize == "ram":
                moves += list(_variant_moves(graph, lay.decisions, unit, core))
            for d in moves:   # of equal scores, the band of most rows (fewest calls) wins
                candidate = lay_out(graph, d, options.io_in_arena, options.alignment, plan=False)
                band = d.bands.get(unit)
                s = (*_score(candidate), -(band.rows if band else 0))
                if s[:2] < score[:2] and (better is None or s < better[0]):
                    better = (s, candidate)
        if better is None:
            return lay
        score, lay = better


def _macs(graph: Graph) -> dict[str, int]:
    return {n.name: get_op(n, graph).macs(n, graph) for n in graph.nodes}


def _region_scratch(graph: Graph, decisions: Decisions):
    def scratch(node, call, region, boxes) -> int:
        variant = decisions.calls[node.name].variant
        if variant.region_scratch is not None and geometry_of(call.params) is not None:
            return variant.region_scratch(dict(region_params(call, region, boxes, node, graph).params))
        return call.scratch_bytes
    return scratch


def _with_stage(decisions: Decisions, stage: StagePlan | None) -> Decisions:
    if stage is None:
        return replace(decisions, stage=None)
    bands = {k: b for k, b in decisions.bands.items() if k not in stage.nodes}
    return replace(decisions, bands=bands, stage=stage)


def _stages(graph: Graph, base: Layout, options: PlanOptions, spec: str | None,
            macs: dict[str, int]):
    """Every stage and grid the options allow, as (stage planned quickly, layout without
    offsets)."""
    decisions = base.decisions
    calls = {n: c.call for n, c in decisions.calls.items()}
    order = tuple(s.node for s in base.schedule.steps)
    total = sum(macs.values()) or 1
    scratch = _region_scratch(graph, decisions)
    candidates = split_candidates(graph, calls, order)
    grids: list[tuple[int, int]] = []
    if spec is not None:
        grid, layer = _parse_spec(spec)
        node = _layer_node(graph, list(order), layer)
        split = next((n.outputs[0] for n in graph.nodes if n.name == node), None)
        candidates = [(s, nodes) for s, nodes in candidates if s == split]
        if not candidates:
            raise UsageError(f"--patch {spec}: layer {layer} cannot end a patch stage (every "
                             "layer up to it must be a conv, depthwise conv, pool or "
                             "elementwise op on NHWC tensors, read by nothing else)")
        grids = [grid]
    for split, nodes in candidates:
        _, h, w, _ = graph.tensor(split).shape
        pairs = grids or [(r, c) for r in range(1, min(h, MAX_GRID) + 1)
                          for c in range(1, min(w, MAX_GRID) + 1) if r * c > 1]
        for rows, cols in pairs:
            if rows > h or cols > w:
                raise UsageError(f"--patch {spec}: a {rows}x{cols} grid does not fit the "
                                 f"layer's {h}x{w} output")
            sg = stage_grid(graph, calls, nodes, split, rows, cols, macs)
            if spec is None and options.arena_budget is None \
                    and sg.extra_macs > options.patch_overhead * total:
                continue
            stage = plan_stage(graph, calls, sg, scratch, options.alignment, exact=False)
            yield sg, lay_out(graph, _with_stage(decisions, stage), options.io_in_arena,
                              options.alignment, plan=False)


def _parse_spec(spec: str) -> tuple[tuple[int, int], str]:
    grid, sep, layer = spec.partition("@")
    rows, x, cols = grid.lower().partition("x")
    if not (sep and x and rows.isdigit() and cols.isdigit() and layer and int(rows) * int(cols) > 1):
        raise UsageError(f"--patch {spec!r}: expected off, auto or RxC@LAYER (e.g. 3x3@5)")
    return (int(rows), int(cols)), layer


def _layer_node(graph: Graph, order: list[str], layer: str) -> str:
    if layer.isdigit():
        if int(layer) >= len(order):
            raise UsageError(f"--patch: layer {layer} is past the last layer ({len(order) - 1})")
        return order[int(layer)]
    if layer not in order:
        raise UsageError("--patch: no layer of that name")
    return layer


def plan_memory(graph: Graph, choices: dict[str, Choice], core: Core,
                options: PlanOptions) -> MemoryPlan:
    if options.optimize not in OPTIMIZE:
        raise UsageError(f"--optimize must be one of {', '.join(OPTIMIZE)}")
    if not 0 <= options.patch_overhead:
        raise UsageError("--patch-overhead must be at least 0")
    base = improve(graph, Decisions(dict(choices)), options, core)
    flat = finish(base)
    budget = options.arena_budget
    fits = budget is None or flat.plan.size <= budget
    mode = options.patch
    if mode == "off" or (mode is None and fits):
        return MemoryPlan(flat, flat, options)
    spec = mode if mode not in (None, "auto") else None
    macs = _macs(graph)
    candidates = [(None, base)] + list(_stages(graph, base, options, spec, macs))
    if spec is not None:
        candidates = candidates[1:]
    total = sum(macs.values()) or 1
    extra = lambda c: c[0].extra_macs if c[0] else 0   # noqa: E731
    within = [c for c in candidates if extra(c) <= options.patch_overhead * total]
    meeting = [c for c in candidates if budget is not None and bound(c[1]) <= budget]
    if mode == "auto" and within:
        least = min(bound(c[1]) for c in within)
        near = [c for c in within if bound(c[1]) <= least * (1 + PEAK_TIE)]
        chosen = min(near, key=lambda c: (extra(c), bound(c[1])))
        if budget is not None and bound(chosen[1]) > budget and meeting:
            chosen = min(meeting, key=lambda c: (extra(c), bound(c[1])))
    elif meeting:
        chosen = min(meeting, key=lambda c: (extra(c), bound(c[1])))
    else:
        chosen = min(candidates, key=lambda c: (bound(c[1]), extra(c)))
    sg, layout = chosen
    if sg is not None:   # the chosen stage planned exactly, then the moves after it
        calls = {n: c.call for n, c in layout.decisions.calls.items()}
        stage = plan_stage(graph, calls, sg, _region_scratch(graph, layout.decisions),
                           options.alignment)
        layout = improve(graph, _with_stage(layout.decisions, stage), options, core)
    return MemoryPlan(finish(layout), flat, options)
