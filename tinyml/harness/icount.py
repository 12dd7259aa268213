"""Exact instruction counts, by class, from tinyml's QEMU plugin (tools/qemu-plugin/).

The plugin logs "M <mark> <count> <counters...>" whenever the firmware passes a profiling
mark and "T <count>" at exit; its first line "C <names...>" names the counters (COUNTERS).
Marks: 0 invoke begin, 1 invoke end, 2+2i / 3+2i layer i begin / end.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from tinyml.harness.errors import HarnessBuildError, HarnessError
from tinyml.harness.files import replacing
from tinyml.resources import data_dir

INVOKE_BEGIN, INVOKE_END = 0, 1

# tools/qemu-plugin/tm_classify.h's counters, in its order: classes partition the instructions,
# extras count registers moved, loads writing the PC and taken branches.
CLASSES = ("alu", "it", "load", "load_pipelined", "store", "store_pipelined",
           "ldm", "stm", "ldrd", "strd", "mul", "mul_long", "dsp", "div", "branch",
           "vfp_mac", "vfp_ldst", "vfp_ldm", "vfp_div", "vfp_sqrt", "vfp_other", "other")
EXTRAS = ("ldm_regs", "stm_regs", "vfp_ldm_words", "pc_load", "branch_taken")
COUNTERS = CLASSES + EXTRAS
_PLUGIN_SOURCES = ("tm_icount.c", "tm_classify.h")


def plugin_source_dir() -> Path:
    return data_dir("tools") / "qemu-plugin"


def plugin_path() -> Path:
    """Build the plugin once per source version into the user cache; returns the .so."""
    src = plugin_source_dir()
    code = b"".join((src / name).read_bytes() for name in _PLUGIN_SOURCES)
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tinyml"
    so = cache / f"libtm_icount-{hashlib.sha256(code).hexdigest()[:12]}.so"
    if so.exists():
        return so
    cache.mkdir(parents=True, exist_ok=True)
    with replacing(so) as tmp:   # a concurrent caller never loads a half-written plugin
        done = subprocess.run(["bash", str(src / "build.sh"), str(tmp)], check=False,
                              capture_output=True, text=True)
        if done.returncode or not tmp.exists():
            err = " ".join(done.stderr.split())[-300:]
            raise HarnessBuildError("cannot build the QEMU instruction-count plugin "
                                    f"(needs gcc and tools/qemu-plugin/fetch-header.sh): {err}")
    return so


def plugin_args(so: Path, marks_address: int, mark_count: int, log: Path) -> list[str]:
    return ["-plugin", f"{so},marks=0x{marks_address:x},n={mark_count},out={log}"]


class Mark(NamedTuple):
    mark: int
    count: int
    counters: tuple[int, ...] = ()   # COUNTERS' values; empty from a log without them


@dataclass(frozen=True)
class InvokeCounts:
    total: int
    layers: tuple[int, ...]   # partition of total: sums to it exactly
    classes: dict[str, int] | None = None   # COUNTERS over the invoke, when the log has them
    layer_classes: tuple[dict[str, int], ...] = field(default=())   # per layer, like `layers`


def parse_marks(lines: list[str]) -> list[Mark]:
    """The M lines; a C line naming other counters than COUNTERS is refused (stale plugin)."""
    marks = []
    for line in lines:
        parts = line.split()
        if parts and parts[0] == "C" and tuple(parts[1:]) != COUNTERS:
            raise HarnessError("the QEMU plugin's instruction classes differ from tinyml.harness.icount's: "
                               f"{' '.join(parts[1:])[:200]}")
        if len(parts) >= 3 and parts[0] == "M":
            counters = tuple(int(p) for p in parts[3:])
            if counters and len(counters) != len(COUNTERS):
                raise HarnessError(f"a QEMU plugin mark has {len(counters)} counters, not {len(COUNTERS)}")
            marks.append(Mark(int(parts[1]), int(parts[2]), counters))
    return marks


def _sub(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(x - y for x, y in zip(a, b))


def _add(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(x + y for x, y in zip(a, b))


def split_invokes(marks: list[Mark], num_layers: int) -> list[InvokeCounts]:
    """One InvokeCounts per begin..end pair.

    Every instruction between invoke begin and end is given to one layer: a stretch ending
    at a layer mark belongs to that layer (so call set-up counts for the layer it sets up),
    the stretch after the last layer to the layer it follows. Class counters split the same
    way, as one vector with the instruction count.
    """
    out, begin, last = [], None, None
    for m in marks:
        vec = (m.count, *m.counters)
        if m.mark == INVOKE_BEGIN:
            begin, last, prev = vec, None, vec
            layers = [(0,) * len(vec)] * num_layers
        elif begin is None:
            continue
        elif m.mark == INVOKE_END:
            if last is None:   # the model has no layer hooks: only the total is known
                layers = []
            else:
                layers[last] = _add(layers[last], _sub(vec, prev))
            out.append(_invoke(_sub(vec, begin), layers))
            begin = None
        else:
            layer = (m.mark - 2) // 2
            if 0 <= layer < num_layers:
                layers[layer] = _add(layers[layer], _sub(vec, prev))
                prev, last = vec, layer
    return out


def _invoke(total: tuple[int, ...], layers: list[tuple[int, ...]]) -> InvokeCounts:
    if len(total) == 1 + len(COUNTERS):   # every mark of the invoke carried counters
        return InvokeCounts(total[0], tuple(v[0] for v in layers), dict(zip(COUNTERS, total[1:])),
                            tuple(dict(zip(COUNTERS, v[1:])) for v in layers))
    return InvokeCounts(total[0], tuple(v[0] for v in layers))


def read_log(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        raise HarnessError(f"the QEMU plugin wrote no log at {path}") from None
