"""One fuzz case, run inside a worker process: compile the mutant through the CLI as a user
would, classify the outcome, and build and run every compiled mutant under ASan/UBSan.

Outcomes: `compiled` and `clean_error` pass; every other class is a failure:
`internal_error` (an exception that is not a TinymlError), `timeout` (compile over the
limit, or a hung build or run), `multi_line` (stderr not one `tinyml: ` line per message),
`left_behind` (an output or staging folder after a failure, or staging after success),
`build_failed` (the generated C does not build), `sanitizer` (a report while running it),
`run_failed` (it exits non-zero without one).
"""

from __future__ import annotations

import io
import os
import subprocess
import time
import traceback
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np

PASSING = ("compiled", "clean_error")
FAILING = ("internal_error", "timeout", "multi_line", "left_behind", "build_failed",
           "sanitizer", "run_failed")
COMPILE_LIMIT = 20.0
RUN_LIMIT = 20.0
_SANITIZER_ENV = {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0",
                  "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}


def _site(exc: BaseException) -> str:
    """Where in tinyml an exception was raised: `path:line function` of the innermost frame."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/tinyml/" in f.filename]
    if not frames:
        return "?"
    f = frames[-1]
    return f"{f.filename[f.filename.rfind('/tinyml/') + 1:]}:{f.lineno} {f.name}"


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


def compile_case(model: Path, out: Path, target: str = "host", plan: tuple[str, ...] = ()) -> dict:
    """Run `tinyml compile model -o out --target target *plan` in this process; classify
    everything but the C."""
    from ..cli import main
    stdout, stderr = io.StringIO(), io.StringIO()
    os.environ["TINYML_DEBUG"] = "1"   # an internal error raises, with its traceback
    start = time.monotonic()
    try:
        with redirect_stdout(stdout), redirect_stderr(stderr):
            rc = main(["compile", str(model), "-o", str(out), "--target", target, *plan])
    except Exception as exc:  # noqa: BLE001  (classifying any bug of the compiler is the point)
        return {"class": "internal_error", "seconds": time.monotonic() - start,
                "reason": _one_line(f"{type(exc).__name__}: {exc}"), "site": _site(exc)}
    seconds = time.monotonic() - start
    lines = stderr.getvalue().splitlines()
    errors = [l for l in lines if l.startswith("tinyml: error: ")]
    staging = sorted(p.name for p in out.parent.glob(f".{out.name}.*"))
    result = {"seconds": seconds, "reason": _one_line(errors[-1] if errors else
                                                       (lines[-1] if lines else ""))}
    if seconds > COMPILE_LIMIT:
        return {**result, "class": "timeout", "reason": f"compile took {seconds:.1f} s"}
    if any(not l.startswith("tinyml: ") for l in lines) or (rc != 0 and len(errors) != 1):
        return {**result, "class": "multi_line", "reason": _one_line(repr(stderr.getvalue()))}
    if staging or (rc != 0 and out.exists()):
        return {**result, "class": "left_behind",
                "reason": f"left {staging or [out.name]} after exit {rc}"}
    return {**result, "class": "compiled" if rc == 0 else "clean_error"}


def random_inputs(report: dict, rng: np.random.Generator) -> bytes:
    """One sample for every input, in the model's dtypes: normal floats, uniform integers."""
    parts = []
    for spec in report["inputs"]:
        dtype, shape = np.dtype(spec["dtype"]), tuple(spec["shape"])
        if dtype.kind == "f":
            value = rng.standard_normal(shape).astype(dtype)
        else:
            info = np.iinfo(dtype)
            value = rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)
        parts.append(value.tobytes())
    return b"".join(parts)


def sanitize_case(out: Path, seed: int, cache: Path | None = None) -> dict:
    """Build the compiled folder with -fsanitize=address,undefined and run it on one random
    input (the harness's own host runner and sanitizer flags)."""
    from ..errors import BuildError
    from ..harness.host import read_report
    from .sanitize import build_sanitized
    try:
        exe = build_sanitized(out, cache)
    except BuildError as exc:
        return {"class": "build_failed", "reason": _one_line(str(exc))}
    report = read_report(out)
    data = random_inputs(report, np.random.default_rng(seed))
    in_path, out_path = out / ".build" / "in.bin", out / ".build" / "out.bin"
    in_path.write_bytes(data)
    try:
        proc = subprocess.run([str(exe), "1", str(in_path), str(out_path)], capture_output=True,
                              text=True, errors="replace", timeout=RUN_LIMIT,
                              env={**os.environ, **_SANITIZER_ENV})
    except subprocess.TimeoutExpired:
        return {"class": "timeout", "reason": f"the sanitized run took over {RUN_LIMIT:.0f} s"}
    report_lines = [l for l in proc.stderr.splitlines()
                    if "Sanitizer" in l or "runtime error:" in l]
    if report_lines:
        return {"class": "sanitizer", "reason": _one_line(report_lines[0])}
    if proc.returncode != 0:
        return {"class": "run_failed",
                "reason": _one_line(f"exit {proc.returncode}: {proc.stderr[-300:]}")}
    return {"class": "compiled"}
