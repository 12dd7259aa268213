"""Every command in README.md's ```sh blocks, run verbatim from a scratch directory.

Only two are left out, and by name: `./setup.sh` and the pytest run, which CI itself runs
(.ci/run). `tinyml` is the venv's executable; the files the commands name (model.onnx,
kws.tflite, calib.npz, x.npy, test.npz, ...) are made in the scratch directory from
examples/ and, when present, ../shared/models. Commands that need a real board (`--port`,
`flash`) must fail with one clean line: flash meets the suite's probe mock (a pyocd that
finds no probe), --port a serial device that is not there.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tflite_builder import TFLiteBuilder

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "models"
RUN_BY_CI = ("./setup.sh", ".venv/bin/python -m pytest -q")
TINYML = Path(sys.executable).with_name("tinyml")
NEEDS_A_BOARD = "needs a real board"


def readme_commands() -> list[str]:
    """The command lines of the ```sh blocks, comments and blank lines dropped."""
    text = (REPO / "README.md").read_text()
    commands = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M):
        for line in block.splitlines():
            command = line.split(" #", 1)[0].strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def test_only_the_two_ci_commands_are_left_out():
    commands = readme_commands()
    assert [c for c in commands if c in RUN_BY_CI] == list(RUN_BY_CI)
    run = [c for c in commands if c not in RUN_BY_CI]
    assert any(c.startswith("tinyml run") for c in run) and any(c.startswith("tinyml eval") for c in run)


def _kws_like(path: Path) -> None:
    """kws.tflite: the MLPerf Tiny KWS model when ../shared is here, else an int8 model of
    the same I/O built here (Conv2D, then FullyConnected)."""
    real = SHARED / "mlperf_tiny" / "kws" / "kws_ref_model.tflite"
    if real.exists():
        shutil.copyfile(real, path)
        return
    rng = np.random.default_rng(6)
    b = TFLiteBuilder()
    x = b.tensor("input_1", (1, 49, 10, 1), "int8", scale=0.58, zero_point=83)
    w = b.tensor("w", (4, 3, 3, 1), "int8", data=rng.integers(-127, 128, (4, 3, 3, 1)),
                 scale=np.full(4, 0.01), axis=0)
    bias = b.tensor("b", (4,), "int32", data=rng.integers(-500, 500, 4), scale=np.full(4, 0.0058))
    h = b.tensor("h", (1, 49, 10, 4), "int8", scale=0.2, zero_point=-5)
    b.op("CONV_2D", [x, w, bias], [h], "Conv2DOptions", Padding=0, StrideW=1, StrideH=1,
         FusedActivationFunction=1)
    flat = b.tensor("flat", (1, 1960), "int8", scale=0.2, zero_point=-5)
    shape = b.tensor("shape", (2,), "int32", data=[1, 1960])
    b.op("RESHAPE", [h, shape], [flat])
    w2 = b.tensor("w2", (12, 1960), "int8", data=rng.integers(-127, 128, (12, 1960)),
                  scale=np.full(12, 0.002), axis=0)
    b2 = b.tensor("b2", (12,), "int32", data=rng.integers(-500, 500, 12), scale=np.full(12, 0.0004))
    y = b.tensor("Identity", (1, 12), "int8", scale=0.5, zero_point=3)
    b.op("FULLY_CONNECTED", [flat, w2, b2], [y], "FullyConnectedOptions", FusedActivationFunction=0)
    path.write_bytes(b.build([x], [y]))


def _scratch(root: Path) -> dict:
    """The files the README's commands name, and the environment they run in."""
    shutil.copyfile(REPO / "examples" / "digits_mlp.onnx", root / "model.onnx")
    shutil.copyfile(REPO / "examples" / "digits_calib.npz", root / "calib.npz")
    _kws_like(root / "kws.tflite")
    shutil.copyfile(root / "kws.tflite", root / "model.tflite")
    vww = SHARED / "mlperf_tiny" / "vww" / "vww_96_int8.tflite"   # the patch-based examples
    shutil.copyfile(vww if vww.exists() else root / "kws.tflite", root / "vww.tflite")
    # The benchmarks are run as written, `.venv/bin/python benchmarks/...`: the venv and the
    # scripts are linked in, so their results land here, not in the repository.
    (root / ".venv").symlink_to(REPO / ".venv")
    (root / "examples").symlink_to(REPO / "examples")   # `.venv/bin/python examples/...`
    (root / "benchmarks").mkdir()
    for script in (REPO / "benchmarks").glob("*.py"):
        (root / "benchmarks" / script.name).symlink_to(script)
    # The suite's probe mock (tests/harness/test_flash.py): a pyocd that finds no probe.
    mock = root / "probe-mock"
    mock.mkdir()
    (mock / "pyocd").write_text('#!/bin/sh\necho "0000667 C No connected debug probes [__main__]" >&2\nexit 1\n')
    (mock / "pyocd").chmod(0o755)
    return {**os.environ, "PATH": f"{mock}{os.pathsep}{os.environ['PATH']}"}


def _inputs_for(root: Path, folder: str) -> None:
    """x.npy and test.npz for the compiled folder the commands run: its input, int8."""
    import json
    spec = json.loads((root / folder / "report.json").read_text())["inputs"][0]
    rng = np.random.default_rng(9)
    x = rng.integers(-128, 128, spec["shape"]).astype(spec["dtype"])
    np.save(root / "x.npy", x)
    np.savez(root / "test.npz", x=rng.integers(-128, 128, (4, *spec["shape"])).astype(spec["dtype"]),
             y=np.arange(4) % 12)


def _argv(command: str) -> list[str]:
    argv = shlex.split(command)
    if argv[0] == "tinyml":
        argv[0] = str(TINYML)
    return argv


@pytest.mark.emulator
@pytest.mark.slow
@pytest.mark.skipif(any(shutil.which(t) is None for t in ("arm-none-eabi-gcc", "qemu-system-arm", "gcc")),
                    reason="the README's --board commands need arm-none-eabi-gcc, qemu-system-arm, gcc")
def test_every_readme_command_runs_as_written(tmp_path):
    env = _scratch(tmp_path)
    ran = []
    for command in readme_commands():
        if command in RUN_BY_CI:
            continue
        argv = _argv(command)
        if "--input" in argv or "--dataset" in argv:   # `tinyml run|eval FOLDER ...`
            _inputs_for(tmp_path, argv[2])
        done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1800)
        real_board = "--port" in argv or argv[1:2] == ["flash"]
        if real_board:
            assert done.returncode == 1, (command, done.stdout, done.stderr)
            assert done.stderr.startswith("tinyml: error: ") and done.stderr.count("\n") == 1, \
                (command, done.stderr)
            assert "Traceback" not in done.stderr and "internal error" not in done.stderr
        else:
            assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
            assert "internal error" not in done.stderr
        ran.append(command)
    assert len(ran) == len(readme_commands()) - len(RUN_BY_CI)
    # What the commands said they would write is there.
    assert (tmp_path / "model_tinyml" / "report.json").is_file()
    assert (tmp_path / "kws_tinyml" / "report.json").is_file()
    assert (tmp_path / "qat_tinyml" / "report.json").is_file()
    import json
    for trained in ("train_tinyml", "vww_train"):   # --train: the step and its memory
        assert json.loads((tmp_path / trained / "report.json").read_text())["train"]["updated"]
    assert np.load(tmp_path / "y.npy").shape == (1, 12)
    assert (tmp_path / "s.json").is_file()
    assert (tmp_path / "mem.png").read_bytes()[:4] == b"\x89PNG"   # inspect --plot
