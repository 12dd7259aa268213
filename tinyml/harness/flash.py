"""`tinyml flash`: build the eval firmware for a real board and write it with a probe tool.

    pyocd    pyocd flash --target <pyocd target> firmware.elf
    openocd  openocd -f <board config> -c "program firmware.elf verify reset exit"
    stlink   st-flash --reset write firmware.bin <flash origin>      (ST boards only)

Command construction is separate from running it so tests can check every board and
probe without hardware. A missing tool, or a tool that fails (no probe attached, wrong
target), is one HarnessError line naming the tool and what it said.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tinyml.errors import UsageError
from tinyml.harness.errors import HarnessBuildError, HarnessError
from tinyml.harness.files import replacing
from tinyml.harness.firmware import Firmware, build_firmware
from tinyml.targets.boards import Board, get_board

PROBES = ("pyocd", "openocd", "stlink")
TOOLS = {"pyocd": "pyocd", "openocd": "openocd", "stlink": "st-flash"}
INSTALL = {"pyocd": "pip install pyocd", "openocd": "apt-get install openocd",
           "stlink": "apt-get install stlink-tools"}
OBJCOPY = "arm-none-eabi-objcopy"


@dataclass(frozen=True)
class Images:
    elf: Path
    bin: Path
    hex: Path


@dataclass(frozen=True)
class FlashResult:
    board: str
    probe: str
    command: list[str]
    images: Images
    output: str


def probes_for(board: Board) -> list[str]:
    """The probes that can flash `board`, in order of preference."""
    found = []
    if board.pyocd_target:
        found.append("pyocd")
    if board.openocd_config:
        found.append("openocd")
    if board.vendor == "st":
        found.append("stlink")
    return found


def _tcl_word(path: Path) -> str:
    """A path as one Tcl word for openocd's -c (braces keep spaces and brackets literal)."""
    text = str(path)
    return f"{{{text}}}" if re.search(r"[\s\[\]{}$\\;\"]", text) else text


def flash_command(board: Board, probe: str, images: Images) -> list[str]:
    """The command that writes `images` to `board` with `probe`."""
    if board.emulated:
        raise HarnessError(f"{board.name} is emulated: run it with `tinyml run --board {board.name}`, "
                           "there is nothing to flash")
    if probe not in PROBES:
        raise HarnessError(f"unknown probe {probe!r}; choose one of {', '.join(PROBES)}")
    if probe not in probes_for(board):
        raise HarnessError(f"{board.name} cannot be flashed with {probe}; use "
                           f"{' or '.join(probes_for(board)) or 'its vendor tool'}")
    if probe == "pyocd":
        return [TOOLS[probe], "flash", "--target", board.pyocd_target, str(images.elf)]
    if probe == "openocd":
        return [TOOLS[probe], "-f", board.openocd_config,
                "-c", f"program {_tcl_word(images.elf)} verify reset exit"]
    return [TOOLS[probe], "--reset", "write", str(images.bin), f"0x{board.flash.origin:08x}"]


def choose_probe(board: Board, probe: str | None) -> str:
    """`probe` if given, else the first of the board's probes whose tool is on PATH."""
    if probe:
        return probe
    usable = probes_for(board)
    for p in usable:
        if shutil.which(TOOLS[p]):
            return p
    hints = "; ".join(f"{TOOLS[p]} ({INSTALL[p]})" for p in usable)
    raise HarnessError(f"no flash tool for {board.name} on PATH: install one of {hints}")


def make_images(fw: Firmware) -> Images:
    """The .elf plus .bin and .hex beside it (st-flash wants raw bytes at an address)."""
    if shutil.which(OBJCOPY) is None:
        raise HarnessError(f"{OBJCOPY} not found: install gcc-arm-none-eabi")
    images = Images(fw.elf, fw.elf.with_suffix(".bin"), fw.elf.with_suffix(".hex"))
    for fmt, out in (("binary", images.bin), ("ihex", images.hex)):
        with replacing(out) as tmp:   # a concurrent flash never writes a half-made image
            done = subprocess.run([OBJCOPY, "-O", fmt, str(fw.elf), str(tmp)], capture_output=True, text=True)
            if done.returncode:
                raise HarnessBuildError(f"{OBJCOPY} -O {fmt} failed: {' '.join(done.stderr.split())[:200]}")
    return images


def _last_words(text: str) -> str:
    """The line a user needs from a tool's output: its last error, else its last line."""
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    errors = [l for l in lines if re.search(r"error|fail|not found|no .*(probe|device|target)", l, re.I)]
    return (errors or lines or ["(no output)"])[-1][:240]


def run_flash(board: Board, probe: str, images: Images, *, timeout: float = 180.0) -> FlashResult:
    command = flash_command(board, probe, images)
    tool = command[0]
    if shutil.which(tool) is None:
        raise HarnessError(f"{tool} not found on PATH: {INSTALL[probe]} (or choose another --probe: "
                           f"{', '.join(p for p in probes_for(board) if p != probe) or 'none'})")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise HarnessError(f"{tool} did not finish within {timeout:g} s flashing {board.name}") from None
    output = done.stdout + done.stderr
    if done.returncode:
        raise HarnessError(f"{tool} failed flashing {board.name} (exit {done.returncode}): "
                           f"{_last_words(output)}; is the board plugged in and its probe free?")
    return FlashResult(board.name, probe, command, images, output)


def flash(model_dir: str | Path, board: str, probe: str | None = None, *,
          build_dir: str | Path | None = None) -> FlashResult:
    """Build the firmware for `board`, write it with `probe` (default: the first tool found)."""
    try:
        b = get_board(board)
    except KeyError as e:
        raise UsageError(e.args[0]) from None   # a wrong board is exit 2 in every command
    if b.emulated:
        raise UsageError(f"{b.name} is emulated: run it with `tinyml run --board {b.name}`, "
                         "there is nothing to flash")
    chosen = choose_probe(b, probe)
    flash_command(b, chosen, Images(Path("-"), Path("-"), Path("-")))   # refuse before building
    fw = build_firmware(model_dir, b, build_dir)
    return run_flash(b, chosen, make_images(fw))
