"""The schedule: the ordered steps the generated code runs, and the buffer lifetimes they imply.

A step runs one node (kind "node"). The patch stage of patch-based execution is one step of
the schedule, a unit node that reads the model's inputs and writes the split tensor; its own
steps, a region of a node's output each, form a schedule of their own per patch
(tinyml/plan/patches.py), planned inside the stage's scratch. Backward and update steps of
training are the kinds to come. tinyml/plan/layout.py asks for a schedule, derives every
buffer's lifetime from it (`buffer_requests`: tensors sharing bytes share a buffer, each
step's scratch lives at that step only) and plans offsets from those.

Order. A graph without branches has one order. With branches (residual adds,
concatenations) independent steps may run in any order consistent with the data, and the
order decides which tensors are alive together. `order_nodes` picks the order whose peak of
live bytes is smallest: exactly, by a search over the sets of nodes already run (the peak
from a state on depends only on which nodes have run), for graphs of at most EXACT_NODES
nodes while the states visited stay below EXACT_STATES; otherwise by a greedy: run next the
ready node whose step needs the fewest live bytes, ties by the bytes it frees, then by graph
order. The greedy runs first; when only one node was ever ready, its order is the only one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..ir import Graph, Node
from .arena import BufferRequest, aligned

#: the exact order search runs on graphs with branches up to this many nodes, and gives up
#: (the greedy's order stands) past this many states
EXACT_NODES = 200
EXACT_STATES = 20_000


@dataclass(frozen=True)
class Step:
    node: str
    kind: str = "node"


@dataclass(frozen=True)
class Schedule:
    steps: tuple[Step, ...]
    peak: int                      # live bytes at the fullest step of this order
    exact: bool                    # the order is proved best (else the greedy's)

    @property
    def order(self) -> tuple[str, ...]:
        return tuple(step.node for step in self.steps)


@dataclass(frozen=True)
class Memory:
    """What the arena must hold: tensor -> its root buffer (views share their input's), the
    root buffers' sizes in the arena (constants and caller-owned tensors have none), each
    node's scratch bytes, and the buffers alive before the first step (model inputs the
    caller writes into the arena) or after the last (outputs it reads from there)."""
    roots: dict[str, str]
    sizes: dict[str, int]
    scratch: dict[str, int]
    from_start: frozenset[str] = frozenset()
    to_end: frozenset[str] = frozenset()

    def buffers(self, node: Node) -> set[str]:
        return {self.roots.get(t, t) for t in (*node.inputs, *node.outputs) if t} & set(self.sizes)


class _Orders:
    """What ordering needs of a graph: per node its buffers, scratch and producers; per buffer
    its size and the nodes that touch it."""

    def __init__(self, graph: Graph, memory: Memory, alignment: int):
        self.names = tuple(n.name for n in graph.nodes)
        producers = graph.producers()
        self.needs = {n.name: frozenset(producers[t].name for t in n.inputs if t in producers)
                      for n in graph.nodes}
        self.buffers = {n.name: frozenset(memory.buffers(n)) for n in graph.nodes}
        self.scratch = {n: memory.scratch.get(n, 0) for n in self.names}
        self.sizes = {b: aligned(size, alignment) for b, size in memory.sizes.items()}
        self.users: dict[str, frozenset[str]] = {}
        for name in self.names:
            for buf in self.buffers[name]:
                self.users[buf] = self.users.get(buf, frozenset()) | {name}
        for buf in memory.to_end:   # read after the last step: a user that never runs
            self.users[buf] = self.users.get(buf, frozenset()) | {_END}
        self.start = frozenset(b for b in memory.from_start if b in self.sizes)

    def step_bytes(self, live: frozenset[str], name: str) -> int:
        """Live bytes while `name` runs: the buffers alive before it, those it touches, and
        its scratch."""
        return (sum(self.sizes[b] for b in live | self.buffers[name]) + self.scratch[name])

    def after(self, live: frozenset[str], done: frozenset[str], name: str) -> frozenset[str]:
        """The buffers alive once `name` has run: touched, with a user yet to run."""
        return frozenset(b for b in live | self.buffers[name] if self.users[b] - done - {name})


def order_nodes(graph: Graph, memory: Memory, alignment: int = 1) -> Schedule:
    """The order of least peak; buffers count their size rounded up to `alignment`, as the
    arena holds them."""
    g = _Orders(graph, memory, alignment)
    peak, order, unique = _greedy(g)
    if unique:
        return Schedule(tuple(Step(n) for n in order), peak, True)
    if len(order) <= EXACT_NODES:
        try:
            peak, order = _exact(g)
            return Schedule(tuple(Step(n) for n in order), peak, True)
        except _TooLarge:
            pass
    return Schedule(tuple(Step(n) for n in order), peak, False)


class _TooLarge(Exception):
    pass


_END = "#end"   # the caller reading outputs after the schedule: never runs


def _greedy(g: _Orders) -> tuple[int, tuple[str, ...], bool]:
    """The greedy order, its peak, and whether it was the only order (one node ready at every
    step: a graph without branches)."""
    rank = {n: i for i, n in enumerate(g.names)}
    waiting = {n: len(g.needs[n]) for n in g.names}
    children: dict[str, list[str]] = {}
    for n in g.names:
        for p in g.needs[n]:
            children.setdefault(p, []).append(n)
    ready = {n for n in g.names if not waiting[n]}
    left = {b: len(users) for b, users in g.users.items()}
    live: set[str] = set(g.start)
    live_bytes, peak, order, unique = sum(g.sizes[b] for b in live), 0, [], True
    while ready:
        unique = unique and len(ready) == 1

        def cost(name):
            new = sum(g.sizes[b] for b in g.buffers[name] if b not in live)
            freed = sum(g.sizes[b] for b in g.buffers[name] if left[b] == 1)
            return live_bytes + new + g.scratch[name], -freed, rank[name]
        name = min(ready, key=cost)
        peak = max(peak, cost(name)[0])
        ready.remove(name)
        order.append(name)
        for b in g.buffers[name]:
            if b not in live:
                live.add(b)
                live_bytes += g.sizes[b]
            left[b] -= 1
            if not left[b]:
                live.remove(b)
                live_bytes -= g.sizes[b]
        for child in children.get(name, ()):
            waiting[child] -= 1
            if not waiting[child]:
                ready.add(child)
    return peak, tuple(order), unique


def _exact(g: _Orders) -> tuple[int, tuple[str, ...]]:
    """The order of least peak: best(done) is the least peak of the steps still to run, which
    depends on the set of nodes run so far only."""
    rank = {n: i for i, n in enumerate(g.names)}
    states = 0

    @lru_cache(maxsize=None)
    def best(done: frozenset[str], live: frozenset[str]) -> tuple[int, tuple[str, ...]]:
        nonlocal states
        states += 1
        if states > EXACT_STATES:
            raise _TooLarge
        if len(done) == len(g.names):
            return 0, ()
        choice = None
        ready = sorted((n for n in g.names if n not in done and g.needs[n] <= done),
                       key=rank.__getitem__)
        for name in ready:
            here = g.step_bytes(live, name)
            if choice is not None and here >= choice[0]:
                continue
            rest, order = best(done | {name}, g.after(live, done, name))
            if choice is None or max(here, rest) < choice[0]:
                choice = (max(here, rest), (name, *order))
        return choice

    return best(frozenset(), g.start)


def scratch_names(memory: Memory) -> dict[str, str]:
    """node -> the name of its scratch buffer: `<node>#scratch`, with more '#' while that is
    the name of a tensor (names come from the model file: two buffers must never share one)."""
    taken = set(memory.sizes)
    names = {}
    for node in memory.scratch:
        name = f"{node}#scratch"
        while name in taken:
            name += "#"
        taken.add(name)
        names[node] = name
    return names


def buffer_requests(schedule: Schedule, graph: Graph, memory: Memory) -> list[BufferRequest]:
    """Every arena buffer's lifetime in steps of the schedule, and each step's scratch
    (named by scratch_names)."""
    nodes = {n.name: n for n in graph.nodes}
    first: dict[str, int] = {b: 0 for b in memory.from_start if b in memory.sizes}
    last: dict[str, int] = dict(first)
    for step, s in enumerate(schedule.steps):
        for buf in memory.buffers(nodes[s.node]):
            first.setdefault(buf, step)
            last[buf] = step
    for buf in memory.to_end:
        if buf in first:
            last[buf] = len(schedule.steps) - 1
    requests = [BufferRequest(b, memory.sizes[b], first[b], last[b]) for b in first]
    names = scratch_names(memory)
    requests += [BufferRequest(names[s.node], memory.scratch[s.node], step, step)
                 for step, s in enumerate(schedule.steps) if memory.scratch.get(s.node)]
    return requests
