"""Render a lowered model with the jinja2 templates in codegen/templates/ and write the folder.

The folder is written to a temporary sibling and renamed into place, so a failure leaves no
half-written output.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import jinja2
import numpy as np

from .. import __version__
from ..errors import TinymlError, UsageError
from ..resources import data_dir
from ..text import c_comment
from .lower import CTYPES, DTYPE_MACROS, CopyStep, ModelCode
from .report import build_report


def c_float(value: float) -> str:
    """A float32 as an exact C hex literal."""
    v = float(np.float32(value))
    if math.isnan(v):
        return "NAN"
    if math.isinf(v):
        return "(-FLT_MAX)" if v < 0 else "FLT_MAX"
    if v == 0.0:
        return "0.0f" if math.copysign(1.0, v) > 0 else "-0.0f"
    return v.hex() + "f"


def c_literal(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return c_float(value)
    raise TypeError(f"no C literal for {value!r}")


def c_values(values: np.ndarray, per_line: int = 16) -> str:
    """The body of an array initializer, `per_line` values a line."""
    flat = np.asarray(values).reshape(-1)
    if flat.dtype.kind == "f":
        items = [c_float(v) for v in flat.tolist()]
        per_line = 6
    else:
        items = [str(v) for v in flat.astype(np.int64).tolist()]
    rows = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return ",\n    ".join(rows)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("codegen") / "templates")),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True,
        lstrip_blocks=True)
    env.filters.update(c_literal=c_literal, c_values=c_values, c_comment=c_comment)
    return env


PACKAGE_TEMPLATES = ("CMakeLists.txt.j2", "zephyr/module.yml.j2", "zephyr/CMakeLists.txt.j2",
                     "zephyr/Kconfig.j2", "library.json.j2", "library.properties.j2")


def render_library(code: ModelCode) -> dict[str, str]:
    """File name -> text of every generated file except the copied kernels."""
    env = _environment()
    layers = [{"index": layer.index, "name": layer.node.name, "op": layer.node.op,
               "call": layer.call, "runs": layer.runs} for layer in code.layers]
    steps, seen = [], set()
    for step in code.steps:
        if isinstance(step, CopyStep):
            steps.append({"kind": "copy", "layer": step.layer, "dst": step.dst, "src": step.src,
                          "nbytes": step.nbytes})
        else:
            steps.append({"kind": "call", "layer": step.layer, "kernel": step.kernel,
                          "args": step.args, "repeat": step.repeat, "first": step.layer not in seen})
            seen.add(step.layer)
    for i, step in enumerate(steps):   # a layer's last step: its output is whole after it
        step["last"] = i + 1 == len(steps) or steps[i + 1]["layer"] != step["layer"]
    context = {
        "name": code.name, "prefix": code.name.upper(), "code": code, "layers": layers,
        "steps": steps, "has_copies": any(s["kind"] == "copy" for s in steps),
        "inputs": code.inputs, "outputs": code.outputs, "dtype_macros": DTYPE_MACROS,
        "ctypes": CTYPES,
        # C has no empty arrays
        "arena_size": max(code.plan.size, code.plan.alignment), "alignment": code.plan.alignment,
        "kernel_sources": code.kernel_sources, "train": code.train,
    }
    context["version"] = __version__
    files = {
        f"{code.name}.h": env.get_template("model.h.j2").render(context),
        f"{code.name}.c": env.get_template("model.c.j2").render(context),
        f"{code.name}.mk": env.get_template("model.mk.j2").render(context),
    }
    # the packages: CMake, Zephyr module, PlatformIO and Arduino library (docs/packages.md)
    for template in PACKAGE_TEMPLATES:
        files[template.removesuffix(".j2")] = env.get_template(template).render(context)
    return files


def _check_replaceable(outdir: Path) -> None:
    """Only an empty folder or an earlier tinyml output may be replaced: never a user's files."""
    if not outdir.exists():
        return
    if not outdir.is_dir():
        raise UsageError(f"the output {outdir} exists and is not a folder")
    if any(outdir.iterdir()) and not (outdir / "report.json").is_file():
        raise UsageError(f"the output folder {outdir} holds other files (no report.json): "
                         "choose another -o or empty it")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_library(code: ModelCode, outdir: Path, report_extra: dict | None = None) -> dict:
    """Write the whole folder atomically; returns the report."""
    outdir = Path(outdir)
    _check_replaceable(outdir)
    files = render_library(code)
    report = build_report(code, **(report_extra or {}))
    kernels = data_dir("codegen") / "kernels"
    try:
        outdir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", dir=outdir.parent))
        staging.chmod(0o777 & ~_umask())   # mkdtemp's 0700 is for temporaries, not outputs
    except OSError as exc:
        raise TinymlError(f"cannot write the output folder {outdir}: {exc.strerror}") from None
    try:
        for fname, text in files.items():
            (staging / fname).parent.mkdir(exist_ok=True)
            (staging / fname).write_text(text, encoding="ascii")   # names arrive escaped
        for header in sorted(kernels.glob("tm_*.h")):
            shutil.copyfile(header, staging / header.name)
        for fname in code.kernel_sources:
            shutil.copyfile(kernels / fname, staging / fname)
        (staging / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="ascii")
        if outdir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.old.", dir=outdir.parent))
            outdir.rename(old / outdir.name)
            staging.rename(outdir)
            shutil.rmtree(old)
        else:
            staging.rename(outdir)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise TinymlError(f"cannot write the output folder {outdir}: {exc.strerror}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report
