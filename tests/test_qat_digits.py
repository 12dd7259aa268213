"""Issue acceptance: a CNN trained with ternary QAT (tinyml.qat) on scikit-learn's digits,
exported and compiled without --dtype ternary (its weights are found ternary): the C build's
test accuracy within 2 points of its float twin's and within 1 point of the twin's int8 build
(post-training quantized), weight flash at most 0.3x of that int8 build, and the outputs
bit-identical to the numpy reference on the host and in QEMU (mps2-an386)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("sklearn")

from helpers import run_ref  # noqa: E402
from test_cli import tinyml  # noqa: E402
from tinyml.harness.host import run_host  # noqa: E402
from tinyml.harness.qemu import run_on_board  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "qat_digits.py"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The example run as a user runs it: its own process, so its one-thread TensorFlow
    setting holds (and the run is repeatable) whatever this process has imported."""
    out = tmp_path_factory.mktemp("qat")
    done = subprocess.run([sys.executable, str(EXAMPLE), "--out", str(out)], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return out


def _c_accuracy(folder: Path, x: np.ndarray, y: np.ndarray) -> float:
    report = json.loads((folder / "report.json").read_text())
    spec = report["inputs"][0]
    q = np.clip(np.round(x / spec["scale"]) + spec["zero_point"], -128, 127).astype(np.int8)
    logits = run_host(folder, [q.reshape(len(x), *spec["shape"])])[0]
    return float(np.mean(logits.reshape(len(x), -1).argmax(1) == y))


@pytest.mark.tf
@pytest.mark.slow
def test_ternary_qat_cnn_accuracy_and_flash(trained, tmp_path):
    import keras
    test = np.load(trained / "test.npz")
    x, y = test["x"], test["y"]
    calib = trained / "calib.npz"
    for label, model in (("int8", "float.keras"), ("ternary", "ternary.keras")):
        done = tinyml("compile", trained / model, "--dtype", "int8", "--calib", calib,
                      "--target", "cortex-m4", "-o", label, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    reports = {k: json.loads((tmp_path / k / "report.json").read_text())
               for k in ("int8", "ternary")}
    kinds = [l["weights"] for l in reports["ternary"]["layers"] if l["weights"]]
    assert kinds == ["int8", "ternary", "ternary", "ternary", "int8"]    # found, not asked for
    assert {l["weights"] for l in reports["int8"]["layers"] if l["weights"]} == {"int8"}

    float_accuracy = float(np.mean(
        keras.models.load_model(trained / "float.keras").predict(x, verbose=0).argmax(1) == y))
    int8_accuracy = _c_accuracy(tmp_path / "int8", x, y)
    ternary_accuracy = _c_accuracy(tmp_path / "ternary", x, y)
    assert abs(ternary_accuracy - float_accuracy) <= 0.02, (ternary_accuracy, float_accuracy)
    assert abs(ternary_accuracy - int8_accuracy) <= 0.01, (ternary_accuracy, int8_accuracy)
    assert ternary_accuracy > 0.9
    # the weights as stored (2-bit signs; int8 rows padded for the DSP kernels); with the
    # per-channel biases, multipliers and shifts of both builds, flash_bytes is about 0.3x
    ratio = reports["ternary"]["weight_bytes"] / reports["int8"]["weight_bytes"]
    assert ratio <= 0.3, ratio
    assert reports["ternary"]["flash_bytes"] < 0.35 * reports["int8"]["flash_bytes"]


@pytest.mark.tf
@pytest.mark.emulator
@pytest.mark.slow
def test_ternary_qat_cnn_bit_identical_on_host_and_qemu(trained, tmp_path):
    from tinyml.compiler import compile_model, write
    compiled = compile_model(trained / "ternary.keras", target="cortex-m4", dtype="int8",
                             calib=np.load(trained / "calib.npz")["x"])
    write(compiled, tmp_path / "lib", "cortex-m4")
    graph = compiled.graph
    rng = np.random.default_rng(0)
    inputs = [rng.integers(-128, 128, (8, *graph.tensor(graph.inputs[0]).shape)).astype(np.int8)]
    want = run_ref(graph, inputs)[0]
    np.testing.assert_array_equal(run_host(tmp_path / "lib", inputs, sanitize=True)[0], want)
    got, stats = run_on_board(tmp_path / "lib", "mps2-an386", inputs, timeout=300)
    assert stats.status == 0
    np.testing.assert_array_equal(got[0].reshape(want.shape), want)
