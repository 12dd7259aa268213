"""Arena planning: offsets for buffers whose lifetimes are known.

Every buffer starts at an aligned offset, so it occupies its size rounded up to the alignment
(`aligned`), and the lower bound is the largest total of aligned sizes alive at one step: no
plan that keeps every buffer whole can be smaller. Lifetimes are closed intervals of steps.

Algorithm. First fit in several orders: largest first (TFLite Micro's greedy planner), then
earliest first use, longest lifetime, largest size x lifetime, then RANDOM_ORDERS orders drawn
from a fixed seed (largest first, shuffled by a random key); each buffer goes to the lowest
aligned offset where it overlaps no placed buffer whose lifetime meets its own. The first
order that reaches the lower bound wins. When none does and there are at most EXACT_BUFFERS
buffers, a branch-and-bound search looks for a plan below the best found, over first-fit
orders whose offsets never decrease along the order. That is exhaustive: first fit in the
order of any plan's offsets puts every buffer at or below its offset there (by induction:
each buffer placed before it ends below it), so some order reaches the least arena, and
sorting that plan by its offsets and fitting again until nothing moves gives one whose
offsets rise along its order. The search gives up after EXACT_NODES placements, keeping the
best plan found. `ArenaPlan.optimal` says whether the
size is proved least: it equals the lower bound, or the search ran to its end.

Pure functions: requests in, a plan out. `check_plan` verifies that no two buffers alive at
the same step share a byte (raising PlanError, also under `python -O`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..errors import TinymlError

#: the exact search runs on plans of at most this many buffers, for at most this many
#: placements
EXACT_BUFFERS = 64
EXACT_NODES = 200_000
#: first-fit orders drawn at random (seeded: plans are reproducible) after the fixed ones
RANDOM_ORDERS = 400


@dataclass(frozen=True)
class BufferRequest:
    name: str
    size: int
    first: int
    last: int


@dataclass(frozen=True)
class ArenaPlan:
    offsets: dict[str, int]
    size: int
    lower_bound: int
    alignment: int
    optimal: bool = True      # no plan of these buffers is smaller
    method: str = "size"      # which order or search found it

    def dump(self, requests: list[BufferRequest]) -> str:
        lines = [f"arena {self.size} bytes (lower bound {self.lower_bound}), align {self.alignment}"]
        for r in sorted(requests, key=lambda r: (self.offsets[r.name], r.first)):
            lines.append(f"  [{self.offsets[r.name]:>8} .. {self.offsets[r.name] + r.size:>8}) "
                         f"steps {r.first:>3}-{r.last:<3} {r.name}")
        return "\n".join(lines)


def aligned(size: int, alignment: int) -> int:
    return (size + alignment - 1) // alignment * alignment


def _live_together(a: BufferRequest, b: BufferRequest) -> bool:
    return a.first <= b.last and b.first <= a.last


def live_bytes(requests: list[BufferRequest], step: int, alignment: int = 1) -> int:
    """The aligned bytes of the buffers alive at `step`."""
    return sum(aligned(r.size, alignment) for r in requests if r.first <= step <= r.last)


def lower_bound(requests: list[BufferRequest], alignment: int = 1) -> int:
    steps = {r.first for r in requests}   # the live set only grows at a first use
    return max((live_bytes(requests, s, alignment) for s in steps), default=0)


_ORDERS = {
    "size": lambda r: (-r.size, r.first, r.name),
    "first use": lambda r: (r.first, -r.size, r.name),
    "lifetime": lambda r: (r.first - r.last, -r.size, r.name),
    "size x lifetime": lambda r: (-r.size * (r.last - r.first + 1), r.first, r.name),
}


def _orders(requests: list[BufferRequest]):
    """(name, order) of the first-fit orders tried, fixed ones first."""
    for method, key in _ORDERS.items():
        yield method, sorted(requests, key=key)
    if len(requests) < 3:
        return
    rng = random.Random(len(requests))
    for i in range(RANDOM_ORDERS):
        # mostly largest first: a random factor of up to 4 on each size
        keys = {r.name: -r.size * (1 + 3 * rng.random()) for r in requests}
        yield f"random order {i + 1}", sorted(requests, key=lambda r: (keys[r.name], r.name))


def _lowest_fit(size: int, spans: list[tuple[int, int]], alignment: int) -> int:
    """The lowest aligned offset where `size` bytes overlap none of the (offset, size) spans."""
    offset = 0
    for off, taken in sorted(spans):
        if offset + size <= off:
            break
        offset = max(offset, aligned(off + taken, alignment))
    return offset


def _first_fit(order: list[BufferRequest], alignment: int) -> dict[str, int]:
    placed: list[tuple[int, BufferRequest]] = []
    offsets: dict[str, int] = {}
    for req in order:
        offsets[req.name] = _lowest_fit(req.size, [(off, other.size) for off, other in placed
                                                   if _live_together(req, other)], alignment)
        placed.append((offsets[req.name], req))
    return offsets


def _size(offsets: dict[str, int], requests: list[BufferRequest], alignment: int) -> int:
    return aligned(max((offsets[r.name] + r.size for r in requests), default=0), alignment)


class _Budget(Exception):
    pass


def _search(requests: list[BufferRequest], alignment: int, below: int, bound: int
            ) -> tuple[dict[str, int] | None, bool]:
    """A plan of size < `below` (None if there is none), stopping at the first of size
    `bound`; and whether the search ran to its end.

    Each branch adds one buffer at its lowest fit, which must not lie below the offset of the
    buffer added before (nor equal it with a smaller index). A branch is cut when a buffer
    still to place fits wholly below that offset (no later buffer can take its gap from it),
    or when, at some step, the buffers still to place would not fit in the free bytes left
    below the size sought, or the largest of them in no free gap above the last offset."""
    count = len(requests)
    order = sorted(range(count), key=lambda i: (-aligned(requests[i].size, alignment), i))
    requests = [requests[i] for i in order]   # largest first: good plans come early
    sizes = [aligned(r.size, alignment) for r in requests]
    meets = [[j for j in range(count) if j != i and _live_together(requests[i], requests[j])]
             for i in range(count)]
    steps = sorted({r.first for r in requests})
    alive = [[i for i in range(count) if requests[i].first <= s <= requests[i].last] for s in steps]
    # interchangeable buffers (same lifetime and size) are placed in index order only
    twin_before = [next((j for j in range(i) if (requests[j].first, requests[j].last, sizes[j])
                         == (requests[i].first, requests[i].last, sizes[i])), None)
                   for i in range(count)]
    offsets: list[int | None] = [None] * count
    best: dict[str, int] | None = None
    limit = below
    nodes = 0

    def lowest_fit(i: int) -> int:
        return _lowest_fit(sizes[i], [(offsets[j], sizes[j]) for j in meets[i]
                                      if offsets[j] is not None], alignment)

    def room(floor: int) -> bool:
        top = limit - alignment
        for live in alive:
            need = largest = 0
            spans = []
            for j in live:
                off = offsets[j]
                if off is None:
                    need += sizes[j]
                    largest = max(largest, sizes[j])
                elif off + sizes[j] > floor:
                    spans.append((max(off, floor), off + sizes[j]))
            if not largest:
                continue
            spans.sort()
            gap, at = 0, floor
            for a, b in spans:
                gap = max(gap, a - at)
                at = max(at, b)
            gap = max(gap, top - at)
            if floor + need + sum(b - a for a, b in spans) > top or largest > gap:
                return False
        return True

    def place(floor: int, last: int, left: int) -> bool:
        nonlocal best, limit, nodes
        if not left:
            best = {r.name: offsets[i] for i, r in enumerate(requests)}
            limit = max(offsets[i] + sizes[i] for i in range(count))
            return limit <= bound
        if not room(floor):
            return False
        options = []
        for i in range(count):
            if offsets[i] is not None:
                continue
            off = lowest_fit(i)
            if off + sizes[i] <= floor:
                return False   # a gap below the floor that only later, higher buffers could fill
            twin = twin_before[i]
            if twin is not None and offsets[twin] is None:
                continue
            if off > floor or (off == floor and i > last):
                if off + sizes[i] < limit:
                    options.append((off, i))
        for off, i in sorted(options):   # the lowest first, then the largest
            nodes += 1
            if nodes > EXACT_NODES:
                raise _Budget
            offsets[i] = off
            done = place(off, i, left - 1)
            offsets[i] = None
            if done:
                return True
        return False

    try:
        place(0, -1, count)
    except _Budget:
        return best, False
    return best, True


def plan_arena(requests: list[BufferRequest], alignment: int = 16, search: bool = True) -> ArenaPlan:
    """The plan of least size found; `search` False skips the exact search (a quick plan,
    for comparing many candidates)."""
    real = [r for r in requests if r.size > 0]
    bound = lower_bound(real, alignment)
    best: tuple[int, str, dict[str, int]] | None = None
    for method, order in _orders(real):
        offsets = _first_fit(order, alignment)
        size = _size(offsets, real, alignment)
        if best is None or size < best[0]:
            best = (size, method, offsets)
        if size == bound:
            break
    size, method, offsets = best if best else (0, "size", {})
    optimal = size == bound
    if not optimal and search and len(real) <= EXACT_BUFFERS:
        found, complete = _search(real, alignment, size, bound)
        if found is not None:
            size, method, offsets = _size(found, real, alignment), "search", found
        optimal = complete or size == bound
    offsets = {**{r.name: 0 for r in requests}, **offsets}
    return ArenaPlan(offsets, size, bound, alignment, optimal, method)


class PlanError(TinymlError):
    """A plan that would corrupt memory: a bug of the planner, never of the model."""


def check_plan(plan: ArenaPlan, requests: list[BufferRequest]) -> None:
    """Raise PlanError if two simultaneously live buffers overlap or one leaves the arena."""
    for r in requests:
        off = plan.offsets[r.name]
        if off % plan.alignment:
            raise PlanError(f"arena plan: {r.name} misaligned at {off}")
        if off + r.size > plan.size:
            raise PlanError(f"arena plan: {r.name} ends past the arena")
    for i, a in enumerate(requests):
        for b in requests[i + 1:]:
            if a.size and b.size and _live_together(a, b):
                oa, ob = plan.offsets[a.name], plan.offsets[b.name]
                if not (oa + a.size <= ob or ob + b.size <= oa):
                    raise PlanError(f"arena plan: {a.name} overlaps {b.name}")
