"""`tinyml flash`: tool commands per board and probe, and clear errors without tool or probe.

No board is attached here. Where a test needs a flash tool to fail the way it does without a
probe, it puts a *mock of the physical probe* on PATH: a script named like the tool that
prints the tool's own "no probe" message and exits non-zero. Nothing else is mocked.
"""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tinyml.harness import flash as fl
from tinyml.errors import UsageError
from tinyml.harness.errors import HarnessError
from tinyml.targets.boards import BOARDS, get_board

REAL = [n for n, b in BOARDS.items() if not b.emulated]
IMAGES = fl.Images(Path("/w/fw.elf"), Path("/w/fw.bin"), Path("/w/fw.hex"))

EXPECTED = {
    ("nucleo-l4r5zi", "pyocd"): ["pyocd", "flash", "--target", "stm32l4r5zitx", "/w/fw.elf"],
    ("nucleo-l4r5zi", "openocd"): ["openocd", "-f", "board/st_nucleo_l4.cfg",
                                   "-c", "program /w/fw.elf verify reset exit"],
    ("nucleo-l4r5zi", "stlink"): ["st-flash", "--reset", "write", "/w/fw.bin", "0x08000000"],
    ("stm32f746g-disco", "pyocd"): ["pyocd", "flash", "--target", "stm32f746nghx", "/w/fw.elf"],
    ("stm32f746g-disco", "openocd"): ["openocd", "-f", "board/stm32f7discovery.cfg",
                                      "-c", "program /w/fw.elf verify reset exit"],
    ("stm32f746g-disco", "stlink"): ["st-flash", "--reset", "write", "/w/fw.bin", "0x08000000"],
    ("nucleo-g071rb", "pyocd"): ["pyocd", "flash", "--target", "stm32g071rbtx", "/w/fw.elf"],
    ("nucleo-g071rb", "openocd"): ["openocd", "-f", "board/st_nucleo_g0.cfg",
                                   "-c", "program /w/fw.elf verify reset exit"],
    ("nucleo-g071rb", "stlink"): ["st-flash", "--reset", "write", "/w/fw.bin", "0x08000000"],
    ("nrf52840-dk", "pyocd"): ["pyocd", "flash", "--target", "nrf52840", "/w/fw.elf"],
    ("nrf52840-dk", "openocd"): ["openocd", "-f", "board/nordic_nrf52_dk.cfg",
                                 "-c", "program /w/fw.elf verify reset exit"],
}


@pytest.mark.parametrize("board,probe", list(EXPECTED))
def test_command_per_board_and_probe(board, probe):
    assert fl.flash_command(get_board(board), probe, IMAGES) == EXPECTED[(board, probe)]


def test_every_real_board_has_a_probe():
    for name in REAL:
        assert fl.probes_for(get_board(name)), name
    assert set(REAL) == {b for b, _ in EXPECTED}


def test_refusals():
    with pytest.raises(HarnessError, match="nrf52840-dk cannot be flashed with stlink; use pyocd or openocd"):
        fl.flash_command(get_board("nrf52840-dk"), "stlink", IMAGES)
    with pytest.raises(HarnessError, match="emulated"):
        fl.flash_command(get_board("mps2-an386"), "pyocd", IMAGES)
    with pytest.raises(HarnessError, match="unknown probe"):
        fl.flash_command(get_board("nucleo-l4r5zi"), "jlink", IMAGES)
    with pytest.raises(UsageError, match="unknown board"):
        fl.flash("unused", "arduino-uno")
    with pytest.raises(UsageError, match="emulated"):
        fl.flash("unused", "mps2-an386")


def test_openocd_quotes_paths_with_spaces():
    images = fl.Images(Path("/my fw/fw.elf"), Path("/my fw/fw.bin"), Path("/my fw/fw.hex"))
    cmd = fl.flash_command(get_board("nucleo-l4r5zi"), "openocd", images)
    assert cmd[-1] == "program {/my fw/fw.elf} verify reset exit"


def _tool(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def bare_path(tmp_path, monkeypatch):
    """PATH with only a folder we control (plus sh for the mock scripts)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}/bin")
    return folder


def test_missing_tool_is_one_line(bare_path):
    if shutil.which("pyocd"):
        pytest.skip("pyocd is installed in /bin")
    with pytest.raises(HarnessError) as e:
        fl.run_flash(get_board("nucleo-l4r5zi"), "pyocd", IMAGES)
    assert str(e.value) == ("pyocd not found on PATH: pip install pyocd "
                            "(or choose another --probe: openocd, stlink)")
    with pytest.raises(HarnessError, match="no flash tool for nrf52840-dk on PATH"):
        fl.choose_probe(get_board("nrf52840-dk"), None)


def test_absent_probe_is_one_line(bare_path):
    # Mock of the physical probe: pyocd's answer when no debug probe is connected.
    _tool(bare_path, "pyocd", 'echo "0000667 C No connected debug probes [__main__]" >&2; exit 1')
    with pytest.raises(HarnessError) as e:
        fl.run_flash(get_board("nucleo-l4r5zi"), "pyocd", IMAGES)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith("pyocd failed flashing nucleo-l4r5zi (exit 1): ")
    assert "No connected debug probes" in msg
    # Mock of the physical probe: openocd without an ST-LINK attached.
    _tool(bare_path, "openocd", 'echo "Info : auto-selecting first available session transport" >&2\n'
                                'echo "Error: open failed" >&2; exit 1')
    with pytest.raises(HarnessError, match=r"openocd failed .*\(exit 1\): Error: open failed"):
        fl.run_flash(get_board("nucleo-l4r5zi"), "openocd", IMAGES)


def test_choose_probe_takes_the_first_tool_present(bare_path):
    _tool(bare_path, "st-flash", "exit 0")
    assert fl.choose_probe(get_board("nucleo-l4r5zi"), None) == "stlink"
    _tool(bare_path, "openocd", "exit 0")
    assert fl.choose_probe(get_board("nucleo-l4r5zi"), None) == "openocd"
    assert fl.choose_probe(get_board("nucleo-l4r5zi"), "stlink") == "stlink"


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
def test_flash_builds_and_calls_the_tool(bare_path, tiny_dir, tmp_path):
    # Mock of the physical probe: st-flash that records its arguments and succeeds.
    log = tmp_path / "argv.txt"
    _tool(bare_path, "st-flash", f'echo "$@" > {log}; echo "Flash written and verified! jolly good!"')
    result = fl.flash(tiny_dir, "nucleo-l4r5zi", "stlink")
    args = log.read_text().split()
    assert args[:3] == ["--reset", "write", str(result.images.bin)] and args[3] == "0x08000000"
    image = result.images.bin.read_bytes()
    assert len(image) > 1000
    # The image starts with the vector table: initial SP at the top of SRAM, reset in flash.
    sp, reset = int.from_bytes(image[0:4], "little"), int.from_bytes(image[4:8], "little")
    board = get_board("nucleo-l4r5zi")
    assert sp == board.ram.origin + board.ram.size
    assert board.flash.origin <= reset < board.flash.origin + len(image) and reset & 1
    assert result.images.hex.read_text().startswith(":")


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
def test_cli_flash(bare_path, tiny_dir):
    _tool(bare_path, "pyocd", 'echo "No connected debug probes" >&2; exit 1')   # probe mock
    env = {**os.environ}
    done = subprocess.run([sys.executable, "-m", "tinyml.cli", "flash", str(tiny_dir), "--board",
                           "stm32f746g-disco", "--probe", "pyocd"], capture_output=True, text=True, env=env)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "No connected debug probes" in done.stderr
    _tool(bare_path, "pyocd", "exit 0")
    done = subprocess.run([sys.executable, "-m", "tinyml.cli", "flash", str(tiny_dir), "--board",
                           "stm32f746g-disco"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "pyocd flash --target stm32f746nghx" in done.stdout
