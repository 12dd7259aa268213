"""Build a compiled folder and the harness's host runner with ASan/UBSan, fast enough to do
for every compiled mutant: objects that depend only on the kernel library (the `tm_*.c`
kernels) or on the runner and header are cached across cases by content hash, so a case
compiles only its model's .c and links. Flags are the harness's own.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from ..errors import BuildError
from ..harness.host import SANITIZE_FLAGS, STRICT_FLAGS, render_runner, read_report

FLAGS = (*STRICT_FLAGS, "-O0", *SANITIZE_FLAGS)   # -O0: the quickest build, as many checks


def _compiler() -> str:
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        raise BuildError(f"no host C compiler ({cc!r} not found); install gcc")
    return cc


def _object(cc: str, source: Path, include: Path, key: bytes, cache: Path | None,
            build: Path) -> Path:
    """`source` compiled, from the cache when `cache` holds an object for `key`."""
    digest = hashlib.sha256(key + " ".join(FLAGS).encode()).hexdigest()[:20]
    obj = (cache or build) / f"{source.stem}-{digest}.o"
    if obj.exists():
        return obj
    partial = build / f"{obj.name}.{os.getpid()}.tmp"
    proc = subprocess.run([cc, *FLAGS, "-I", str(include), "-c", str(source), "-o", str(partial)],
                          capture_output=True, text=True, errors="replace")
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or ["(no output)"]
        raise BuildError(f"host build failed: {next((l for l in lines if 'error' in l), lines[0])}",
                         model=str(include))
    os.replace(partial, obj)   # atomic: another worker may be writing the same object
    return obj


def build_sanitized(model_dir: Path, cache: Path | None = None) -> Path:
    """The sanitized runner of `model_dir` (written to model_dir/.build/runner-asan)."""
    model_dir = Path(model_dir)
    cc = _compiler()
    report = read_report(model_dir)
    build = model_dir / ".build"
    build.mkdir(exist_ok=True)
    headers = b"".join(h.read_bytes() for h in sorted(model_dir.glob("tm_*.h")))
    runner = build / "runner.c"
    runner.write_text(render_runner(report))
    model_header = model_dir / f"{report['name']}.h"
    objects = [_object(cc, runner, model_dir, runner.read_bytes() + model_header.read_bytes()
                       + headers, cache, build)]
    for source in sorted(model_dir.glob("*.c")):
        shared = source.name.startswith("tm_")   # a library kernel: the same in every folder
        objects.append(_object(cc, source, model_dir, source.read_bytes() + headers,
                               cache if shared else None, build))
    exe = build / "runner-asan"
    proc = subprocess.run([cc, *FLAGS, *map(str, objects), "-lm", "-o", str(exe)],
                          capture_output=True, text=True, errors="replace")
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or ["(no output)"]
        raise BuildError(f"host link failed: {lines[-1]}", model=str(model_dir))
    return exe
