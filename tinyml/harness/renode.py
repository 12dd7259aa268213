"""Run the eval firmware in Renode (`--emulator renode`), speaking the framed protocol.

For each board we write a .resc: create a machine, load a platform (Renode's own board
file where Renode models that chip, else a .repl written here from tinyml's memory map),
load the ELF, set virtual time (`PerformanceInMips` = the board clock in MHz, one
instruction per cycle), put the console UART on a raw server socket (`false`: no telnet
negotiation bytes in our binary frames) and start. The host then talks to
`socket://127.0.0.1:PORT` with tinyml.harness.protocol, as with QEMU.

Renode has no instruction-count plugin here: invoke results carry what the firmware
measures itself (DWT cycles on real-board builds, nothing on mps2 builds).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyml.harness.emulator import EmulatorSession, free_port
from tinyml.harness.errors import HarnessError
from tinyml.harness.firmware import Firmware, build_firmware
from tinyml.harness.protocol import Device, InvokeResult
from tinyml.harness.inputs import as_batch
from tinyml.harness.stats import RunStats, report_macs
from tinyml.targets.boards import Board, get_board

RENODE = "renode"
NOT_INSTALLED = ("renode is not on PATH: it is not packaged for Debian, PyPI or npm; install it "
                 "from https://renode.io (the portable Linux build) to use --emulator renode")


@dataclass(frozen=True)
class RenodeUart:
    name: str      # the peripheral's name in the platform: `connector Connect sysbus.<name> term`
    model: str     # the Renode class that emulates tinyml's UART driver for the board


# Which Renode UART model speaks each of tinyml's register-level drivers.
UART_MODELS = {
    "cmsdk-apb": "UART.CMSDK_APB_UART",
    "stm32-usart": "UART.STM32F7_USART",      # v2 register layout (F7, L4, G4, H7)
    "stm32-lpuart": "UART.STM32F7_USART",     # same model with lowPowerMode: true
    "nrf52-uarte": "UART.NRF52840_UART",      # with easyDMA: true (UARTE)
    "nrf51-uart": "UART.NRF52840_UART",       # with easyDMA: false (the legacy UART)
}

# Boards Renode ships a platform for, and the name of our console UART in it.
RENODE_PLATFORMS: dict[str, tuple[str, str]] = {
    "stm32f746g-disco": ("platforms/boards/stm32f7_discovery-bb.repl", "usart1"),
    "nrf52840-dk": ("platforms/boards/nrf52840dk_nrf52840.repl", "uart0"),
}

# Renode's cpuType for each tinyml core (its FPU variants are separate types).
CPU_TYPES = {"cortex-m0": "cortex-m0", "cortex-m0plus": "cortex-m0+", "cortex-m3": "cortex-m3",
             "cortex-m4": "cortex-m4f",
             "cortex-m7": "cortex-m7", "cortex-m33": "cortex-m33", "cortex-m55": "cortex-m55"}


def renode_uart(board: Board) -> RenodeUart:
    if board.uart.kind not in UART_MODELS:
        raise HarnessError(f"{board.name}: no Renode model for UART kind {board.uart.kind}")
    if board.name in RENODE_PLATFORMS:
        return RenodeUart(RENODE_PLATFORMS[board.name][1], UART_MODELS[board.uart.kind])
    name = {"cmsdk-apb": "uart0", "stm32-lpuart": "lpuart1"}.get(board.uart.kind, "uart0")
    return RenodeUart(name, UART_MODELS[board.uart.kind])


def board_repl(board: Board) -> str:
    """A minimal platform from tinyml's memory map: core, NVIC, flash, SRAM, console UART.

    Only what the eval firmware touches; other peripheral accesses are logged by Renode
    and read as 0, which the firmware never waits on.
    """
    uart = renode_uart(board)
    u = board.uart
    mhz = max(1, board.clock_hz // 1_000_000)
    lines = [
        f"// {board.name}: written by tinyml from tinyml/targets/boards.py",
        "nvic: IRQControllers.NVIC @ sysbus 0xE000E000",
        f"    systickFrequency: {board.clock_hz}",
        "    -> cpu@0",
        "",
        "cpu: CPU.CortexM @ sysbus",
        f'    cpuType: "{CPU_TYPES[board.core_name]}"',
        "    nvic: nvic",
        f"    PerformanceInMips: {mhz}",
        "",
        f"flash: Memory.MappedMemory @ sysbus 0x{board.flash.origin:08X}",
        f"    size: 0x{board.flash.size:X}",
        "",
        f"sram: Memory.MappedMemory @ sysbus 0x{board.ram.origin:08X}",
        f"    size: 0x{board.ram.size:X}",
        "",
        f"{uart.name}: {uart.model} @ sysbus 0x{u.base:08X}",
    ]
    if u.kind == "cmsdk-apb":
        # The firmware divides this clock for its baud rate; RX wakes WFI through the NVIC.
        lines += [f"    frequency: {board.clock_hz}", f"    RxInterrupt -> nvic@{u.rx_irq}",
                  f"    TxInterrupt -> nvic@{u.rx_irq + 1}"]
    elif u.kind in ("stm32-usart", "stm32-lpuart"):
        lines += [f"    frequency: {board.clock_hz}"]
        if u.kind == "stm32-lpuart":
            lines += ["    lowPowerMode: true"]
        lines += [f"    -> nvic@{u.rx_irq}"]
    else:   # nrf52-uarte, nrf51-uart
        dma = "true" if u.kind == "nrf52-uarte" else "false"
        lines += [f"    easyDMA: {dma}", f"    -> nvic@{u.rx_irq}"]
    if not board.emulated and board.core.arch != "armv6-m":
        # Real-board builds time inferences with DWT CYCCNT; Renode's DWT counts at `frequency`.
        lines += ["", "dwt: Miscellaneous.DWT @ sysbus 0xE0001000", f"    frequency: {board.clock_hz}"]
    return "\n".join(lines) + "\n"


def _token(path: Path) -> str:
    """A Renode `@path` argument; Renode splits words on spaces, so refuse paths with them."""
    text = str(Path(path).resolve())
    if any(c.isspace() or c == '"' for c in text):
        raise HarnessError(f"Renode cannot load {text!r}: the path has a space or a quote")
    return "@" + text


def resc_script(board: Board, elf: Path, port: int, repl: Path | None = None) -> str:
    """The Renode monitor script: platform, ELF, virtual time, UART on a raw TCP socket, start."""
    uart = renode_uart(board)
    platform = "@" + RENODE_PLATFORMS[board.name][0] if board.name in RENODE_PLATFORMS else None
    if platform is None:
        if repl is None:
            raise HarnessError(f"{board.name}: Renode ships no platform for it; pass the .repl written by board_repl")
        platform = _token(repl)
    mhz = max(1, board.clock_hz // 1_000_000)
    return "\n".join([
        f":name: tinyml {board.name}",
        f":description: tinyml eval firmware on {board.name}, serving the framed protocol on TCP port {port}",
        "",
        f'mach create "{board.name}"',
        f"machine LoadPlatformDescription {platform}",
        f"sysbus LoadELF {_token(elf)}",
        # The vector table sits at the start of flash; say so rather than let Renode guess.
        f"sysbus.cpu VectorTableOffset 0x{board.flash.origin:08X}",
        f"sysbus.cpu PerformanceInMips {mhz}",
        f'emulation CreateServerSocketTerminal {port} "term" false',
        f"connector Connect sysbus.{uart.name} term",
        "start",
        "",
    ])


def write_scripts(fw: Firmware, folder: Path, port: int) -> Path:
    """Copy the ELF, write the .repl (if needed) and the .resc into `folder`; returns the .resc."""
    folder.mkdir(parents=True, exist_ok=True)
    elf = folder / "firmware.elf"
    shutil.copyfile(fw.elf, elf)
    repl = None
    if fw.board.name not in RENODE_PLATFORMS:
        repl = folder / f"{fw.board.name}.repl"
        repl.write_text(board_repl(fw.board))
    resc = folder / "tinyml.resc"
    resc.write_text(resc_script(fw.board, elf, port, repl))
    return resc


def renode_command(resc: Path) -> list[str]:
    """Headless Renode (no GUI, no monitor window, plain log on stdout) running the script."""
    return [RENODE, "--disable-xwt", "--plain", "-e", f"include {_token(resc)}"]


class RenodeSession(EmulatorSession):
    """Renode serving the protocol on a local TCP port; `device` is the protocol client.

    Same shape as QemuSession: `with RenodeSession(fw) as s: outs, res = s.device.run([x])`.
    """

    stop_timeout = 10.0
    log_name = "renode.log"

    def __init__(self, fw: Firmware, *, timeout: float = 5.0, retries: int = 3,
                 connect_timeout: float = 60.0):
        if shutil.which(RENODE) is None:
            raise HarnessError(NOT_INSTALLED)
        self.fw = fw
        self.port = free_port()
        self._make_tmp("tinyml-renode-")
        try:
            self.script = write_scripts(fw, self._tmp, self.port)
        except OSError as e:
            self.close()
            raise HarnessError(f"cannot write the Renode scripts into {self._tmp}: {e}") from None
        except BaseException:   # e.g. a path Renode cannot load: leave no folder behind
            self.close()
            raise
        self._spawn(renode_command(self.script), with_stdout=True, stdin=subprocess.DEVNULL, cwd=self._tmp)
        # Renode (Mono/.NET) takes seconds to start; the socket opens once the script ran.
        self._connect(lambda: _RenodeDevice(f"socket://127.0.0.1:{self.port}", timeout=timeout,
                                            retries=retries),
                      f"Renode did not open its UART socket {self.port}",
                      time.monotonic() + connect_timeout, 0.2)


class _RenodeDevice(Device):
    def invoke(self) -> InvokeResult:
        r = super().invoke()
        # Renode's platform files may tag the DWT range instead of modelling it: a cycle
        # count of 0 there is not a measurement.
        if r.counter == "cycles" and r.count == 0:
            return InvokeResult(r.status, "none", 0, r.peak_stack)
        return r


def run_on_renode(model_dir: str | Path, board: str, inputs: list[np.ndarray], *,
                  build_dir: str | Path | None = None) -> tuple[list[np.ndarray], RunStats]:
    """`tinyml run --emulator renode`: one sample or a batch [N, *shape] over the protocol.

    Returns outputs and RunStats like QEMU's, with the counter the firmware reported (no
    per-layer counts: those come from the QEMU plugin).
    """
    if shutil.which(RENODE) is None:   # before a build that could not be used
        raise HarnessError(NOT_INSTALLED)
    fw = build_firmware(model_dir, get_board(board), build_dir)
    batch, batched = as_batch(inputs, fw.model)
    outs, results = [], []
    start = time.monotonic()
    with RenodeSession(fw) as session:
        for n in range(batch[0].shape[0]):
            got, res = session.device.run([b[n] for b in batch])
            outs.append(got)
            results.append(res)
    wall = time.monotonic() - start
    outputs = [np.stack([o[i] for o in outs]) for i in range(len(fw.model.outputs))]
    if not batched:
        outputs = [o[0] for o in outputs]
    macs, layers = report_macs(fw.model.folder)
    counter = results[0].counter
    total = results[0].count if counter != "none" else None
    return outputs, RunStats(
        fw.board.name, next((r.status for r in results if r.status), 0),
        total if counter == "instructions" else None, [], fw.text, fw.data, fw.bss,
        max(r.peak_stack for r in results), fw.model.arena_size, macs, wall, layers,
        sample_instructions=[r.count for r in results] if counter != "none" else [],
        emulator="renode", counter=counter, cycles=total if counter == "cycles" else None)
