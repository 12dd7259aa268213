"""The fuzzer: reproducible cases, a classifier that sees each failure class, and the seeded
smoke run CI gates on (>= 1,000 cases in under 3 minutes on 2 cores)."""

import re
import time

import pytest

from tinyml.fuzz import generated_seeds, run_fuzz, shared_seeds
from tinyml.fuzz.case import compile_case, sanitize_case
from tinyml.fuzz.runner import make_case

SMOKE_CASES, SMOKE_SEED, SMOKE_LIMIT = 1000, 0, 180.0


def _seed(name):
    return next(s for s in generated_seeds() if s.name == name)


def test_cases_depend_only_on_run_seed_and_index():
    seeds = generated_seeds()
    again = [make_case(seeds, 5, i) for i in (7, 3)]
    assert [make_case(seeds, 5, i) for i in (3, 7)] == again[::-1]
    assert all(c.data == d.data for c, d in zip([make_case(seeds, 5, i) for i in (7, 3)], again))
    assert len({make_case(seeds, 5, i).data for i in range(40)}) > 30


def test_cases_cycle_through_targets_and_planner_options():
    """Every target meets every planner option (patches, bands, the I/O in the arena,
    lighter kernels) within a few cases, so the sanitizers see them all."""
    from tinyml.fuzz.runner import PLANS, TARGETS
    seeds = generated_seeds()
    seen = {(c.target, c.plan) for c in (make_case(seeds, 2, i) for i in range(len(TARGETS) * len(PLANS)))}
    assert seen == {(t, p) for t in TARGETS for p in PLANS}


def test_every_mutator_changes_its_seed():
    seeds = generated_seeds()
    mutators = {}
    for i in range(300):
        case = make_case(seeds, 11, i)
        seed = next(s for s in seeds if s.name == case.seed)
        mutators.setdefault(case.mutator, []).append(case.data != seed.data)
    assert set(mutators) == {"byte_flips", "truncation", "tflite_field", "hostile_name",
                             "onnx_graph"}
    assert all(sum(changed) >= 0.9 * len(changed) for changed in mutators.values())


def test_clean_error_and_compiled_and_sanitizer_report_are_told_apart(tmp_path):
    seed = _seed("gen_fc_add_int8.tflite")
    model = tmp_path / seed.name
    model.write_bytes(seed.data[:100])
    broken = compile_case(model, tmp_path / "broken")
    assert broken["class"] == "clean_error" and "gen_fc_add_int8.tflite" in broken["reason"]
    assert not (tmp_path / "broken").exists()

    model.write_bytes(seed.data)
    out = tmp_path / "out"
    assert compile_case(model, out)["class"] == "compiled"
    assert sanitize_case(out, 0)["class"] == "compiled"

    # an arena one byte long: the kernels write past it, which ASan must report
    header = next(out.glob("gen_fc_add_int8.h"))
    header.write_text(re.sub(r"(#define \w+_ARENA_SIZE )\S+", r"\g<1>1u", header.read_text()))
    result = sanitize_case(out, 0)
    assert result["class"] == "sanitizer" and "AddressSanitizer" in result["reason"], result


def test_failing_mutants_are_saved_for_reproduction(tmp_path, monkeypatch):
    """A compiler that fails on every case (the forked workers inherit the patch): each case is
    an internal error, saved with its reason and the exact mutant bytes."""
    import tinyml.compiler

    def broken(*args, **kwargs):
        raise RuntimeError("planted bug")

    monkeypatch.setattr(tinyml.compiler, "compile_model", broken)
    summary = run_fuzz(generated_seeds(), 24, 3, jobs=2, out=tmp_path)
    assert sum(summary.counts.values()) == 24
    assert summary.counts["internal_error"] == 24 and len(summary.failures) == 24
    saved = sorted((tmp_path / "failures").glob("*.txt"))
    assert len(saved) == 24 and all("planted bug" in t.read_text() for t in saved)
    for f in summary.failures:
        assert f["file"] and open(f["file"], "rb").read() == make_case(
            generated_seeds(), 3, f["case"]).data


@pytest.mark.slow
def test_fuzz_smoke(tmp_path):
    """1,000 seeded cases over the generated seeds and the small shared models: no internal
    error, no case over 20 s, one line per message, nothing left behind, and every compiled
    mutant clean under ASan/UBSan."""
    seeds = generated_seeds() + shared_seeds(max_bytes=30_000)
    start = time.monotonic()
    summary = run_fuzz(seeds, SMOKE_CASES, SMOKE_SEED, jobs=2, out=tmp_path)
    elapsed = time.monotonic() - start
    assert sum(summary.counts.values()) == SMOKE_CASES
    assert summary.counts["compiled"] >= 50 and summary.sanitized >= 50
    assert elapsed < SMOKE_LIMIT, f"the smoke took {elapsed:.0f} s"
    groups = [f"{g['class']} x{g['count']} at {g['where']}: {g['reason']} ({g['example']})"
              for g in summary.groups()]
    assert not summary.failures, "\n".join(groups)
