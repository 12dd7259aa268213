"""From memory decisions to an arena plan: which tensors share bytes, the schedule, every
buffer's lifetime and its offset.

Decisions (tinyml/plan/planner.py makes them): the kernel call of each node, the nodes run
in place band by band (tinyml/plan/bands.py), and the patch stage (tinyml/plan/patches.py).
Shared bytes (shared_buffers): a view's output is its input's buffer; a call that may write
over an input (KernelCall.in_place) or runs by bands gets that input's buffer when the input
dies there and neither is the caller's nor the model's input or output; a pure-copy
concatenation gets its inputs in its output's slices. The patch stage is one step
of the schedule: it reads the model's inputs, writes the split tensor, and holds its
per-patch buffers in its scratch. A node's scratch is its kernel's, then its band ring.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

from ..ir import Graph, Node
from ..ops import get_op
from ..kernels.registry import Choice
from .arena import ArenaPlan, BufferRequest, aligned, check_plan, lower_bound, plan_arena
from .bands import BandPlan
from .patches import StagePlan
from .schedule import Memory, Schedule, buffer_requests, order_nodes, scratch_names

STAGE_OP = "PatchStage"


@dataclass(frozen=True)
class Decisions:
    calls: dict[str, Choice]                     # the kernel of every node that runs
    bands: dict[str, BandPlan] = field(default_factory=dict)
    stage: StagePlan | None = None


@dataclass(frozen=True)
class Layout:
    graph: Graph
    units: Graph                 # what the schedule orders: the stage's nodes as one
    decisions: Decisions
    roots: dict[str, str]        # tensor -> the buffer holding it
    sharing: Sharing             # and where in it (tinyml/plan/layout.py shared_buffers)
    memory: Memory
    schedule: Schedule
    requests: tuple[BufferRequest, ...]
    plan: ArenaPlan
    external: frozenset[str]     # tensors in the caller's buffers
    alignment: int

    @property
    def stage_node(self) -> str | None:
        return next((n.name for n in self.units.nodes if n.op == STAGE_OP), None)

    def live_bytes(self, step: int) -> int:
        return sum(aligned(r.size, self.alignment) for r in self.requests
                   if r.first <= step <= r.last)

    def live(self) -> list[int]:
        return [self.live_bytes(s) for s in range(len(self.schedule.steps))]

    def node_live(self) -> dict[str, int]:
        """Per node, the arena bytes alive while it runs; in the patch stage, the whole
        tensors alive there and its patch's buffers and scratch at that node (their most
        over the patches)."""
        live = self.live()
        out = {}
        stage = self.decisions.stage
        for i, step in enumerate(self.schedule.steps):
            if stage is not None and step.node == self.stage_node:
                base = live[i] - aligned(stage.scratch_bytes, self.alignment)
                out.update({n: base + b for n, b in zip(stage.nodes, stage.node_live)})
            else:
                out[step.node] = live[i]
        return out

    def node_order(self) -> list[str]:
        """The nodes in the order they run: the stage's in its own order at its step."""
        return list(node_order(self.schedule, self.units, self.decisions))

    @cached_property
    def _scratch_buffers(self) -> dict[str, str]:
        return scratch_names(self.memory)

    def scratch_buffer(self, node: str | None) -> str | None:
        """The name of the node's scratch buffer in the plan (None: it has none)."""
        return self._scratch_buffers.get(node)

    def scratch_offset(self, node: str) -> int:
        name = self.scratch_buffer(node)
        return self.plan.offsets[name] if name else 0

    def ring_offset(self, node: str) -> int:
        return self.scratch_offset(node) + aligned(
            self.decisions.calls[node].call.scratch_bytes, self.alignment)


class _Buffers:
    """Which tensors share bytes: tensor -> (the tensor it lies in, at which byte)."""

    def __init__(self):
        self.links: dict[str, tuple[str, int]] = {}

    def link(self, tensor: str, into: str, offset: int = 0) -> None:
        self.links[tensor] = (into, offset)

    def find(self, tensor: str) -> tuple[str, int]:
        offset = 0
        while tensor in self.links:
            tensor, at = self.links[tensor]
            offset += at
        return tensor, offset

    def root(self, tensor: str) -> str:
        return self.find(tensor)[0]


def _writers(decisions: Decisions, node: Node) -> tuple[int, ...]:
    """The inputs `node` may write its output over: its kernel's, or the first when it runs
    by bands; none inside the patch stage (its tensors have buffers of their own there)."""
    choice = decisions.calls.get(node.name)
    if choice is None or (decisions.stage is not None and node.name in decisions.stage.nodes):
        return ()
    return (0,) if node.name in decisions.bands else choice.call.in_place


@dataclass(frozen=True)
class Sharing:
    roots: dict[str, str]        # tensor -> the tensor whose buffer holds it
    offsets: dict[str, int]      # tensor -> its first byte in that buffer
    gathered: frozenset[str]     # concatenations whose inputs were written in place


def _gather(graph: Graph, node: Node, decisions: Decisions, buffers: _Buffers,
            readers: dict[str, list[Node]], external: set[str]) -> bool:
    """Place every input of a pure-copy concatenation (KernelCall.gathers) in its slice of
    the output, when each is the concatenation's alone and fills its own buffer."""
    choice = decisions.calls.get(node.name)
    if choice is None or not choice.call.gathers or node.outputs[0] in external:
        return False
    out = node.outputs[0]
    roots = []
    for t in node.inputs:
        root, offset = buffers.find(t)
        alone = [n.name for n in readers.get(t, [])] == [node.name]
        fills = offset == 0 and all(graph.tensor(u).nbytes <= graph.tensor(t).nbytes
                                    for u in graph.tensors if buffers.root(u) == root)
        if not (alone and fills and writable(graph, root, out, external)) or root in roots:
            return False
        roots.append(root)
    itemsize = graph.tensor(out).nbytes // graph.tensor(out).size
    for root, element in zip(roots, choice.call.gathers):
        buffers.link(root, out, element * itemsize)
    return True


def shared_buffers(graph: Graph, decisions: Decisions, external: set[str],
                   order: tuple[str, ...] | None = None) -> Sharing:
    """Views share their input's bytes; outputs written in place share an input's; the inputs
    of a concatenation may lie in its output's slices.

    An output goes on an input's buffer when that input dies at the node: with no `order`,
    when the node is its only reader; with the schedule's `order`, when no later step reads
    a tensor of that buffer."""
    buffers = _Buffers()
    for node in graph.nodes:
        if get_op(node, graph).is_view and node.outputs[0] not in graph.outputs:
            buffers.link(node.outputs[0], node.inputs[0])
    readers = graph.consumers()
    position = {n: i for i, n in enumerate(order)} if order else None
    later_reads: dict[str, int] = {}
    if position is not None:
        for node in graph.nodes:
            for t in node.inputs:
                if t and node.name in position:
                    r = buffers.root(t)
                    later_reads[r] = max(later_reads.get(r, -1), position[node.name])
    nodes = (sorted(graph.nodes, key=lambda n: position.get(n.name, -1)) if position is not None
             else graph.nodes)
    gathered = set()
    for node in nodes:
        out = node.outputs[0]
        if node.op == "Concatenation":
            before = {t: buffers.root(t) for t in node.inputs}
            if _gather(graph, node, decisions, buffers, readers, external):
                gathered.add(node.name)
                for r in before.values():
                    later_reads[out] = max(later_reads.get(out, -1), later_reads.get(r, -1))
            continue
        for k in _writers(decisions, node):
            src = buffers.root(node.inputs[k])
            if position is None:
                dies = [n.name for n in readers.get(node.inputs[k], [])] == [node.name]
            else:
                dies = later_reads.get(src, -1) <= position.get(node.name, -1)
            if dies and writable(graph, src, out, external):
                buffers.link(out, node.inputs[k])
                if position is not None:   # the output's readers now read src
                    later_reads[src] = max(later_reads.get(src, -1), later_reads.get(out, -1))
                break
    found = {t: buffers.find(t) for t in graph.tensors}
    return Sharing({t: r for t, (r, _) in found.items()}, {t: o for t, (_, o) in found.items()},
                   frozenset(gathered))


def writable(graph: Graph, src: str, out: str, external: set[str]) -> bool:
    """Whether an output may take the buffer of `src` (when `src` dies there)."""
    return (src not in external and out not in external and not graph.tensor(src).is_const
            and src not in graph.inputs and src not in graph.outputs)


def _units(graph: Graph, stage: StagePlan | None) -> Graph:
    """The graph the schedule orders: the stage's nodes replaced by one node."""
    if stage is None:
        return graph
    inside = set(stage.nodes)
    unit = Node(graph.unique_name("#patch stage"), STAGE_OP, stage.inputs, (stage.split,))
    nodes = []
    for node in graph.nodes:
        if node.name not in inside:
            nodes.append(node)
        elif node.name == stage.split_node:
            nodes.append(unit)
    return graph.replace(nodes=nodes)


def _memory(graph: Graph, units: Graph, decisions: Decisions, sharing: Sharing,
            external: set[str], io_in_arena: bool, alignment: int) -> tuple[dict, Memory]:
    internal = decisions.stage.internal if decisions.stage else frozenset()
    roots = {t: sharing.roots.get(t, t) for node in units.nodes
             for t in (*node.inputs, *node.outputs) if t}
    roots.update({t: sharing.roots.get(t, t) for t in (*graph.inputs, *graph.outputs)
                  if t not in roots})
    sizes: dict[str, int] = {}
    for t, r in sharing.roots.items():   # a root holds every tensor placed in it
        if r not in external and r not in internal and not graph.tensor(r).is_const:
            sizes[r] = max(sizes.get(r, 0), sharing.offsets[t] + graph.tensor(t).nbytes)
    scratch = {}
    for node in units.nodes:
        if node.op == STAGE_OP:
            scratch[node.name] = decisions.stage.scratch_bytes
        elif node.name in decisions.calls and node.name not in sharing.gathered:
            band = decisions.bands.get(node.name)
            kernel = decisions.calls[node.name].call.scratch_bytes
            scratch[node.name] = (aligned(kernel, alignment) + band.ring_bytes if band else kernel)
    memory = Memory(roots, {r: n for r, n in sizes.items() if r in roots.values()},
                    {n: s for n, s in scratch.items() if s},
                    frozenset(roots[t] for t in graph.inputs) if io_in_arena else frozenset(),
                    frozenset(roots[t] for t in graph.outputs) if io_in_arena else frozenset())
    return roots, memory


def lay_out(graph: Graph, decisions: Decisions, io_in_arena: bool, alignment: int,
            plan: bool = True) -> Layout:
    """The layout of `decisions`; with `plan` False, offsets are left to `finish` (a search
    that compares layouts by their lower bound needs none).

    The schedule is chosen with the sharing known before it (an input read by one node
    only), then outputs also go on inputs that the schedule shows dying at their node."""
    external = set() if io_in_arena else set(graph.inputs) | set(graph.outputs)
    units = _units(graph, decisions.stage)
    _, memory = _memory(graph, units, decisions, shared_buffers(graph, decisions, external),
                        external, io_in_arena, alignment)
    schedule = order_nodes(units, memory, alignment)
    order = tuple(node_order(schedule, units, decisions))
    sharing = shared_buffers(graph, decisions, external, order)
    roots, memory = _memory(graph, units, decisions, sharing, external, io_in_arena, alignment)
    requests = tuple(buffer_requests(schedule, units, memory))
    arena = (plan_arena(list(requests), alignment) if plan
             else ArenaPlan({}, 0, 0, alignment, False, "none"))
    if plan:
        check_plan(arena, list(requests))
    return Layout(graph, units, decisions, roots, sharing, memory, schedule, requests, arena,
                  frozenset(external), alignment)


def node_order(schedule: Schedule, units: Graph, decisions: Decisions):
    """The nodes in the order they run: the stage's in its own order at its step."""
    stage_units = {n.name for n in units.nodes if n.op == STAGE_OP}
    for step in schedule.steps:
        if step.node in stage_units:
            yield from decisions.stage.nodes
        else:
            yield step.node


def finish(layout: Layout) -> Layout:
    """The layout with its offsets planned (and checked)."""
    arena = plan_arena(list(layout.requests), layout.alignment)
    check_plan(arena, list(layout.requests))
    return replace(layout, plan=arena)


def bound(layout: Layout) -> int:
    """The layout's lower bound: what its arena is once planned (tinyml/plan/arena.py)."""
    return lower_bound(list(layout.requests), layout.alignment)
