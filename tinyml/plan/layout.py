"""From memory decisions to an arena plan: which tensors share bytes, the schedule, every
buffer's lifetime and its offset.

Decisions (tinyml/plan/planner.py makes them): the kernel call of each node, the nodes run
in place band by band (tinyml/plan/bands.py), and the patch stage (tinyml/plan/patches.py).
Shared bytes: a view's output is its input's buffer; a call that may write over its first
input (KernelCall.in_place) or runs by bands gets that input's buffer when the input has no
other reader and neither is the caller's or the model's input. The patch stage is one step
of the schedule: it reads the model's inputs, writes the split tensor, and holds its
per-patch buffers in its scratch. A node's scratch is its kernel's, then its band ring.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ir import Graph, Node
from ..ops import get_op
from ..kernels.registry import Choice
from .arena import ArenaPlan, BufferRequest, aligned, check_plan, lower_bound, plan_arena
from .bands import BandPlan
from .patches import StagePlan
from .schedule import Memory, Schedule, buffer_requests, order_nodes

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

    def scratch_offset(self, node: str) -> int:
        return self.plan.offsets.get(f"{node}#scratch", 0)

    def ring_offset(self, node: str) -> int:
        return self.scratch_offset(node) + aligned(
            self.decisions.calls[node].call.scratch_bytes, self.alignment)


def _view_roots(graph: Graph) -> dict[str, str]:
    root: dict[str, str] = {}
    for node in graph.nodes:
        if get_op(node, graph).is_view and node.outputs[0] not in graph.outputs:
            src = node.inputs[0]
            root[node.outputs[0]] = root.get(src, src)
    return root


def _resolve(roots: dict[str, str]) -> dict[str, str]:
    def resolve(t: str) -> str:   # a view of an in-place output shares the first input too
        while t in roots and roots[t] != t:
            t = roots[t]
        return t
    return {t: resolve(t) for t in roots}


def _writers(decisions: Decisions, node: Node) -> tuple[int, ...]:
    """The inputs `node` may write its output over: its kernel's, or the first when it runs
    by bands; none inside the patch stage (its tensors have buffers of their own there)."""
    choice = decisions.calls.get(node.name)
    if choice is None or (decisions.stage is not None and node.name in decisions.stage.nodes):
        return ()
    return (0,) if node.name in decisions.bands else choice.call.in_place


def shared_roots(graph: Graph, decisions: Decisions, external: set[str],
                 order: tuple[str, ...] | None = None) -> dict[str, str]:
    """tensor -> the tensor whose buffer holds it, for views and outputs written in place.

    An output goes on an input's buffer when that input dies at the node: with no `order`,
    when the node is its only reader; with the schedule's `order`, when no later step reads
    a tensor of that buffer."""
    roots = _view_roots(graph)
    readers = graph.consumers()
    position = {n: i for i, n in enumerate(order)} if order else None
    later_reads: dict[str, int] = {}
    if position is not None:
        resolved = _resolve(roots)
        for node in graph.nodes:
            for t in node.inputs:
                if t and node.name in position:
                    r = resolved.get(t, t)
                    later_reads[r] = max(later_reads.get(r, -1), position[node.name])
    nodes = (sorted(graph.nodes, key=lambda n: position.get(n.name, -1)) if position is not None
             else graph.nodes)
    for node in nodes:
        out = node.outputs[0]
        for k in _writers(decisions, node):
            src = _resolve(roots).get(node.inputs[k], node.inputs[k])
            if position is None:
                dies = [n.name for n in readers.get(node.inputs[k], [])] == [node.name]
            else:
                dies = later_reads.get(src, -1) <= position.get(node.name, -1)
            if dies and writable(graph, src, out, external):
                roots[out] = src
                if position is not None:   # the output's readers now read src
                    later_reads[src] = max(later_reads.get(src, -1), later_reads.get(out, -1))
                break
    return _resolve(roots)


def writable(graph: Graph, src: str, out: str, external: set[str]) -> bool:
    """Whether an output may take the buffer of `src` (when `src` dies there)."""
    return (src not in external and out not in external and not graph.tensor(src).is_const
            and src not in graph.inputs and src not in graph.outputs)


def may_write_over(graph: Graph, node: Node, readers: dict[str, list[Node]], src: str,
                   external: set[str]) -> bool:
    """Whether `node`, the only reader of its first input (buffer `src`), may put its
    output there."""
    only_reader = [n.name for n in readers.get(node.inputs[0], [])] == [node.name]
    return only_reader and writable(graph, src, node.outputs[0], external)


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


def _memory(graph: Graph, units: Graph, decisions: Decisions, roots_of: dict[str, str],
            external: set[str], io_in_arena: bool, alignment: int) -> tuple[dict, Memory]:
    internal = decisions.stage.internal if decisions.stage else frozenset()
    roots = {t: roots_of.get(t, t) for node in units.nodes
             for t in (*node.inputs, *node.outputs) if t}
    roots.update({t: roots_of.get(t, t) for t in (*graph.inputs, *graph.outputs) if t not in roots})
    sizes: dict[str, int] = {}
    for t, r in roots.items():   # a root holds the largest tensor aliased onto it
        if r not in external and r not in internal and not graph.tensor(r).is_const:
            sizes[r] = max(sizes.get(r, 0), graph.tensor(t).nbytes)
    scratch = {}
    for node in units.nodes:
        if node.op == STAGE_OP:
            scratch[node.name] = decisions.stage.scratch_bytes
        elif node.name in decisions.calls:
            band = decisions.bands.get(node.name)
            kernel = decisions.calls[node.name].call.scratch_bytes
            scratch[node.name] = (aligned(kernel, alignment) + band.ring_bytes if band else kernel)
    memory = Memory(roots, sizes, {n: s for n, s in scratch.items() if s},
                    frozenset(roots[t] for t in graph.inputs) if io_in_arena else frozenset(),
                    frozenset(roots[t] for t in graph.outputs) if io_in_arena else frozenset())
    return roots, memory


def lay_out(graph: Graph, decisions: Decisions, io_in_arena: bool, alignment: int,
            plan: bool = True) -> Layout:
    """The layout of `decisions`; with `plan` False, offsets are left to `finish` (a search
    that compares layouts by their lower bound needs none).

    The schedule is chosen with the aliases known before it (an input read by one node
    only), then outputs also go on inputs that the schedule shows dying at their node."""
    external = set() if io_in_arena else set(graph.inputs) | set(graph.outputs)
    units = _units(graph, decisions.stage)
    roots, memory = _memory(graph, units, decisions, shared_roots(graph, decisions, external),
                            external, io_in_arena, alignment)
    schedule = order_nodes(units, memory, alignment)
    order = tuple(_expand(schedule, units, decisions))
    roots, memory = _memory(graph, units, decisions,
                            shared_roots(graph, decisions, external, order),
                            external, io_in_arena, alignment)
    requests = tuple(buffer_requests(schedule, units, memory))
    arena = (plan_arena(list(requests), alignment) if plan
             else ArenaPlan({}, 0, 0, alignment, False, "none"))
    if plan:
        check_plan(arena, list(requests))
    return Layout(graph, units, decisions, roots, memory, schedule, requests, arena,
                  frozenset(external), alignment)


def _expand(schedule: Schedule, units: Graph, decisions: Decisions):
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
    return Layout(layout.graph, layout.units, layout.decisions, layout.roots, layout.memory,
                  layout.schedule, layout.requests, arena, layout.external, layout.alignment)


def bound(layout: Layout) -> int:
    """The layout's lower bound: what its arena is once planned (tinyml/plan/arena.py)."""
    return aligned(lower_bound(list(layout.requests), layout.alignment), layout.alignment)
