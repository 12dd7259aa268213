"""The command line: --version, --help everywhere, inspect writes nothing, targets."""

import subprocess
import sys

import pytest

from tinyml import __version__


def tinyml(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tinyml", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def test_version():
    proc = tinyml("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"tinyml {__version__}"


@pytest.mark.parametrize("command", ["compile", "inspect", "run", "targets"])
def test_help(command):
    proc = tinyml(command, "--help")
    assert proc.returncode == 0 and "usage: tinyml " + command in proc.stdout


def test_inspect_prints_the_table_and_writes_nothing(tmp_path):
    from test_bad_input import _tiny_fc_tflite
    _tiny_fc_tflite(tmp_path / "m.tflite")
    proc = tinyml("inspect", "m.tflite", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "FullyConnected" in proc.stdout and "MACs 8" in proc.stdout and "arena" in proc.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["m.tflite"]


def test_compile_default_folder_and_table(tmp_path):
    from test_bad_input import _tiny_fc_tflite
    _tiny_fc_tflite(tmp_path / "My-Model.tflite")
    proc = tinyml("compile", "My-Model.tflite", "--target", "cortex-m4", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "my_model_tinyml" / "my_model.h").is_file()
    assert "tm_fully_connected_dsp_s8" in proc.stdout   # --target cortex-m4: the DSP kernel


def test_targets_lists_cores():
    proc = tinyml("targets")
    assert proc.returncode == 0 and "cortex-m4" in proc.stdout
