"""Build a generated model folder with the host C compiler and run it on numpy inputs."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import jinja2
import numpy as np

from ..errors import BuildError, ModelError, ShapeError
from ..resources import data_dir

STRICT_FLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror")
SANITIZE_FLAGS = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g")


def read_report(model_dir: Path) -> dict:
    """report.json, checked for what the runners read: a name and each tensor's shape and dtype."""
    path = Path(model_dir) / "report.json"
    if not path.is_file():
        raise ModelError("not a tinyml output folder (no report.json)", model=str(model_dir))
    try:
        report = json.loads(path.read_text())
    except (ValueError, OSError) as exc:   # UnicodeDecodeError is a ValueError
        raise ModelError(f"corrupt report.json ({type(exc).__name__}); compile the model again",
                         model=str(model_dir)) from None
    if not _report_ok(report):
        raise ModelError("corrupt report.json (no name, or inputs/outputs without shape and "
                         "dtype); compile the model again", model=str(model_dir))
    return report


def _report_ok(report) -> bool:
    def tensor_ok(t):
        try:
            return (isinstance(t, dict) and isinstance(t.get("shape"), list)
                    and all(type(d) is int and d > 0 for d in t["shape"])
                    and np.dtype(t["dtype"]).kind in "iuf")
        except (TypeError, KeyError):
            return False
    return (isinstance(report, dict) and isinstance(report.get("name"), str)
            and all(isinstance(report.get(k), list) and report[k] and all(map(tensor_ok, report[k]))
                    for k in ("inputs", "outputs")))


def render_runner(report: dict) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(data_dir("codegen") / "templates")),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)

    class IO:
        def __init__(self, d):
            self.nbytes = int(np.prod(d["shape"], dtype=np.int64)) * np.dtype(d["dtype"]).itemsize

    return env.get_template("host_runner.c.j2").render(
        name=report["name"], prefix=report["name"].upper(),
        inputs=[IO(d) for d in report["inputs"]], outputs=[IO(d) for d in report["outputs"]],
        train=report.get("train"))


def build_host(model_dir: Path, *, sanitize: bool = False, opt: str = "-O2") -> Path:
    """Compile the library and the runner; cached by the sources' hash under model_dir/.build."""
    model_dir = Path(model_dir)
    report = read_report(model_dir)
    sources = sorted(model_dir.glob("*.c"))
    runner = render_runner(report)
    flags = [*STRICT_FLAGS, opt, *(SANITIZE_FLAGS if sanitize else ())]
    digest = hashlib.sha256(runner.encode() + " ".join(flags).encode())
    for src in sorted(model_dir.glob("*.[ch]")):
        digest.update(src.read_bytes())
    build = model_dir / ".build"
    exe = build / f"runner-{digest.hexdigest()[:16]}"
    if exe.exists():
        return exe
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        raise BuildError(f"no host C compiler ({cc!r} not found); install gcc")
    build.mkdir(exist_ok=True)
    runner_c = build / "runner.c"
    runner_c.write_text(runner)
    partial = exe.with_name(f"{exe.name}.{os.getpid()}.tmp")   # never run a half-written file
    cmd = [cc, *flags, "-I", str(model_dir), *map(str, sources), str(runner_c), "-lm", "-o",
           str(partial)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or ["(no output)"]
        first = next((l for l in lines if "error" in l), lines[0])
        partial.unlink(missing_ok=True)
        raise BuildError(f"host build failed: {first}", model=str(model_dir))
    os.replace(partial, exe)
    return exe


def _coerce(value: np.ndarray, spec: dict, index: int, source: str) -> np.ndarray:
    """Check one input batch against the model: shape [N, *shape] or [*shape], exact dtype."""
    shape, dtype = tuple(spec["shape"]), np.dtype(spec["dtype"])
    value = np.asarray(value)
    if value.dtype != dtype:
        raise ShapeError(f"input {index} has dtype {value.dtype}, the model expects {dtype}",
                         model=source)
    if value.shape == shape:
        return value[None]
    if value.shape[1:] == shape:
        return value
    raise ShapeError(f"input {index} has shape {value.shape}, the model expects {shape} "
                     f"(or [N, {', '.join(map(str, shape))}])", model=source)


def run_host(model_dir: Path, inputs: list[np.ndarray], *, sanitize: bool = False,
             state: bytes | None = None) -> list[np.ndarray]:
    """Run a batch: each input is [N, *shape] (or one sample); returns outputs [N, *shape].
    A model compiled with --train reads `state` (the bytes of its state buffer), or the one
    its train_init makes."""
    model_dir = Path(model_dir)
    report = read_report(model_dir)
    specs = report["inputs"]
    if len(inputs) != len(specs):
        raise ShapeError(f"the model has {len(specs)} inputs, {len(inputs)} given",
                         model=str(model_dir))
    batches = [_coerce(v, s, i, str(model_dir)) for i, (v, s) in enumerate(zip(inputs, specs))]
    count = batches[0].shape[0]
    if any(b.shape[0] != count for b in batches):
        raise ShapeError("inputs have different batch sizes", model=str(model_dir))
    exe = build_host(model_dir, sanitize=sanitize)
    with tempfile.TemporaryDirectory() as tmp:
        in_path, out_path = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        with open(in_path, "wb") as f:
            for n in range(count):
                for b in batches:
                    f.write(np.ascontiguousarray(b[n]).tobytes())
        extra = []
        if state is not None:
            (Path(tmp) / "state.bin").write_bytes(state)
            extra = [str(Path(tmp) / "state.bin")]
        proc = subprocess.run([str(exe), str(count), str(in_path), str(out_path), *extra],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            lines = proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"]
            raise BuildError(f"the model failed on the host: {lines[0]}", model=str(model_dir))
        raw = out_path.read_bytes()
    outs_specs = [(tuple(o["shape"]), np.dtype(o["dtype"])) for o in report["outputs"]]
    sample_bytes = sum(int(np.prod(s)) * d.itemsize for s, d in outs_specs)
    results = [np.empty((count, *s), d) for s, d in outs_specs]
    for n in range(count):
        pos = n * sample_bytes
        for r, (s, d) in zip(results, outs_specs):
            nb = int(np.prod(s)) * d.itemsize
            r[n] = np.frombuffer(raw[pos:pos + nb], d).reshape(s)
            pos += nb
    return results


def train_host(model_dir: Path, inputs: np.ndarray, labels: np.ndarray, lr: float, *,
               sanitize: bool = False) -> tuple[np.ndarray, bytes]:
    """Training steps on the host, one per sample of `inputs` [N, *shape] with its label,
    from the state train_init makes: (the N losses, the state's bytes after them)."""
    model_dir = Path(model_dir)
    report = read_report(model_dir)
    if not report.get("train"):
        raise ShapeError("the model was compiled without --train", model=str(model_dir))
    batch = _coerce(inputs, report["inputs"][0], 0, str(model_dir))
    labels = np.asarray(labels, dtype=np.int32).reshape(-1)
    if len(labels) != len(batch):
        raise ShapeError(f"{len(batch)} samples and {len(labels)} labels", model=str(model_dir))
    exe = build_host(model_dir, sanitize=sanitize)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {k: Path(tmp) / f"{k}.bin" for k in ("in", "labels", "losses", "state")}
        paths["in"].write_bytes(np.ascontiguousarray(batch).tobytes())
        paths["labels"].write_bytes(labels.tobytes())
        proc = subprocess.run([str(exe), "train", str(len(batch)), repr(float(np.float32(lr))),
                               *(str(paths[k]) for k in ("in", "labels", "losses", "state"))],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            lines = proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"]
            raise BuildError(f"training failed on the host: {lines[0]}", model=str(model_dir))
        return (np.frombuffer(paths["losses"].read_bytes(), np.float32).copy(),
                paths["state"].read_bytes())
