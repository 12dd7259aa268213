"""What the float32 FPU variants' tests share: the variant's C against the portable kernel's
(bit for bit: the variants keep every sum's order) and against the numpy reference (within
the float tolerance), on the host and on the Cortex-M4F in QEMU; the compiler's contraction of
both kernels under the firmware's flags."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np

from helpers import run_ref
from tinyml.codegen import lower_model, write_library
from tinyml.harness.host import run_host
from tinyml.harness.qemu import run_on_board
from tinyml.ir import Graph, check_graph
from tinyml.kernels import select
from tinyml.resources import data_dir
from tinyml.targets.cores import CORES, FPU

#: a core without an FPU: every float layer takes its portable kernel there
PORTABLE_CORE = CORES["cortex-m3"]
FPU_CORES = [c for c in CORES.values() if FPU in c.features]
KERNELS = data_dir("codegen") / "kernels"


def kernel_on(graph: Graph, core) -> str:
    (choice,) = select(graph, core).values()
    return choice.call.kernel


def assert_chosen(graph: Graph, kernel: str, portable: str) -> None:
    """The variant on every core with an FPU (the host too), the portable kernel elsewhere."""
    for core in CORES.values():
        want = kernel if FPU in core.features else portable
        assert kernel_on(graph, core) == want, core.name


def _write(graph: Graph, outdir: Path, core) -> Path:
    check_graph(graph)
    write_library(lower_model(graph, "model", core), outdir)
    return outdir


def assert_matches_portable_and_ref(graph: Graph, inputs: list[np.ndarray], tmp_path: Path, *,
                                    sanitize: bool = False) -> None:
    """Host: the variant's outputs equal the portable kernel's bit for bit, and the reference's
    within the float tolerance."""
    got = run_host(_write(graph, tmp_path / "variant", CORES["host"]), inputs, sanitize=sanitize)
    portable = run_host(_write(graph, tmp_path / "portable", PORTABLE_CORE), inputs)
    for g, p, w in zip(got, portable, run_ref(graph, inputs)):
        np.testing.assert_array_equal(g, p)
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-4)


def assert_board_matches_portable(graph: Graph, inputs: list[np.ndarray], tmp_path: Path,
                                  board: str = "mps2-an386") -> tuple[int, int]:
    """The same in QEMU, both libraries built with the board's flags; returns the instructions
    of one inference (variant, portable)."""
    from tinyml.targets.boards import get_board
    core = get_board(board).core
    got, fast = run_on_board(_write(graph, tmp_path / "variant", core), board, inputs, timeout=300)
    portable, slow = run_on_board(_write(graph, tmp_path / "portable", PORTABLE_CORE), board,
                                  inputs, timeout=300)
    for g, p, w in zip(got, portable, run_ref(graph, inputs)):
        np.testing.assert_array_equal(g, p)
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-4)
    return fast.instructions, slow.instructions


def float_instructions(kernel: str, core) -> dict[str, int]:
    """VFP arithmetic mnemonics in the kernel's code under the firmware's flags (-O2, GNU C:
    GCC contracts a * b + c there)."""
    asm = subprocess.run(["arm-none-eabi-gcc", *core.cflags, "-O2", "-std=gnu11", f"-I{KERNELS}",
                          "-S", "-o", "-", str(KERNELS / f"{kernel}.c")],
                         capture_output=True, text=True, check=True).stdout
    ops = re.findall(r"^\s+(v(?:fma|fms|mla|mls|mul|add|sub)\.f32)\b", asm, re.M)
    return {op: ops.count(op) for op in set(ops)}


def assert_same_contraction(kernel: str, portable: str) -> None:
    """Both kernels multiply-add with fused VFMA and never round a product on its own (VMUL),
    on every FPU core the firmware builds for; so contraction cannot tell them apart."""
    for core in (c for c in FPU_CORES if not c.is_host):
        for name in (kernel, portable):
            ops = float_instructions(name, core)
            assert ops.get("vfma.f32", 0) > 0, (name, core.name, ops)
            assert not {"vmul.f32", "vmla.f32", "vfms.f32", "vmls.f32"} & ops.keys(), (
                name, core.name, ops)
