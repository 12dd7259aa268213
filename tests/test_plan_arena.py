"""The arena planner: property tests (no overlap, within the arena, at least the lower bound)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyml.plan.arena import ArenaPlan, BufferRequest, PlanError, _search, check_plan, plan_arena


def live_bytes_peak(reqs, alignment: int = 1) -> int:
    """The lower bound computed step by step, independently of the planner's own function:
    each buffer holds its size rounded up to the alignment."""
    last_step = max((r.last for r in reqs), default=-1)
    return max((sum(-(-r.size // alignment) * alignment for r in reqs if r.first <= s <= r.last)
                for s in range(last_step + 1)), default=0)


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
    assert plan.size >= plan.lower_bound == live_bytes_peak(reqs, alignment)


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


def _greedy_by_size(reqs, alignment) -> int:
    """TFLite Micro's greedy planner, written out here: largest first, lowest gap."""
    placed, top = [], 0
    for r in sorted(reqs, key=lambda r: (-r.size, r.first, r.name)):
        if not r.size:
            continue
        offset = 0
        for off, other in sorted(((o, q) for o, q in placed
                                  if o is not None and r.first <= q.last and q.first <= r.last),
                                 key=lambda pair: pair[0]):
            if offset + r.size <= off:
                break
            offset = max(offset, -(-(off + other.size) // alignment) * alignment)
        placed.append((offset, r))
        top = max(top, offset + r.size)
    return -(-top // alignment) * alignment


@settings(max_examples=300, deadline=None)
@given(requests(), st.sampled_from([1, 4, 16]))
def test_never_larger_than_greedy_by_size(reqs, alignment):
    assert plan_arena(reqs, alignment).size <= _greedy_by_size(reqs, alignment)


def _least_arena(reqs, alignment) -> int:
    """The least arena by exhaustion: every buffer at every aligned offset up to the total."""
    sizes = [-(-r.size // alignment) * alignment for r in reqs]
    total = sum(sizes)
    best = total
    offsets = []

    def place(i, top):
        nonlocal best
        if top >= best:
            return
        if i == len(reqs):
            best = top
            return
        for off in range(0, total - sizes[i] + 1, alignment):
            if all(off + sizes[i] <= o or o + sizes[j] <= off
                   for j, o in enumerate(offsets)
                   if reqs[i].first <= reqs[j].last and reqs[j].first <= reqs[i].last):
                offsets.append(off)
                place(i + 1, max(top, off + sizes[i]))
                offsets.pop()
    place(0, 0)
    return best


# first fit in the four fixed orders misses the bound here
HARD = [BufferRequest("t0", 16, 3, 4), BufferRequest("t1", 64, 4, 4),
        BufferRequest("t2", 48, 3, 4), BufferRequest("t3", 32, 0, 3),
        BufferRequest("t4", 16, 0, 0), BufferRequest("t5", 64, 1, 2)]


def test_the_search_closes_the_gap_first_fit_leaves():
    assert _greedy_by_size(HARD, 16) == 160 > 128 == _least_arena(HARD, 16)
    found, complete = _search(HARD, 16, 160, 128)
    plan = ArenaPlan(found, 128, 128, 16)
    check_plan(plan, HARD)
    assert complete and max(found[r.name] + r.size for r in HARD) == 128
    assert plan_arena(HARD, 16).size == 128
    assert _search(HARD, 16, 128, 112) == (None, True)   # and proves nothing smaller exists


REAL = [
    ('t0', 216, 0, 8),
    ('t6', 216, 0, 4),
    ('t13', 216, 3, 17),
    ('t26', 216, 4, 17),
    ('t16', 216, 5, 17),
    ('t3', 216, 6, 17),
    ('t29', 324, 10, 12),
    ('t31', 540, 12, 17),
    ('t34', 216, 13, 13),
    ('t37', 216, 14, 15),
    ('t38', 120, 15, 17),
    ('t40', 336, 17, 17),
    ('n1#scratch', 1840, 0, 0),
    ('n2#scratch', 32, 1, 1),
    ('n4#scratch', 1840, 3, 3),
    ('n9#scratch', 1840, 4, 4),
    ('n5#scratch', 1840, 5, 5),
    ('n0#scratch', 216, 6, 6),
    ('n6#scratch', 32, 7, 7),
    ('n8#scratch', 1888, 9, 9),
    ('n10#scratch', 32, 10, 10),
    ('n13#scratch', 32, 13, 13),
    ('n14#scratch', 32, 14, 14),
]


def test_a_gap_first_fit_misses_on_a_real_schedule_is_closed():
    """A random network's plan with its I/O in the arena (tests/test_plan_random_graphs.py,
    seed 229, Cortex-M4 kernels): no first-fit order reaches the bound; the search does."""
    reqs = [BufferRequest(name, size, first, last) for name, size, first, last in REAL]
    plan = plan_arena(reqs, 16)
    check_plan(plan, reqs)
    assert plan.size == plan.lower_bound and plan.method == "search" and plan.optimal


@pytest.mark.parametrize("seed", range(60))
def test_small_plans_are_least(seed):
    """Against exhaustion over every offset: the plan is the least arena, and says so."""
    import random
    rng = random.Random(seed)
    reqs = []
    for i in range(rng.randint(3, 5)):
        first = rng.randint(0, 4)
        reqs.append(BufferRequest(f"t{i}", rng.choice((16, 32, 48)), first, first + rng.randint(0, 3)))
    plan = plan_arena(reqs, 16)
    check_plan(plan, reqs)
    assert plan.optimal and plan.size == _least_arena(reqs, 16)
