"""Exact instruction counts from tinyml's QEMU plugin (tools/qemu-plugin/).

The plugin logs "M <mark> <count>" whenever the firmware passes a profiling mark and
"T <count>" at exit. Marks: 0 invoke begin, 1 invoke end, 2+2i / 3+2i layer i begin / end.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tinyml.harness.errors import HarnessBuildError, HarnessError
from tinyml.harness.files import replacing
from tinyml.resources import data_dir

INVOKE_BEGIN, INVOKE_END = 0, 1


def plugin_source_dir() -> Path:
    return data_dir("tools") / "qemu-plugin"


def plugin_path() -> Path:
    """Build the plugin once per source version into the user cache; returns the .so."""
    src = plugin_source_dir()
    code = (src / "tm_icount.c").read_bytes()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tinyml"
    so = cache / f"libtm_icount-{hashlib.sha256(code).hexdigest()[:12]}.so"
    if so.exists():
        return so
    cache.mkdir(parents=True, exist_ok=True)
    with replacing(so) as tmp:   # a concurrent caller never loads a half-written plugin
        done = subprocess.run(["bash", str(src / "build.sh"), str(tmp)], capture_output=True, text=True)
        if done.returncode or not tmp.exists():
            err = " ".join(done.stderr.split())[-300:]
            raise HarnessBuildError("cannot build the QEMU instruction-count plugin "
                                    f"(needs gcc and tools/qemu-plugin/fetch-header.sh): {err}")
    return so


def plugin_args(so: Path, marks_address: int, mark_count: int, log: Path) -> list[str]:
    return ["-plugin", f"{so},marks=0x{marks_address:x},n={mark_count},out={log}"]


@dataclass(frozen=True)
class InvokeCounts:
    total: int
    layers: tuple[int, ...]   # partition of total: sums to it exactly


def parse_marks(lines: list[str]) -> list[tuple[int, int]]:
    marks = []
    for line in lines:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "M":
            marks.append((int(parts[1]), int(parts[2])))
    return marks


def split_invokes(marks: list[tuple[int, int]], num_layers: int) -> list[InvokeCounts]:
    """One InvokeCounts per begin..end pair.

    Every instruction between invoke begin and end is given to one layer: a stretch ending
    at a layer mark belongs to that layer (so call set-up counts for the layer it sets up),
    the stretch after the last layer to the layer it follows.
    """
    out, current, last = [], None, None
    for mark, count in marks:
        if mark == INVOKE_BEGIN:
            current, last, layers, prev = count, None, [0] * num_layers, count
        elif current is None:
            continue
        elif mark == INVOKE_END:
            if last is None:   # the model has no layer hooks: only the total is known
                layers = []
            else:
                layers[last] += count - prev
            out.append(InvokeCounts(count - current, tuple(layers)))
            current = None
        else:
            layer = (mark - 2) // 2
            if 0 <= layer < num_layers:
                layers[layer] += count - prev
                prev, last = count, layer
    return out


def read_log(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        raise HarnessError(f"the QEMU plugin wrote no log at {path}") from None
