"""Arena planning: offsets for buffers whose lifetimes are known.

Algorithm (greedy by size, as TFLite Micro's greedy planner): buffers are placed largest
first (ties: earlier first use, then name); each goes at the lowest aligned offset where it
overlaps no already-placed buffer whose lifetime intersects its own. Lifetimes are closed
intervals of step indices. The lower bound is the largest total size of buffers alive at one
step: no plan that keeps every buffer whole can be smaller.

Pure functions: requests in, a plan out. `check_plan` verifies that no two buffers alive at
the same step share a byte (raising PlanError, also under `python -O`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import TinymlError


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

    def dump(self, requests: list[BufferRequest]) -> str:
        lines = [f"arena {self.size} bytes (lower bound {self.lower_bound}), align {self.alignment}"]
        for r in sorted(requests, key=lambda r: (self.offsets[r.name], r.first)):
            lines.append(f"  [{self.offsets[r.name]:>8} .. {self.offsets[r.name] + r.size:>8}) "
                         f"steps {r.first:>3}-{r.last:<3} {r.name}")
        return "\n".join(lines)


def _align(x: int, alignment: int) -> int:
    return (x + alignment - 1) // alignment * alignment


def _live_together(a: BufferRequest, b: BufferRequest) -> bool:
    return a.first <= b.last and b.first <= a.last


def lower_bound(requests: list[BufferRequest]) -> int:
    steps = {s for r in requests for s in (r.first, r.last)}
    return max((sum(r.size for r in requests if r.first <= s <= r.last) for s in steps),
               default=0)


def plan_arena(requests: list[BufferRequest], alignment: int = 16) -> ArenaPlan:
    placed: list[tuple[int, BufferRequest]] = []
    offsets: dict[str, int] = {}
    for req in sorted(requests, key=lambda r: (-r.size, r.first, r.name)):
        conflicts = sorted(((off, other) for off, other in placed if _live_together(req, other)),
                           key=lambda pair: pair[0])
        offset = 0
        for off, other in conflicts:
            if offset + req.size <= off:
                break
            offset = max(offset, _align(off + other.size, alignment))
        offsets[req.name] = offset
        placed.append((offset, req))
    size = max((offsets[r.name] + r.size for r in requests), default=0)
    return ArenaPlan(offsets, _align(size, alignment), lower_bound(requests), alignment)


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
