"""The fuzz run: cases generated from (seed, index) alone, executed by a pool of worker
processes with a deadline per phase, so that a hang is killed and the run goes on.

A worker answers each case twice: once when the compile is over (then the parent gives it
the time of the sanitized build and run) and once with the outcome.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import re
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

from .case import COMPILE_LIMIT, FAILING, RUN_LIMIT, compile_case, sanitize_case
from .mutators import mutators_for
from .seeds import Seed

TARGETS = ("host", "cortex-m4")
#: the memory planner's options cases cycle through (after the targets), so patches, bands,
#: the I/O in the arena and lighter kernels meet the sanitizers too
PLANS = ((), ("--patch", "auto", "--io", "arena"), ("--optimize", "ram"),
         ("--patch", "auto", "--optimize", "speed"))
BUILD_LIMIT = 120.0   # the sanitized build of a large model, and its run


@dataclass(frozen=True)
class Case:
    index: int
    seed: str
    mutator: str
    change: str
    data: bytes = field(repr=False)

    @property
    def target(self) -> str:
        """Cases alternate between the host's kernels and the Cortex-M4's (its DSP variants,
        built for the host through tm_dsp.h's portable C), so both meet the sanitizers."""
        return TARGETS[self.index % len(TARGETS)]

    @property
    def plan(self) -> tuple[str, ...]:
        return PLANS[self.index // len(TARGETS) % len(PLANS)]


def make_case(seeds: list[Seed], run_seed: int, index: int) -> Case:
    """Case `index` of run `run_seed`: the same every time, whatever ran before it."""
    rng = random.Random(f"{run_seed}/{index}")
    seed = rng.choice(seeds)
    table = mutators_for(seed)
    for _ in range(5):   # a mutation that changed nothing is drawn again
        name, mutate, _ = rng.choices(table, weights=[w for _, _, w in table])[0]
        data, change = mutate(seed, rng)
        if data != seed.data:
            break
    return Case(index, seed.name, name, change, data)


def _worker(conn, cache: Path) -> None:
    while (case := conn.recv()) is not None:
        with tempfile.TemporaryDirectory(prefix="tinyml-fuzz-") as tmp:
            model, out = Path(tmp) / case.seed, Path(tmp) / "out"
            model.write_bytes(case.data)
            result = compile_case(model, out, case.target, case.plan)
            conn.send(("compiled", result))
            if result["class"] == "compiled":
                result.update(sanitize_case(out, case.index, cache))
                result["sanitized"] = True
        conn.send(("done", result))


class _Worker:
    def __init__(self, ctx, cache: Path):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(child, cache), daemon=True)
        self.process.start()
        child.close()
        self.case: Case | None = None
        self.deadline = 0.0
        self.partial: dict | None = None

    def give(self, case: Case) -> None:
        self.case, self.partial = case, None
        self.deadline = time.monotonic() + COMPILE_LIMIT + 10
        self.conn.send(case)

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(5)
        if self.process.is_alive():
            self.kill()


@dataclass
class Summary:
    seed: int
    cases: int
    jobs: int
    seconds: float = 0.0
    counts: Counter = field(default_factory=Counter)
    sanitized: int = 0
    failures: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["counts"] = dict(sorted(self.counts.items()))
        d["failure_groups"] = self.groups()
        return d

    def groups(self) -> list[dict]:
        """Failures grouped by class and code site (or message shape), most frequent first."""
        groups: dict[tuple, list[dict]] = {}
        for f in self.failures:
            key = (f["class"], f.get("site") or re.sub(r"\d+|'[^']*'", "#", f["reason"])[:120])
            groups.setdefault(key, []).append(f)
        return [{"class": k[0], "where": k[1], "count": len(v), "example": v[0]["file"],
                 "reason": v[0]["reason"]}
                for k, v in sorted(groups.items(), key=lambda kv: -len(kv[1]))]


def run_fuzz(seeds: list[Seed], cases: int, run_seed: int, jobs: int = 2,
             out: Path | None = None, progress=None) -> Summary:
    """Run `cases` mutants; save each failing one (and its reason) under `out`/failures."""
    summary = Summary(run_seed, cases, jobs)
    failures_dir = Path(out) / "failures" if out else None
    if failures_dir is not None and failures_dir.exists():
        shutil.rmtree(failures_dir)
    from .. import cli, compiler  # noqa: F401  (imported once, before the workers fork)
    ctx = multiprocessing.get_context("fork")
    cache_dir = tempfile.TemporaryDirectory(prefix="tinyml-fuzz-objects-")
    cache = Path(cache_dir.name)
    workers = [_Worker(ctx, cache) for _ in range(jobs)]
    next_index = 0
    start = time.monotonic()

    def record(case: Case, result: dict) -> None:
        summary.counts[result["class"]] += 1
        summary.sanitized += bool(result.get("sanitized"))
        if result["class"] in FAILING:
            entry = {"case": case.index, "seed": case.seed, "mutator": case.mutator,
                     "change": case.change, "target": case.target, "plan": list(case.plan),
                     **result, "file": None}
            if failures_dir is not None:
                failures_dir.mkdir(parents=True, exist_ok=True)
                path = failures_dir / f"{case.index:06d}_{result['class']}_{case.seed}"
                path.write_bytes(case.data)
                path.with_name(path.name + ".txt").write_text(
                    f"{result['class']}: {result['reason']}"
                    f"{' at ' + result['site'] if result.get('site') else ''}"
                    f" ({case.mutator}: {case.change}; --target {case.target} {' '.join(case.plan)})\n")
                entry["file"] = str(path)
            summary.failures.append(entry)
        if progress is not None:
            progress(sum(summary.counts.values()), cases)

    try:
        while True:
            for w in workers:
                if w.case is None and next_index < cases:
                    w.give(make_case(seeds, run_seed, next_index))
                    next_index += 1
            busy = [w for w in workers if w.case is not None]
            if not busy:
                break
            ready = wait([w.conn for w in busy], timeout=0.5)
            now = time.monotonic()
            for i, w in enumerate(workers):
                if w.case is None:
                    continue
                if w.conn in ready:
                    try:
                        kind, result = w.conn.recv()
                    except EOFError:   # the worker died (a crash of the interpreter itself)
                        result = {"class": "internal_error", "reason": "the worker died"}
                        w.kill()
                        workers[i] = _Worker(ctx, cache)
                        record(w.case, result)
                        continue
                    if kind == "compiled":
                        w.partial = result
                        w.deadline = now + BUILD_LIMIT + RUN_LIMIT
                        continue
                    record(w.case, result)
                    w.case = None
                elif now > w.deadline:
                    phase = "compile" if w.partial is None else "sanitized build and run"
                    record(w.case, {"class": "timeout", "reason": f"the {phase} hung; killed",
                                    "seconds": now - start})
                    w.kill()
                    workers[i] = _Worker(ctx, cache)
    finally:
        for w in workers:
            w.stop()
        cache_dir.cleanup()
    summary.seconds = time.monotonic() - start
    return summary


def format_summary(summary: Summary) -> str:
    lines = [f"tinyml fuzz: {summary.cases} cases, seed {summary.seed}, {summary.jobs} jobs, "
             f"{summary.seconds:.0f} s; {summary.sanitized} compiled mutants built and run "
             "under ASan/UBSan", "", f"{'outcome':<16}{'cases':>8}"]
    for cls, n in sorted(summary.counts.items(), key=lambda kv: -kv[1]):
        lines.append(f"{cls:<16}{n:>8}")
    groups = summary.groups()
    if groups:
        lines += ["", f"{'failure':<16}{'cases':>6}  where / example"]
        for g in groups:
            lines.append(f"{g['class']:<16}{g['count']:>6}  {g['where']}")
            lines.append(f"{'':<24}{g['example'] or ''}: {g['reason'][:150]}")
    return "\n".join(lines)


def write_json(summary: Summary, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary.to_dict(), indent=2) + "\n")
