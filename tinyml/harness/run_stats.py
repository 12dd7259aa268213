"""`tinyml run --board`: pick the emulator, run, and present the stats (table + --stats JSON)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyml.errors import UsageError
from tinyml.targets.boards import BOARDS, Board, get_board


def board_for_run(name: str, model_dir: str | Path) -> Board:
    """The board `tinyml run` can emulate; a real board gets the commands that do work."""
    try:
        board = get_board(name)
    except KeyError as e:
        raise UsageError(e.args[0]) from None
    if not board.emulated:
        emulated = ", ".join(b.name for b in BOARDS.values() if b.emulated)
        raise UsageError(f"{board.name} is a real board, not emulated: flash it with `tinyml flash "
                         f"{model_dir} --board {board.name}`, then run samples over its serial port "
                         f"with `tinyml eval {model_dir} --port /dev/ttyACM0 --dataset data.npz` "
                         f"(emulated boards: {emulated})")
    return board


def run_emulated(model_dir: Path, board: Board, inputs: list[np.ndarray], emulator: str | None
                 ) -> tuple[list[np.ndarray], dict, str]:
    """Outputs, the stats document and its printable per-layer table."""
    if emulator == "renode":
        from tinyml.harness.renode import run_on_renode
        outputs, stats = run_on_renode(model_dir, board.name, inputs)
    else:
        from tinyml.harness.qemu import run_on_board
        outputs, run = run_on_board(model_dir, board.name, inputs)
        stats = {"emulator": "qemu", **run.to_dict()}
    return outputs, stats, stats_table(stats)


def stats_table(stats: dict) -> str:
    """Per-layer instructions (QEMU) or the totals the emulator could give (Renode)."""
    ins = stats["instructions"]
    fw = stats["firmware"]
    lines = []
    if ins.get("per_layer"):
        total = ins["total"] or 1
        rows = [("#", "layer", "op", "instructions", "%", "MACs", "MACs/instr")]
        for layer in ins["per_layer"]:
            n, macs = layer["instructions"], layer.get("macs")
            name = str(layer.get("name") or "-")
            name = name if len(name) <= 40 else name[:39] + "…"   # full names are in --stats
            rows.append((str(layer["index"]), name, str(layer.get("op") or "-"),
                         f"{n:,}", f"{100 * n / total:.1f}", f"{macs:,}" if macs is not None else "-",
                         f"{macs / n:.3f}" if macs and n else "-"))
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
    lines.append(f"firmware text {fw['text']:,} B  data {fw['data']:,} B  bss {fw['bss']:,} B   "
                 f"peak stack {stats['peak_stack_bytes']:,} B   arena {stats['arena_bytes']:,} B   "
                 f"status {stats['status']}")
    return "\n".join(lines)
