"""Boards: memory map, console UART, clock, and how to run or flash them.

QEMU machines (mps2-*, mps3-an547, microbit) run in the emulator; the real boards are
flashed with a probe. Addresses are the ones the firmware links and talks to: on mps2-an505
and mps3-an547 (TrustZone) the firmware runs secure, so flash, SRAM and the UART use their
secure aliases.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from tinyml.targets.cores import Core, get_core


@dataclass(frozen=True)
class Memory:
    origin: int
    size: int


@dataclass(frozen=True)
class Uart:
    kind: str        # cmsdk-apb | stm32-usart | stm32-lpuart | nrf52-uarte | nrf51-uart
    base: int
    rx_irq: int      # NVIC line of RX; the driver sleeps in WFI on it


@dataclass(frozen=True)
class Board:
    name: str
    core_name: str
    description: str
    flash: Memory
    ram: Memory
    uart: Uart
    clock_hz: int                     # what the firmware runs at: the reset clock (no PLL set-up)
    max_clock_hz: int | None = None   # the chip's rated clock, where it is above the reset clock
    qemu_machine: str | None = None   # None: a real board, never emulated here
    pyocd_target: str | None = None
    openocd_config: str | None = None
    vendor: str = "arm"

    @property
    def core(self) -> Core:
        return get_core(self.core_name)

    @property
    def emulated(self) -> bool:
        return self.qemu_machine is not None


_K, _M = 1024, 1024 * 1024

_BOARDS = (
    Board("mps2-an385", "cortex-m3", "Arm MPS2 AN385 (Cortex-M3), QEMU",
          Memory(0x00000000, 4 * _M), Memory(0x20000000, 4 * _M),
          Uart("cmsdk-apb", 0x40004000, 0), 25_000_000, qemu_machine="mps2-an385"),
    Board("mps2-an386", "cortex-m4", "Arm MPS2 AN386 (Cortex-M4F), QEMU",
          Memory(0x00000000, 4 * _M), Memory(0x20000000, 4 * _M),
          Uart("cmsdk-apb", 0x40004000, 0), 25_000_000, qemu_machine="mps2-an386"),
    Board("mps2-an500", "cortex-m7", "Arm MPS2 AN500 (Cortex-M7), QEMU",
          Memory(0x00000000, 4 * _M), Memory(0x20000000, 4 * _M),
          Uart("cmsdk-apb", 0x40004000, 0), 25_000_000, qemu_machine="mps2-an500"),
    Board("mps2-an505", "cortex-m33", "Arm MPS2+ AN505 (Cortex-M33, SSE-200), QEMU",
          Memory(0x10000000, 4 * _M), Memory(0x38000000, 4 * _M),
          Uart("cmsdk-apb", 0x50200000, 32), 20_000_000, qemu_machine="mps2-an505"),
    # SSE-300: the reset vector is read at 0 (SVTOR), the ITCM that 0x10000000 aliases;
    # RAM is the 4 MB ISRAM behind 0x31000000. UART0 RX is line 33 (QEMU hw/arm/mps2-tz.c).
    Board("mps3-an547", "cortex-m55", "Arm MPS3 AN547 (Cortex-M55, SSE-300), QEMU",
          Memory(0x10000000, 512 * _K), Memory(0x31000000, 4 * _M),
          Uart("cmsdk-apb", 0x59303000, 33), 32_000_000, qemu_machine="mps3-an547"),
    # nRF51822: UART0 is peripheral 2, so its interrupt is line 2; HCLK is fixed at 16 MHz.
    Board("microbit", "cortex-m0", "BBC micro:bit (nRF51822, Cortex-M0), QEMU",
          Memory(0x00000000, 256 * _K), Memory(0x20000000, 16 * _K),
          Uart("nrf51-uart", 0x40002000, 2), 16_000_000, qemu_machine="microbit", vendor="nordic"),
    Board("nucleo-l4r5zi", "cortex-m4", "ST NUCLEO-L4R5ZI (STM32L4R5ZI), MLPerf Tiny reference",
          Memory(0x08000000, 2 * _M), Memory(0x20000000, 640 * _K),
          Uart("stm32-lpuart", 0x40008000, 70), 4_000_000, max_clock_hz=120_000_000,
          pyocd_target="stm32l4r5zitx", openocd_config="board/st_nucleo_l4.cfg", vendor="st"),
    Board("stm32f746g-disco", "cortex-m7", "ST STM32F746G-DISCO (STM32F746NG)",
          Memory(0x08000000, 1 * _M), Memory(0x20000000, 320 * _K),
          Uart("stm32-usart", 0x40011000, 37), 16_000_000, max_clock_hz=216_000_000,
          pyocd_target="stm32f746nghx", openocd_config="board/stm32f7discovery.cfg", vendor="st"),
    Board("nucleo-g071rb", "cortex-m0plus", "ST NUCLEO-G071RB (STM32G071RB)",
          Memory(0x08000000, 128 * _K), Memory(0x20000000, 36 * _K),
          Uart("stm32-usart", 0x40004400, 28), 16_000_000, max_clock_hz=64_000_000,
          pyocd_target="stm32g071rbtx", openocd_config="board/st_nucleo_g0.cfg", vendor="st"),
    Board("nrf52840-dk", "cortex-m4", "Nordic nRF52840-DK (nRF52840)",
          Memory(0x00000000, 1 * _M), Memory(0x20000000, 256 * _K),
          Uart("nrf52-uarte", 0x40002000, 2), 64_000_000,
          pyocd_target="nrf52840", openocd_config="board/nordic_nrf52_dk.cfg", vendor="nordic"),
)

BOARDS: dict[str, Board] = {b.name: b for b in _BOARDS}


def get_board(name: str) -> Board:
    key = name.strip().lower()
    if key not in BOARDS:
        raise KeyError(f"unknown board {name!r}; known: {', '.join(BOARDS)}")
    return BOARDS[key]


# Tools tinyml drives, by role; `tinyml targets` shows which are on PATH.
TOOLS = {
    "arm-none-eabi-gcc": "cross compiler",
    "arm-none-eabi-size": "firmware size",
    "gcc": "host compiler (host runs, QEMU plugin)",
    "qemu-system-arm": "emulator (default)",
    "renode": "emulator (optional)",
    "pyocd": "flash",
    "openocd": "flash",
    "st-flash": "flash (ST boards)",
}


def available_tools() -> dict[str, str | None]:
    """Each known tool with its path on PATH, or None when absent."""
    return {tool: shutil.which(tool) for tool in TOOLS}
