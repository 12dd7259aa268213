"""The arena planner: property tests (no overlap, within the arena, at least the lower bound)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyml.plan.arena import BufferRequest, PlanError, check_plan, plan_arena


def live_bytes_peak(reqs) -> int:
    """The lower bound computed step by step, independently of the planner's own function."""
    last_step = max((r.last for r in reqs), default=-1)
    return max((sum(r.size for r in reqs if r.first <= s <= r.last) for s in range(last_step + 1)),
               default=0)


@st.composite
def requests(draw):
    n = draw(st.integers(0, 25))
    out = []
    for i in range(n):
        first = draw(st.integers(0, 30))
        out.append(BufferRequest(f"t{i}", draw(st.integers(0, 5000)), first,
                                 first + draw(st.integers(0, 8))))
    return out


@settings(max_examples=300, deadline=None)
@given(requests(), st.sampled_from([1, 4, 16]))
def test_plans_never_overlap_and_respect_the_lower_bound(reqs, alignment):
    plan = plan_arena(reqs, alignment)
    check_plan(plan, reqs)
    assert plan.size >= plan.lower_bound == live_bytes_peak(reqs)


def test_equal_lifetimes_do_not_share_bytes():
    reqs = [BufferRequest("a", 100, 0, 1), BufferRequest("b", 100, 0, 1)]
    plan = plan_arena(reqs, 16)
    assert {plan.offsets["a"], plan.offsets["b"]} == {0, 112}


def test_disjoint_lifetimes_reuse_memory():
    reqs = [BufferRequest("a", 100, 0, 1), BufferRequest("b", 80, 2, 3), BufferRequest("c", 50, 1, 2)]
    plan = plan_arena(reqs, 16)
    check_plan(plan, reqs)
    assert plan.offsets["b"] == plan.offsets["a"] == 0      # b reuses a's bytes
    assert plan.offsets["c"] == 112 and plan.size == 176   # c after a, aligned


def test_checker_catches_an_overlap():
    from tinyml.plan.arena import ArenaPlan
    reqs = [BufferRequest("a", 32, 0, 2), BufferRequest("b", 32, 1, 3)]
    with pytest.raises(PlanError, match="overlaps"):
        check_plan(ArenaPlan({"a": 0, "b": 16}, 64, 64, 16), reqs)


def test_dump_lists_every_buffer():
    reqs = [BufferRequest("first", 32, 0, 2), BufferRequest("second", 48, 1, 3)]
    plan = plan_arena(reqs, 16)
    lines = plan.dump(reqs).splitlines()
    assert lines[0] == "arena 80 bytes (lower bound 80), align 16"
    assert [row.split()[-1] for row in lines[1:]] == sorted(plan.offsets, key=plan.offsets.get)
    for r in reqs:
        start = plan.offsets[r.name]
        row = next(line for line in lines[1:] if line.endswith(" " + r.name))
        assert row.split("..")[0].strip(" [") == str(start)
        assert row.split("..")[1].split(")")[0].strip() == str(start + r.size)
        assert f"steps {r.first:>3}-{r.last:<3}" in row
