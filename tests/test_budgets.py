"""Board budgets: `tinyml targets` lists flash, SRAM and clock; `compile --board` refuses a
model that overflows flash or RAM in one line naming what and by how much, writing
nothing; `--target` alone warns when no board of the core has the flash; `tinyml build`
builds firmware without a probe and prints its region use; a linker overflow is one line."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

SHARED = Path(__file__).resolve().parents[2] / "shared" / "models"
VWW_FLOAT = SHARED / "mlperf_tiny" / "vww" / "vww_96_float.tflite"
needs_arm_gcc = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                                   reason="needs arm-none-eabi-gcc (set-up installs it)")


def _tinyml(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tinyml.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd)


def _one_line(done, code=1):
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert done.stderr.startswith("tinyml: error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    return done.stderr


def _onnx(path: Path, nodes, inputs, outputs, inits=()) -> Path:
    graph = helper.make_graph(nodes, "m", inputs, outputs, list(inits))
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def _big_io(tmp_path) -> Path:
    """Relu over 20,000 floats: no weights, 160,000 bytes of input and output."""
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 20000]) for n in ("x", "y")]
    return _onnx(tmp_path / "big_io.onnx", [helper.make_node("Relu", ["x"], ["y"])], io[:1], io[1:])


def _big_weights(tmp_path) -> Path:
    """A float MatMul [1, 300] x [300, 200]: 240,000 bytes of weights, little RAM."""
    w = numpy_helper.from_array(np.random.default_rng(0).standard_normal((300, 200)).astype(np.float32), "w")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 300])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 200])
    return _onnx(tmp_path / "big_w.onnx", [helper.make_node("MatMul", ["x", "w"], ["y"])], [x], [y], [w])


def test_targets_show_flash_sram_and_clock():
    done = _tinyml("targets")
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if line.split()[:1] == ["nrf52840-dk"])
    assert "1,024 KB" in row and "256 KB" in row and "64 MHz" in row
    mlperf = next(line for line in done.stdout.splitlines() if line.split()[:1] == ["nucleo-l4r5zi"])
    assert "4 MHz (max 120)" in mlperf     # the reset clock the firmware runs at, and the rated one
    assert any(line.split()[1:2] == ["cortex-m0plus"] for line in done.stdout.splitlines()
               if line.startswith("  "))


@pytest.mark.skipif(not VWW_FLOAT.exists(), reason=f"{VWW_FLOAT} not present")
def test_vww_float_overflows_nrf52840_ram(tmp_path):
    """Layer by layer (--patch off); by patches it fits (test_vww_float_fits_nrf52840_by_patches)."""
    err = _one_line(_tinyml("compile", VWW_FLOAT, "--board", "nrf52840-dk", "--patch", "off",
                            "-o", tmp_path / "out"))
    assert "does not fit nrf52840-dk: RAM needs" in err and "flash needs" not in err
    assert "arena 221,184 + input 110,592" in err and "against 256 KB" in err
    over = int(err.split("over by ")[1].split(" bytes")[0].replace(",", ""))
    assert over == 221_184 + 110_592 + 8 + 2048 - 256 * 1024
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not VWW_FLOAT.exists(), reason=f"{VWW_FLOAT} not present")
def test_vww_float_fits_nrf52840_by_patches(tmp_path):
    """The board's 256 KB is the planner's budget: the first layers run by patches."""
    done = _tinyml("compile", VWW_FLOAT, "--board", "nrf52840-dk", "-o", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert "\npatches: " in done.stdout and "fits nrf52840-dk: " in done.stdout
    ram = int(done.stdout.split(", RAM ")[1].split(" of ")[0].replace(",", ""))
    assert ram <= 256 * 1024


@pytest.mark.skipif(not VWW_FLOAT.exists(), reason=f"{VWW_FLOAT} not present")
def test_vww_float_overflows_a_small_boards_flash(tmp_path):
    err = _one_line(_tinyml("compile", VWW_FLOAT, "--board", "nucleo-g071rb", "-o", tmp_path / "out"))
    assert "flash needs" in err and "weights 843,400" in err and "against 128 KB" in err
    assert not (tmp_path / "out").exists()


def test_flash_and_ram_overflows_are_named_apart(tmp_path):
    err = _one_line(_tinyml("compile", _big_weights(tmp_path), "--board", "nucleo-g071rb", "-o", tmp_path / "w"))
    assert "flash needs" in err and "weights 240,000" in err and "RAM" not in err
    err = _one_line(_tinyml("compile", _big_io(tmp_path), "--board", "nucleo-g071rb", "-o", tmp_path / "r"))
    assert "RAM needs" in err and "input 80,000 + output 80,000" in err and "against 36 KB" in err
    assert "flash needs" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big_io.onnx", "big_w.onnx"]


def test_a_model_that_fits_says_so(tmp_path):
    done = _tinyml("compile", _big_weights(tmp_path), "--board", "nrf52840-dk", "-o", tmp_path / "w")
    assert done.returncode == 0, done.stderr
    assert "fits nrf52840-dk: flash" in done.stdout and '"target": "cortex-m4"' in (tmp_path / "w" / "report.json").read_text()
    _one_line(_tinyml("compile", _big_weights(tmp_path), "--board", "nrf52840-dk", "--target", "cortex-m7",
                      "-o", tmp_path / "x"), 2)


def test_target_alone_warns_when_no_board_has_the_flash(tmp_path):
    done = _tinyml("compile", _big_weights(tmp_path), "--target", "cortex-m0plus", "-o", tmp_path / "w")
    assert done.returncode == 0, done.stderr
    warning = [line for line in done.stderr.splitlines() if line.startswith("tinyml: warning:")]
    assert len(warning) == 1 and "240,000 bytes" in warning[0] and "nucleo-g071rb" in warning[0]
    done = _tinyml("compile", _big_weights(tmp_path), "--target", "cortex-m4", "-o", tmp_path / "w")
    assert done.returncode == 0 and "warning" not in done.stderr


@needs_arm_gcc
def test_build_without_a_probe_prints_region_use(tmp_path):
    folder = tmp_path / "w"
    assert _tinyml("compile", _big_weights(tmp_path), "--board", "nucleo-l4r5zi", "-o", folder).returncode == 0
    done = _tinyml("build", folder.name, "--board", "nucleo-l4r5zi", cwd=tmp_path)   # a relative folder
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    elf = Path(lines[0].split()[1])
    assert elf.is_file() and lines[1].startswith("flash") and lines[2].startswith("RAM")
    size = subprocess.run(["arm-none-eabi-size", str(elf)], capture_output=True, text=True).stdout
    text, data, _ = (int(v) for v in size.splitlines()[1].split()[:3])
    assert f"{text + data:,} of  2,097,152 bytes" in lines[1]


@needs_arm_gcc
def test_linker_overflow_is_one_line(tmp_path):
    folder = tmp_path / "big"
    assert _tinyml("compile", _big_io(tmp_path), "--target", "cortex-m0plus", "-o", folder).returncode == 0
    err = _one_line(_tinyml("build", folder, "--board", "nucleo-g071rb"))
    assert "does not fit: RAM overflowed by" in err and "ld returned" not in err
