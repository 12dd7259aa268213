"""Does a compiled model fit a board? Checked by `tinyml compile --board` before anything is written.

flash = weights and constants (exact) + code (estimate)
RAM   = arena + inputs + outputs outside it (exact) + stack and runtime (estimate); with
        `--io arena` the inputs and outputs are inside the arena and count there

The code estimate is a fixed part (startup, UART, the serial protocol) plus a part per
distinct kernel and per layer; its constants bound the eval firmware's measured code on the
shared models (arm-none-eabi-gcc -O2, Cortex-M4: hello_world 3,696 B, ad01 4,328 B, kws
8,676 B, ResNet-8 8,772 B, vww 11,384 B). `tinyml build` links and prints the real figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyml.errors import TinymlError
from tinyml.targets.boards import BOARDS, Board

CODE_FIXED_BYTES = 3 * 1024
CODE_PER_KERNEL_BYTES = 768
CODE_PER_LAYER_BYTES = 160
STACK_BYTES = 2 * 1024   # kernels' frames and the serve loop; the measured peak is under 1 KB


class BudgetError(TinymlError):
    """The model does not fit the board's flash or RAM."""


@dataclass(frozen=True)
class Need:
    """What one memory must hold: (part, bytes, estimated?) in the order they are named;
    estimates print as ~N."""
    memory: str
    parts: tuple[tuple[str, int, bool], ...]

    @property
    def total(self) -> int:
        return sum(n for _, n, _ in self.parts)

    def describe(self) -> str:
        return " + ".join(f"{name} {'~' if est else ''}{n:,}" for name, n, est in self.parts)


def _tensor_bytes(tensors: list[dict]) -> int:
    return sum(int(np.prod(t["shape"], dtype=np.int64)) * np.dtype(t["dtype"]).itemsize
               for t in tensors)


def needs(report: dict) -> tuple[Need, Need]:
    """(flash, RAM) of a compiled model, from its report."""
    kernels = {layer["kernel"] for layer in report["layers"]}
    code = (CODE_FIXED_BYTES + CODE_PER_KERNEL_BYTES * len(kernels)
            + CODE_PER_LAYER_BYTES * len(report["layers"]))
    flash = Need("flash", (("weights", int(report["flash_bytes"]), False), ("code", code, True)))
    io = () if report.get("io_in_arena") else (
        ("input", _tensor_bytes(report["inputs"]), False),
        ("output", _tensor_bytes(report["outputs"]), False))
    train = report.get("train")
    arena = (("train arena", int(train["train_arena_bytes"]), False),
             ("state", int(train["state_bytes"]), False)) if train else (
        ("arena", int(report["arena_bytes"]), False),)
    ram = Need("RAM", (*arena, *io, ("stack", STACK_BYTES, True)))
    return flash, ram


def arena_budget(sram: int, io_outside: int) -> int:
    """What the arena may take of `sram`: needs()'s RAM total with the arena left out."""
    return sram - io_outside - STACK_BYTES


def _size(n: int) -> str:
    return f"{n // 1024 // 1024} MB" if n % (1024 * 1024) == 0 else (
        f"{n // 1024} KB" if n % 1024 == 0 else f"{n:,} bytes")


def check_fits(report: dict, board: Board, model: str) -> tuple[Need, Need]:
    """Raise one line naming each memory that overflows and by how much; else (flash, RAM)."""
    flash, ram = needs(report)
    over = [f"{need.memory} needs {need.total:,} bytes ({need.describe()}) against "
            f"{_size(capacity)}, over by {need.total - capacity:,} bytes"
            for need, capacity in ((flash, board.flash.size), (ram, board.ram.size))
            if need.total > capacity]
    if ram.total > board.ram.size and (where := peak_text(report)):
        over[-1] += f" ({where})"
    if over:
        raise BudgetError(f"does not fit {board.name}: " + "; ".join(over), model=model)
    return flash, ram


def flash_warning(report: dict, core_name: str) -> str | None:
    """With --target alone: a warning when the weights exceed every known board of the core."""
    boards = [b for b in BOARDS.values() if b.core_name == core_name]
    if not boards:
        return None
    largest = max(boards, key=lambda b: b.flash.size)
    weights = int(report["flash_bytes"])
    if weights <= largest.flash.size:
        return None
    return (f"the weights ({weights:,} bytes) exceed the flash of every known {core_name} board "
            f"(largest: {largest.name}, {_size(largest.flash.size)})")


def parse_size(text: str) -> int:
    """'65536', '64K', '64KB', '1M' -> bytes (K = 1024)."""
    units = {"": 1, "K": 1024, "KB": 1024, "KIB": 1024, "M": 1024 * 1024, "MB": 1024 * 1024,
             "MIB": 1024 * 1024}
    t = text.strip().upper()
    digits = len(t) - len(t.lstrip("0123456789"))
    if digits == 0 or t[digits:] not in units:
        raise ValueError(f"not a size: {text!r} (give bytes, or K or M: 64K)")
    return int(t[:digits]) * units[t[digits:]]


def peak_text(report: dict) -> str:
    """Where the peak is and what is alive there, for one-line budget messages."""
    from tinyml.text import printable
    step = report.get("peak_step")
    if step is None:
        return ""
    alive = ", ".join(f"{printable(b['buffer'], 40)} {b['bytes']:,}"
                      for b in report.get("peak_live", [])[:4])
    patch = report.get("patch_plan")
    if patch and step in patch["layers"]:
        return (f"the peak is the patch stage (layers {patch['layers'][0]}-{patch['layers'][-1]}, "
                f"{patch['grid'][0]}x{patch['grid'][1]} patches): {alive}")
    layer = report["layers"][step]
    return f"the peak is step {step} ({layer['op']} {printable(layer['name'], 40)}): {alive}"


def check_train_sram(report: dict, sram: int, model: str) -> Need:
    """Raise one line when training needs more RAM than `sram` (--train-sram): the train
    arena, the state, the input and output buffers and the estimated stack."""
    _, ram = needs(report)
    if ram.total <= sram:
        return ram
    train = report["train"]
    raise BudgetError(f"training does not fit --train-sram {_size(sram)}: RAM needs "
                      f"{ram.total:,} bytes ({ram.describe()}; of the train arena, "
                      f"{train['saved_bytes']:,} hold the forward tensors the backward reads), "
                      f"over by {ram.total - sram:,} bytes: train fewer layers", model=model)


def check_sram(report: dict, sram: int, model: str) -> Need:
    """Raise one line when RAM total (arena + input and output outside it + estimated stack)
    exceeds `sram`: the least total the planner reached, the peak step and the buffers alive
    there; else the RAM need."""
    _, ram = needs(report)
    if ram.total <= sram:
        return ram
    where = peak_text(report)
    raise BudgetError(f"does not fit --sram {_size(sram)}: RAM needs {ram.total:,} bytes at "
                      f"least ({ram.describe()}; the least the planner reaches), over by "
                      f"{ram.total - sram:,} bytes" + (f"; {where}" if where else ""), model=model)
