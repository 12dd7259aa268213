"""Emulator sessions without an emulator: start-up failures leave no temp folder, and the
emulator's stderr (a file, never a pipe) ends up in the one-line error."""

import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from tinyml.harness import icount, qemu
from tinyml.harness.errors import HarnessError
from tinyml.targets.boards import get_board

FW = SimpleNamespace(board=get_board("mps2-an386"), elf=Path("fw.elf"), symbols={"tm_marks": 0x100},
                     mark_count=4)


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """Where the sessions make their temp folders."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(icount, "plugin_path", lambda: tmp_path / "plugin.so")
    return tmp_path


def _leftovers(scratch):
    return [p.name for p in scratch.iterdir() if p.name.startswith("tinyml-")]


def test_failure_before_the_emulator_starts_leaves_no_folder(scratch, monkeypatch):
    def no_plugin():
        raise HarnessError("cannot build the plugin")
    monkeypatch.setattr(qemu, "qemu_base_command", lambda board, elf: ["qemu-system-arm"])
    monkeypatch.setattr(icount, "plugin_path", no_plugin)
    with pytest.raises(HarnessError, match="cannot build the plugin"):
        qemu.QemuSession(FW)
    assert _leftovers(scratch) == []


def test_emulator_that_cannot_start_is_one_line_and_leaves_no_folder(scratch, monkeypatch):
    monkeypatch.setattr(qemu, "qemu_base_command", lambda board, elf: [str(scratch / "no-such-qemu")])
    with pytest.raises(HarnessError, match="cannot start .*no-such-qemu"):
        qemu.QemuSession(FW)
    assert _leftovers(scratch) == []


@pytest.mark.parametrize("then", ["exit 1", "exec sleep 30"])
def test_emulator_stderr_is_in_the_error(scratch, monkeypatch, then):
    """More stderr than a pipe holds (64 kB), then an exit or a hang: either way the error
    ends with the emulator's last words."""
    script = f"seq 30000 >&2; echo 'qemu: bad machine' >&2; {then}"
    monkeypatch.setattr(qemu, "qemu_base_command", lambda board, elf: ["sh", "-c", script])
    with pytest.raises(HarnessError) as err:
        qemu.QemuSession(FW, connect_timeout=1.0)
    message = str(err.value)
    assert "did not open its serial port" in message and message.endswith("qemu: bad machine")
    assert "\n" not in message and len(message) < 400
    assert _leftovers(scratch) == []
