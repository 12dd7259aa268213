"""`tinyml run --board`: pick the emulator, run, and present the stats (table + --stats JSON)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyml.errors import UsageError
from tinyml.harness.qemu import run_on_board
from tinyml.harness.renode import run_on_renode
from tinyml.harness.stats import stats_table
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
    run = run_on_renode if emulator == "renode" else run_on_board
    outputs, stats = run(model_dir, board.name, inputs)
    doc = stats.to_dict()
    return outputs, doc, stats_table(doc)
