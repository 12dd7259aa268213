"""What an emulated run measured (RunStats, the `--stats` document) and its printable table.

Shared by the QEMU and Renode runners; imports nothing of theirs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from tinyml.harness import cycles as est

QEMU_COUNTER = "exact guest instructions (QEMU plugin)"


@dataclass
class RunStats:
    """One emulated run, from either emulator: QEMU's plugin counts every instruction and
    splits it by layer; Renode has only what the firmware measures (`counter`: cycles, or
    none), so its per-layer counts stay empty and `instructions` may be None."""

    board: str
    status: int
    instructions: int | None
    layer_instructions: list[int]
    text: int
    data: int
    bss: int
    peak_stack: int
    arena_bytes: int
    macs: int | None = None
    wall_seconds: float = 0.0
    layers: list[dict] = field(default_factory=list)   # report.json's, when present
    sample_instructions: list[int] = field(default_factory=list)   # each sample's `counter` count
    emulator: str = "qemu"
    counter: str = QEMU_COUNTER
    cycles: int | None = None   # sample 0's, when the firmware counted cycles (Renode)
    classes: dict[str, int] | None = None   # QEMU: sample 0's instruction class counters
    layer_classes: list[dict[str, int]] = field(default_factory=list)   # per layer, likewise

    @property
    def macs_per_instruction(self) -> float | None:
        return self.macs / self.instructions if self.macs and self.instructions else None

    @property
    def estimated_cycles(self) -> int | None:
        """Cortex-M4 cycles estimated from the class counters (tinyml.harness.cycles)."""
        return est.estimate_cycles(self.classes) if self.classes else None

    @property
    def layer_estimated_cycles(self) -> list[int]:
        return [est.estimate_cycles(c) for c in self.layer_classes]

    def estimate(self) -> dict | None:
        """The `estimate` entry of the stats document: cycles and ms, labelled as an estimate."""
        if not self.classes:
            return None
        clock = est.estimate_clock(self.board)
        n = self.estimated_cycles
        return {"label": est.ESTIMATE_LABEL, "cycles": n, "clock_hz": clock.hz, "clock_basis": clock.basis,
                "ms": est.estimated_ms(n, clock), "caveat": est.timing_caveat(self.board),
                "classes": dict(self.classes), "cycles_by_class": est.cycles_by_counter(self.classes)}

    def to_dict(self) -> dict:
        """The `--stats stats.json` document."""
        per_layer = [dict(index=i, instructions=n, **({k: self.layers[i].get(k) for k in ("name", "op", "macs", "kernel")}
                                                      if i < len(self.layers) else {}))
                     for i, n in enumerate(self.layer_instructions)]
        if len(self.layer_classes) == len(per_layer):
            for layer, classes, n in zip(per_layer, self.layer_classes, self.layer_estimated_cycles):
                layer.update(estimated_cycles=n, classes=dict(classes))
        doc = {
            "emulator": self.emulator,
            "board": self.board,
            "status": self.status,
            "instructions": {"total": self.instructions, "per_layer": per_layer,
                             "per_sample": self.sample_instructions, "counter": self.counter},
        }
        if self.emulator != "qemu":   # QEMU always counts instructions, never cycles
            doc["cycles"] = self.cycles
        if self.classes:
            doc["estimate"] = self.estimate()
        doc.update({
            "macs": self.macs,
            "macs_per_instruction": self.macs_per_instruction,
            "firmware": {"text": self.text, "data": self.data, "bss": self.bss,
                         "flash_bytes": self.text + self.data},
            "peak_stack_bytes": self.peak_stack,
            "arena_bytes": self.arena_bytes,
            "sram_bytes": self.data + self.bss + self.peak_stack,
            "wall_seconds": self.wall_seconds,
        })
        if self.emulator != "qemu":   # no per-layer counts: report.json's layers without them
            doc["layers"] = [{k: layer.get(k) for k in ("name", "op", "macs", "kernel")} for layer in self.layers]
        return doc

    def __getitem__(self, key: str):
        return self.to_dict()[key]


def report_macs(folder: Path) -> tuple[int | None, list[dict]]:
    """MACs and layers from the folder's report.json, when it has one (a bare library may not)."""
    report = Path(folder) / "report.json"
    if not report.exists():
        return None, []
    try:
        data = json.loads(report.read_text())
    except ValueError:
        return None, []
    return (data.get("macs"), list(data.get("layers") or [])) if isinstance(data, dict) else (None, [])


def stats_table(stats: dict) -> str:
    """Per-layer instructions (QEMU) or the totals the emulator could give (Renode)."""
    ins = stats["instructions"]
    fw = stats["firmware"]
    lines = []
    if ins.get("per_layer"):
        total = ins["total"] or 1
        with_cycles = all("estimated_cycles" in layer for layer in ins["per_layer"])
        rows = [("#", "layer", "op", "instructions", "%", "MACs", "MACs/instr")
                + (("est. cycles", "MACs/est. cycle") if with_cycles else ())]
        for layer in ins["per_layer"]:
            n, macs = layer["instructions"], layer.get("macs")
            name = str(layer.get("name") or "-")
            name = name if len(name) <= 40 else name[:39] + "…"   # full names are in --stats
            row = (str(layer["index"]), name, str(layer.get("op") or "-"),
                   f"{n:,}", f"{100 * n / total:.1f}", f"{macs:,}" if macs is not None else "-",
                   f"{macs / n:.3f}" if macs and n else "-")
            if with_cycles:
                c = layer["estimated_cycles"]
                row += (f"{c:,}", f"{macs / c:.3f}" if macs and c else "-")
            rows.append(row)
        widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
        left = {1, 2}
        for k, row in enumerate(rows):
            lines.append("  ".join(cell.ljust(w) if c in left else cell.rjust(w)
                                   for c, (cell, w) in enumerate(zip(row, widths))).rstrip())
            if k == 0:
                lines.append("-" * len(lines[0]))
        lines.append("")
    mpi = stats.get("macs_per_instruction")
    if ins.get("total") is not None:
        head = f"instructions {ins['total']:,}" + (f"   MACs/instruction {mpi:.3f}" if mpi else "")
    elif stats.get("cycles") is not None:
        head = f"cycles {stats['cycles']:,} (the firmware's DWT counter)"
    else:
        head = f"instructions: not measured on {stats.get('emulator', 'this emulator')} (counter {ins['counter']})"
    lines.append(f"{head}   on {stats['board']} ({stats.get('emulator', 'qemu')})")
    estimate = stats.get("estimate")
    if estimate:
        lines.append(f"estimated {estimate['cycles']:,} Cortex-M4 cycles = {estimate['ms']:.2f} ms "
                     f"({estimate['clock_basis']}); an estimate from instruction classes and the "
                     "Cortex-M4 TRM's timings, not a measurement (docs/cycle-estimate.md)")
        if estimate.get("caveat"):
            lines.append(f"  {estimate['caveat']}")
    lines.append(f"firmware text {fw['text']:,} B  data {fw['data']:,} B  bss {fw['bss']:,} B   "
                 f"peak stack {stats['peak_stack_bytes']:,} B   arena {stats['arena_bytes']:,} B   "
                 f"status {stats['status']}")
    return "\n".join(lines)
