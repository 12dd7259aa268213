"""What every kernel variant's test runs: the variant's C, chosen for a core, built for the
host (tm_dsp.h's portable C stands in for the DSP instructions) and, for QEMU, for that
core's board; outputs against the numpy reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from helpers import run_ref
from tinyml.codegen import lower_model, write_library
from tinyml.harness.host import run_host
from tinyml.harness.qemu import run_on_board
from tinyml.ir import Graph, check_graph
from tinyml.kernels import select
from tinyml.targets.boards import get_board
from tinyml.targets.cores import CORES

M4 = CORES["cortex-m4"]


def chosen_kernels(graph: Graph, core=M4) -> dict[str, str]:
    return {name: choice.call.kernel for name, choice in select(graph, core).items()}


def _write(graph: Graph, outdir: Path, core, options=None) -> Path:
    check_graph(graph)
    write_library(lower_model(graph, "model", core, options=options), outdir)
    return outdir


def assert_host_matches_ref(graph: Graph, inputs: list[np.ndarray], outdir: Path, *,
                            core=M4, sanitize: bool = True, options=None) -> None:
    """The core's chosen kernels, compiled for the host, bit-exact against the reference;
    `options` the memory planner's (tinyml/plan/planner.py PlanOptions)."""
    got = run_host(_write(graph, outdir, core, options), inputs, sanitize=sanitize)
    for g, w in zip(got, run_ref(graph, inputs)):
        np.testing.assert_array_equal(g, w)


def assert_board_matches_ref(graph: Graph, inputs: list[np.ndarray], outdir: Path,
                             board: str = "mps2-an386", options=None) -> int:
    """The same on the board's core in QEMU; returns the instructions of the first inference."""
    core = get_board(board).core
    got, stats = run_on_board(_write(graph, outdir, core, options), board, inputs, timeout=300)
    for g, w in zip(got, run_ref(graph, inputs)):
        np.testing.assert_array_equal(g, w)
    return stats.instructions
