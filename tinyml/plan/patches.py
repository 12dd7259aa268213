"""Patch-based execution of a model's first stage (MCUNetV2).

The stage is every node the split tensor depends on, from the model's inputs; it runs patch
by patch over a rows x cols grid of the split tensor, and the rest of the model layer by
layer. For one patch, each stage tensor is needed on a rectangle: the patch itself for the
split tensor, and for any other tensor the union of the windows its readers in the stage take
(tinyml/kernels/regions.py input_window: the receptive field, clipped at the image, so
padding is only ever the image's own). Each stage node computes exactly its output's
rectangle, reading its inputs from buffers that hold theirs; the model's inputs are read
whole and the split tensor is written in place, so patches add only the halos' work (`macs`
against `layer_macs`), and the outputs are bit-identical to layer-by-layer execution.

What may be in a stage: conv-like layers (a kernel with a window geometry, batch 1) and
flat elementwise kernels (KernelCall.flat) whose tensor inputs have the output's shape; a
tensor of the stage other than the split one is read only inside the stage and is not a
model output; the stage reads no tensor but the model's inputs and constants.

Per patch, the stage's own tensors and the kernels' scratch are planned like an arena of
their own (tinyml/plan/arena.py, over the stage's steps); the stage's scratch is the
largest of those plans, and the whole model's plan holds it as the scratch of one step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..ir import Graph, Node
from ..ops.base import KernelCall
from ..kernels.regions import Box, Region, RegionCall, cuts, geometry_of, region_call, window
from .arena import BufferRequest, check_plan, live_bytes, lower_bound, plan_arena


@dataclass(frozen=True)
class PatchStep:
    node: str
    patch: int
    region: Region                    # of the node's output
    boxes: tuple[tuple[str, Box], ...]  # per tensor it reads or writes: what its buffer holds
    scratch: int                      # the kernel's scratch for this region


@dataclass(frozen=True)
class StagePlan:
    split: str                        # the tensor the stage ends with
    grid: tuple[int, int]             # rows x cols of patches
    nodes: tuple[str, ...]            # the stage's nodes, in the order each patch runs them
    inputs: tuple[str, ...]           # whole tensors the stage reads (model inputs)
    internal: frozenset[str]          # tensors held per patch
    steps: tuple[PatchStep, ...]      # patch by patch
    buffers: dict[tuple[str, int], int]   # (tensor, patch) -> offset in the stage's scratch
    scratch_offsets: tuple[int, ...]  # per step: its kernel scratch's offset there
    scratch_bytes: int                # the stage's scratch: its largest patch plan
    buffer_bytes: int                 # the per-patch buffers alone, at their fullest
    node_live: tuple[int, ...]        # per node: its patch's buffers and scratch alive, at most
    node_macs: tuple[int, ...]        # per node: its MACs over all patches
    layer_macs: int                   # of the same nodes layer by layer

    @property
    def macs(self) -> int:
        """Of the stage run patch by patch."""
        return sum(self.node_macs)

    @property
    def extra_macs(self) -> int:
        return self.macs - self.layer_macs

    @property
    def split_node(self) -> str:
        return self.nodes[-1]


#: node, its call, the region it computes, the boxes of its buffers -> scratch bytes
Scratch = Callable[[Node, KernelCall, Region, dict], int]


def _spatial(graph: Graph, tensor: str) -> bool:
    shape = graph.tensor(tensor).shape
    return len(shape) == 4 and shape[0] == 1


def patchable(node: Node, graph: Graph, call: KernelCall | None) -> bool:
    """Whether a node can run on rectangles of its output."""
    if call is None or not _spatial(graph, node.outputs[0]):
        return False
    if geometry_of(call.params) is not None:
        return _spatial(graph, node.inputs[0])
    shape = graph.tensor(node.outputs[0]).shape
    return call.flat and all(graph.tensor(t).is_const or graph.tensor(t).shape == shape
                             for t in node.inputs if t)


def _ancestors(producers: dict[str, Node], tensor: str) -> set[str]:
    seen: set[str] = set()
    stack = [tensor]
    while stack:
        t = stack.pop()
        node = producers.get(t)
        if node is None or node.name in seen:
            continue
        seen.add(node.name)
        stack.extend(i for i in node.inputs if i)
    return seen


def stage_nodes(graph: Graph, calls: dict[str, KernelCall], order: tuple[str, ...],
                split: str) -> tuple[str, ...] | None:
    """The stage ending at `split` in the schedule's order, or None if it cannot run by patches."""
    if not _spatial(graph, split) or split in graph.inputs:
        return None
    producers = graph.producers()
    names = _ancestors(producers, split)
    nodes = {n.name: n for n in graph.nodes}
    consumers = graph.consumers()
    for name in names:
        node = nodes[name]
        if not patchable(node, graph, calls.get(name)):
            return None
        for t in node.inputs:
            if t and not graph.tensor(t).is_const and t not in graph.inputs \
                    and producers[t].name not in names:
                return None
        out = node.outputs[0]
        if out != split and (out in graph.outputs
                             or any(c.name not in names for c in consumers.get(out, []))):
            return None
    return tuple(n for n in order if n in names)


def split_candidates(graph: Graph, calls: dict[str, KernelCall], order: tuple[str, ...]
                     ) -> list[tuple[str, tuple[str, ...]]]:
    """(split tensor, stage nodes) for every tensor a stage may end with, in schedule order."""
    nodes = {n.name: n for n in graph.nodes}
    found = []
    for name in order:
        stage = stage_nodes(graph, calls, order, nodes[name].outputs[0])
        if stage is not None:
            found.append((nodes[name].outputs[0], stage))
    return found


_AXES = (("stride_h", "pad_top", "kernel_h", "dilation_h", "in_h", 1),
         ("stride_w", "pad_left", "kernel_w", "dilation_w", "in_w", 2))


def _axis_needs(graph: Graph, calls: dict[str, KernelCall], nodes: list[Node], split: str,
                lo: int, hi: int, axis: int) -> dict[str, tuple[int, int]]:
    """Per tensor of the stage, the rows (axis 0) or columns (axis 1) one patch spanning
    [lo, hi) of the split tensor needs: windows are separable, so a patch's rectangle is
    its rows' needs by its columns'."""
    stride, pad, kernel, dilation, size, _ = _AXES[axis]
    need = {split: (lo, hi)}
    for node in reversed(nodes):
        a, b = need[node.outputs[0]]
        g = geometry_of(calls[node.name].params)
        reads = [node.inputs[0]] if g is not None else [t for t in node.inputs if t]
        for t in reads:
            if graph.tensor(t).is_const:
                continue
            if g is not None:
                first, count, _ = window(a, b, g[stride], g[pad], g[kernel], g[dilation], g[size])
                span = (first, first + count)
            else:
                span = (a, b)
            need[t] = (min(need[t][0], span[0]), max(need[t][1], span[1])) if t in need else span
    return need


def _axis_key(need: dict[str, tuple[int, int]], graph: Graph, axis: int) -> tuple:
    """Spans that touch no edge of their tensor differ only by a shift, and give the same
    params, buffers and scratch: they share a key."""
    dim = _AXES[axis][5]
    if any(a == 0 or b == graph.tensor(t).shape[dim] for t, (a, b) in need.items()):
        return ("edge", tuple(sorted(need.items())))
    return ("inside", tuple(sorted((t, b - a) for t, (a, b) in need.items())))


def _whole(graph: Graph, tensor: str) -> Box:
    _, h, w, _ = graph.tensor(tensor).shape
    return Box(0, h, 0, w)


def _bytes(graph: Graph, tensor: str, box: Box) -> int:
    t = graph.tensor(tensor)
    return box.height * box.width * t.shape[3] * t.nbytes // t.size


def region_params(call: KernelCall, region: Region, boxes: dict[str, Box], node: Node,
                  graph: Graph) -> RegionCall:
    """A conv-like call on `region`, its input and output in buffers holding `boxes`."""
    whole_in, whole_out = _whole(graph, node.inputs[0]), _whole(graph, node.outputs[0])
    in_box, out_box = boxes[node.inputs[0]], boxes[node.outputs[0]]
    return region_call(call.params, region, None if in_box == whole_in else in_box,
                       None if out_box == whole_out else out_box)


@dataclass(frozen=True)
class StageGrid:
    """A stage on a grid before its buffers are planned: what each patch needs and the MACs.
    Patch p is row span p // cols by column span p % cols."""
    split: str
    grid: tuple[int, int]
    nodes: tuple[str, ...]
    rows: tuple[dict[str, tuple[int, int]], ...]   # per row span: each tensor's rows
    cols: tuple[dict[str, tuple[int, int]], ...]
    keys: tuple[tuple, ...]                        # per patch: patches of one key plan alike
    node_macs: tuple[int, ...]                     # per node: its MACs over all patches
    layer_macs: int

    @property
    def extra_macs(self) -> int:
        return sum(self.node_macs) - self.layer_macs

    def need(self, patch: int) -> dict[str, Box]:
        rows, cols = self.rows[patch // self.grid[1]], self.cols[patch % self.grid[1]]
        return {t: Box(*rows[t], *cols[t]) for t in rows}


def stage_grid(graph: Graph, calls: dict[str, KernelCall], stage: tuple[str, ...], split: str,
               rows: int, cols: int, macs: dict[str, int]) -> StageGrid:
    nodes = {n.name: n for n in graph.nodes}
    ordered = [nodes[n] for n in stage]
    _, out_h, out_w, _ = graph.tensor(split).shape
    ys, xs = cuts(out_h, rows), cuts(out_w, cols)
    row_needs = tuple(_axis_needs(graph, calls, ordered, split, ys[i], ys[i + 1], 0)
                      for i in range(rows))
    col_needs = tuple(_axis_needs(graph, calls, ordered, split, xs[j], xs[j + 1], 1)
                      for j in range(cols))
    row_keys = [_axis_key(n, graph, 0) for n in row_needs]
    col_keys = [_axis_key(n, graph, 1) for n in col_needs]
    node_macs = []   # MACs are per output pixel: the rows computed times the columns
    for n in ordered:
        _, h, w, _ = graph.tensor(n.outputs[0]).shape
        t = n.outputs[0]
        node_macs.append(macs[n.name] // (h * w) * sum(b - a for a, b in (r[t] for r in row_needs))
                         * sum(b - a for a, b in (c[t] for c in col_needs)))
    return StageGrid(split, (rows, cols), stage, row_needs, col_needs,
                     tuple((rk, ck) for rk in row_keys for ck in col_keys), tuple(node_macs),
                     sum(macs[n] for n in stage))


def plan_stage(graph: Graph, calls: dict[str, KernelCall], sg: StageGrid, scratch: Scratch,
               alignment: int, exact: bool = True) -> StagePlan:
    """The buffers and scratch of each patch of `sg`, planned once per key; `exact` False
    plans quickly (tinyml/plan/arena.py without its search) and leaves out the steps, for
    comparing candidates."""
    nodes = {n.name: n for n in graph.nodes}
    ordered = [nodes[n] for n in sg.nodes]
    split = sg.split
    produced = {n.outputs[0] for n in ordered}
    internal = frozenset(produced - {split})
    inputs = tuple(dict.fromkeys(t for n in ordered for t in n.inputs
                                 if t and not graph.tensor(t).is_const and t not in produced))
    last = {t: i for i, n in enumerate(ordered) for t in n.inputs if t in internal}
    steps: list[PatchStep] = []
    buffers: dict[tuple[str, int], int] = {}
    scratch_offsets: list[int] = []
    stage_scratch = buffer_bytes = 0
    node_live = [0] * len(ordered)
    plans: dict[tuple, tuple] = {}   # key -> (plan, its buffers' bytes alone, scratch per step)
    for p, key in enumerate(sg.keys):
        if key in plans and not exact:
            continue
        need = sg.need(p)
        boxes = {t: (need[t] if t in internal else _whole(graph, t)) for t in need}
        regions = [need[n.outputs[0]] for n in ordered]
        if key not in plans:
            sizes = [_bytes(graph, n.outputs[0], boxes[n.outputs[0]])
                     if n.outputs[0] in internal else 0 for n in ordered]
            scratches = [scratch(n, calls[n.name], r, boxes) for n, r in zip(ordered, regions)]
            requests = [BufferRequest(f"t{i}", size, i, last.get(ordered[i].outputs[0], i))
                        for i, size in enumerate(sizes) if size]
            buffers_only = lower_bound(requests, alignment)
            requests += [BufferRequest(f"s{i}", size, i, i) for i, size in enumerate(scratches) if size]
            plan = plan_arena(requests, alignment, exact)
            check_plan(plan, requests)
            plans[key] = (plan, buffers_only, scratches)
            for i in range(len(ordered)):
                node_live[i] = max(node_live[i], live_bytes(requests, i, alignment))
        plan, buffers_only, scratches = plans[key]
        stage_scratch = max(stage_scratch, plan.size)
        buffer_bytes = max(buffer_bytes, buffers_only)
        if not exact:
            continue
        for i, (node, region) in enumerate(zip(ordered, regions)):
            if node.outputs[0] in internal:
                buffers[(node.outputs[0], p)] = plan.offsets[f"t{i}"]
            scratch_offsets.append(plan.offsets.get(f"s{i}", 0))
            touched = tuple((t, boxes[t]) for t in (*node.inputs, *node.outputs)
                            if t and not graph.tensor(t).is_const)
            steps.append(PatchStep(node.name, p, region, touched, scratches[i]))
    return StagePlan(split, sg.grid, sg.nodes, inputs, internal, tuple(steps), buffers,
                     tuple(scratch_offsets), stage_scratch, buffer_bytes, tuple(node_live),
                     sg.node_macs, sg.layer_macs)
