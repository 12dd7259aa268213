"""Renode backend: the generated .repl/.resc line by line, and a live run when Renode exists.

Renode cannot be installed on our machines (not packaged for Debian, PyPI or npm; its build
needs NuGet): the live test skips with that reason and never passes without Renode.
"""

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from tiny_model import N_IN, reference
from tinyml.harness.errors import HarnessError
from tinyml.harness.firmware import Firmware
from tinyml.harness import renode
from tinyml.targets.boards import BOARDS, get_board

PORT = 45123


def _entries(repl: str) -> dict[str, dict]:
    """name -> {type, address, attrs, irqs} for the simple .repl subset board_repl writes."""
    out, current = {}, None
    for line in repl.splitlines():
        if not line.strip() or line.startswith("//"):
            continue
        m = re.match(r"(\w+): ([\w.]+) @ sysbus(?: (0x[0-9A-F]+))?$", line)
        if m:
            current = out[m.group(1)] = dict(type=m.group(2), address=m.group(3) and int(m.group(3), 16),
                                              attrs={}, irqs=[])
            continue
        assert line.startswith("    "), f"unexpected top-level line {line!r}"
        body = line.strip()
        if "->" in body:
            current["irqs"].append(body)
        else:
            key, _, value = body.partition(": ")
            current["attrs"][key] = value
    return out


def _fake_fw(tmp_path: Path, board) -> Firmware:
    elf = tmp_path / "build" / "firmware.elf"
    elf.parent.mkdir(parents=True, exist_ok=True)
    elf.write_bytes(b"\x7fELF fake")
    return Firmware(elf, board, None, 0, 0, 0, {}, 0, (), 0)


@pytest.mark.parametrize("name", [n for n in BOARDS if n not in renode.RENODE_PLATFORMS])
def test_inline_platform_follows_the_board(name):
    board = get_board(name)
    e = _entries(renode.board_repl(board))
    assert e["cpu"]["type"] == "CPU.CortexM" and e["cpu"]["address"] is None
    assert e["cpu"]["attrs"]["cpuType"] == f'"{renode.CPU_TYPES[board.core_name]}"'
    assert e["cpu"]["attrs"]["nvic"] == "nvic"
    assert e["cpu"]["attrs"]["PerformanceInMips"] == str(board.clock_hz // 1_000_000)
    assert e["nvic"]["type"] == "IRQControllers.NVIC" and e["nvic"]["address"] == 0xE000E000
    assert e["nvic"]["irqs"] == ["-> cpu@0"]
    assert (e["flash"]["address"], int(e["flash"]["attrs"]["size"], 16)) == (board.flash.origin, board.flash.size)
    assert (e["sram"]["address"], int(e["sram"]["attrs"]["size"], 16)) == (board.ram.origin, board.ram.size)
    uart = renode.renode_uart(board)
    u = e[uart.name]
    assert u["type"] == renode.UART_MODELS[board.uart.kind] and u["address"] == board.uart.base
    if board.uart.kind.startswith("nrf"):   # Nordic UART models take no clock, but DMA or not
        assert u["attrs"]["easyDMA"] == ("true" if board.uart.kind == "nrf52-uarte" else "false")
    else:
        assert u["attrs"].get("frequency") == str(board.clock_hz)
    rx = f"nvic@{board.uart.rx_irq}"
    assert any(i.endswith(rx) for i in u["irqs"]), u["irqs"]


def test_uart_models_match_the_drivers():
    an386 = _entries(renode.board_repl(get_board("mps2-an386")))["uart0"]
    assert an386["type"] == "UART.CMSDK_APB_UART"
    assert an386["irqs"] == ["RxInterrupt -> nvic@0", "TxInterrupt -> nvic@1"]
    an505 = _entries(renode.board_repl(get_board("mps2-an505")))
    assert an505["uart0"]["address"] == 0x50200000 and "RxInterrupt -> nvic@32" in an505["uart0"]["irqs"]
    assert an505["cpu"]["attrs"]["cpuType"] == '"cortex-m33"'
    assert _entries(renode.board_repl(get_board("mps2-an385")))["cpu"]["attrs"]["cpuType"] == '"cortex-m3"'
    lp = _entries(renode.board_repl(get_board("nucleo-l4r5zi")))
    assert lp["lpuart1"]["type"] == "UART.STM32F7_USART" and lp["lpuart1"]["attrs"]["lowPowerMode"] == "true"
    assert lp["lpuart1"]["address"] == 0x40008000 and lp["lpuart1"]["irqs"] == ["-> nvic@70"]
    # Real-board builds read DWT CYCCNT; QEMU-board builds do not, and get no DWT.
    assert lp["dwt"]["address"] == 0xE0001000 and lp["dwt"]["attrs"]["frequency"] == "4000000"
    assert "dwt" not in an505


@pytest.mark.parametrize("name", list(BOARDS))
def test_resc_lines(tmp_path, name):
    board = get_board(name)
    resc = renode.write_scripts(_fake_fw(tmp_path, board), tmp_path / "run", PORT)
    lines = [l for l in resc.read_text().splitlines() if l and not l.startswith(":")]
    elf = (tmp_path / "run" / "firmware.elf").resolve()
    assert elf.read_bytes() == b"\x7fELF fake"                       # the ELF Renode loads is ours
    uart = renode.renode_uart(board).name
    if name in renode.RENODE_PLATFORMS:
        platform = "@" + renode.RENODE_PLATFORMS[name][0]
        assert not list((tmp_path / "run").glob("*.repl"))
    else:
        repl = (tmp_path / "run" / f"{name}.repl").resolve()
        platform = f"@{repl}"
        assert uart in _entries(repl.read_text())
    assert lines == [
        f'mach create "{name}"',
        f"machine LoadPlatformDescription {platform}",
        f"sysbus LoadELF @{elf}",
        f"sysbus.cpu VectorTableOffset 0x{board.flash.origin:08X}",
        f"sysbus.cpu PerformanceInMips {board.clock_hz // 1_000_000}",
        f'emulation CreateServerSocketTerminal {PORT} "term" false',
        f"connector Connect sysbus.{uart} term",
        "start",
    ]


def test_renode_platform_uart_names():
    # Names of the console UART in Renode's own platform files (platforms/cpus/stm32f746.repl
    # has usart1 at 0x40011000 -> nvic@37; platforms/cpus/nrf52840.repl uart0 at 0x40002000).
    assert renode.renode_uart(get_board("stm32f746g-disco")).name == "usart1"
    assert get_board("stm32f746g-disco").uart.base == 0x40011000
    assert renode.renode_uart(get_board("nrf52840-dk")).name == "uart0"
    assert get_board("nrf52840-dk").uart.base == 0x40002000


def test_command_line(tmp_path):
    resc = tmp_path / "tinyml.resc"
    assert renode.renode_command(resc) == ["renode", "--disable-xwt", "--plain", "-e",
                                           f"include @{resc.resolve()}"]


def test_paths_with_spaces_are_refused(tmp_path):
    board = get_board("mps2-an386")
    with pytest.raises(HarnessError, match="space"):
        renode.resc_script(board, tmp_path / "my model" / "fw.elf", PORT, tmp_path / "b.repl")


def test_missing_renode_is_one_clear_error(tmp_path, monkeypatch, tiny_dir):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(HarnessError, match="renode is not on PATH"):
        renode.RenodeSession(_fake_fw(tmp_path, get_board("mps2-an386")))
    with pytest.raises(HarnessError, match="renode is not on PATH"):
        renode.run_on_renode(tiny_dir, "mps2-an386", [np.zeros((1, N_IN), np.int8)])


@pytest.mark.emulator
@pytest.mark.skipif(shutil.which("renode") is None,
                    reason="renode is not installed: not packaged for Debian, PyPI or npm, and its "
                           "build needs NuGet (FACTS.md); the generated scripts are tested above")
def test_live_renode_session(tiny_dir):
    from tinyml.harness.firmware import build_firmware
    fw = build_firmware(tiny_dir, "mps2-an386")
    xs = np.random.default_rng(5).integers(-128, 128, size=(3, 1, N_IN)).astype(np.int8)
    with renode.RenodeSession(fw) as s:
        assert s.device.info().name == "tiny"
        for x in xs:
            outs, res = s.device.run([x])
            for got, want in zip(outs, reference(x)):
                np.testing.assert_array_equal(got, want)
            assert res.status == 0


def test_run_on_renode_returns_run_stats(tiny_dir, tmp_path, monkeypatch):
    """Without Renode: a stand-in session serving the tiny model's outputs and DWT cycles."""
    from dataclasses import replace

    from tinyml.harness.model_dir import read_model_dir
    from tinyml.harness.protocol import InvokeResult
    from tinyml.harness.stats import RunStats

    fw = replace(_fake_fw(tmp_path, get_board("stm32f746g-disco")), model=read_model_dir(tiny_dir),
                 text=100, data=8, bss=40)

    class Session:
        def __init__(self, fw):
            self.device = self

        def run(self, xs):
            return reference(xs[0]), InvokeResult(0, "cycles", 1000 + int(xs[0].reshape(-1)[0]), 96)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

    monkeypatch.setattr(renode.shutil, "which", lambda name: "/bin/" + name)
    monkeypatch.setattr(renode, "build_firmware", lambda *a: fw)
    monkeypatch.setattr(renode, "RenodeSession", Session)
    xs = np.arange(2 * N_IN, dtype=np.int8).reshape(2, 1, N_IN)
    outs, stats = renode.run_on_renode(tiny_dir, "stm32f746g-disco", [xs])
    np.testing.assert_array_equal(outs[0][1], reference(xs[1])[0])
    assert isinstance(stats, RunStats) and stats.instructions is None and stats.cycles == 1000
    doc = stats.to_dict()
    assert doc["emulator"] == "renode" and doc["instructions"]["per_sample"] == [1000, 1064]
    assert doc["peak_stack_bytes"] == 96 and doc["sram_bytes"] == 8 + 40 + 96
