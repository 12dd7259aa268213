"""What `run` and `eval` accept as inputs, with models built here (onnx.helper, TFLite):
arrays by name, the batch forms, float input for a quantized model, NaN and length checks,
--calib .npy, a corrupt report.json, float32 eval by tolerance, one exit code per mistake."""

import json
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from tinyml.cli import main

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
from tflite_builder import TFLiteBuilder  # noqa: E402
from tinyml.references import tflm_run  # noqa: E402


def _tinyml(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tinyml.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd)


def _one_line(done, code):
    assert done.returncode == code, (done.returncode, done.stderr)
    assert done.stderr.startswith("tinyml: error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr


@pytest.fixture(scope="module")
def sub_dir(tmp_path_factory):
    """`a - b` in float32, inputs named a and b, shape [1, 4]."""
    root = tmp_path_factory.mktemp("sub")
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 4]) for n in ("a", "b", "y")]
    graph = helper.make_graph([helper.make_node("Sub", ["a", "b"], ["y"])], "sub", io[:2], io[2:])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), root / "sub.onnx")
    assert main(["compile", str(root / "sub.onnx"), "--target", "cortex-m4", "-o", str(root / "sub_tinyml")]) == 0
    return root / "sub_tinyml"


@pytest.fixture(scope="module")
def fc8(tmp_path_factory):
    """An int8 FullyConnected TFLite model [1, 8] -> [1, 3]: (its bytes, compiled folder)."""
    root = tmp_path_factory.mktemp("fc8")
    rng = np.random.default_rng(7)
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 8), "int8", scale=0.05, zero_point=-3)
    w = b.tensor("w", (3, 8), "int8", data=rng.integers(-127, 128, (3, 8)), scale=np.full(3, 0.01), axis=0)
    bias = b.tensor("b", (3,), "int32", data=rng.integers(-300, 300, 3), scale=np.full(3, 0.0005))
    y = b.tensor("y", (1, 3), "int8", scale=0.1, zero_point=2)
    b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions", FusedActivationFunction=0)
    blob = b.build([x], [y])
    (root / "fc8.tflite").write_bytes(blob)
    assert main(["compile", str(root / "fc8.tflite"), "--target", "cortex-m4", "-o", str(root / "fc8_tinyml")]) == 0
    return blob, root / "fc8_tinyml"


def test_npz_inputs_are_matched_by_name(sub_dir, tmp_path):
    a, b = np.arange(4, dtype=np.float32).reshape(1, 4), np.full((1, 4), 10, np.float32)
    np.savez(tmp_path / "in.npz", b=b, a=a)   # saved in the other order
    done = _tinyml("run", sub_dir, "--input", tmp_path / "in.npz", "--output", tmp_path / "y.npz")
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "y.npz")["y"], a - b)
    np.savez(tmp_path / "bad.npz", a=a, c=b)
    done = _tinyml("run", sub_dir, "--input", tmp_path / "bad.npz")
    _one_line(done, 2)
    assert "'a', 'b'" in done.stderr and "'c'" in done.stderr
    np.save(tmp_path / "one.npy", a)   # positional: only for a one-input model
    _one_line(_tinyml("run", sub_dir, "--input", tmp_path / "one.npy"), 2)


@pytest.mark.parametrize("shape, out_shape", [((1, 8), (1, 3)), ((5, 1, 8), (5, 1, 3)), ((5, 8), (5, 3))])
def test_batch_forms_and_float_inputs_quantized(fc8, tmp_path, shape, out_shape):
    """One sample, [N, *shape] and [N, *shape[1:]] (batch 1); float32 quantized with the
    input's scale; --dequantize; every output against TFLite Micro."""
    blob, folder = fc8
    xf = np.random.default_rng(1).uniform(-6, 6, shape).astype(np.float32)
    np.save(tmp_path / "x.npy", xf)
    done = _tinyml("run", folder, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy")
    assert done.returncode == 0, done.stderr
    y = np.load(tmp_path / "y.npy")
    assert y.shape == out_shape and y.dtype == np.int8
    q = np.clip(np.round(xf.reshape(-1, 1, 8) / np.float32(0.05)) - 3, -128, 127).astype(np.int8)
    np.testing.assert_array_equal(y.reshape(-1, 3), tflm_run(blob, [q])[0].reshape(-1, 3))
    done = _tinyml("run", folder, "--input", tmp_path / "x.npy", "--output", tmp_path / "f.npy", "--dequantize")
    assert done.returncode == 0, done.stderr
    f = np.load(tmp_path / "f.npy")
    assert f.dtype == np.float32 and f.shape == out_shape
    np.testing.assert_allclose(f, (y.astype(np.float32) - 2) * np.float32(0.1), rtol=1e-6)


@pytest.mark.emulator
def test_host_and_board_outputs_have_the_same_shape(fc8, tmp_path):
    _, folder = fc8
    for shape in [(1, 8), (3, 8), (3, 1, 8)]:
        np.save(tmp_path / "x.npy", np.zeros(shape, np.int8))
        outs = []
        for extra in ([], ["--board", "mps2-an386"]):
            done = _tinyml("run", folder, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy", *extra)
            assert done.returncode == 0, done.stderr
            outs.append(np.load(tmp_path / "y.npy"))
        assert outs[0].shape == outs[1].shape
        np.testing.assert_array_equal(outs[0], outs[1])


@pytest.mark.parametrize("command", ["run", "eval"])
@pytest.mark.parametrize("bad, words", [(np.nan, "NaN"), (np.inf, "NaN or infinite")])
def test_nan_and_inf_inputs_are_refused(fc8, tmp_path, command, bad, words):
    folder = tmp_path / "fc8_tinyml"
    shutil.copytree(fc8[1], folder, ignore=shutil.ignore_patterns(".build"))
    x = np.zeros((2, 1, 8), np.float32)
    x[1, 0, 3] = bad
    np.savez(tmp_path / "d.npz", x=x)
    where = ["--input", tmp_path / "d.npz"] if command == "run" else ["--dataset", tmp_path / "d.npz",
                                                                        "--board", "mps2-an386"]
    done = _tinyml(command, folder, *where)
    _one_line(done, 2)
    assert words in done.stderr and not (folder / ".build" / "firmware-mps2-an386").exists()


def test_labels_must_match_the_samples(fc8, tmp_path):
    _, folder = fc8
    np.savez(tmp_path / "d.npz", x=np.zeros((3, 1, 8), np.int8), y=np.zeros(4, np.int64))
    done = _tinyml("eval", folder, "--dataset", tmp_path / "d.npz", "--board", "mps2-an386")
    _one_line(done, 2)
    assert "labels y" in done.stderr and "for 3 samples" in done.stderr


def test_calib_accepts_npy(tmp_path):
    from pathlib import Path
    examples = Path(__file__).resolve().parents[2] / "examples"
    with np.load(examples / "digits_calib.npz") as data:
        np.save(tmp_path / "calib.npy", data["x"])
    outs = []
    for calib in (examples / "digits_calib.npz", tmp_path / "calib.npy"):
        out = tmp_path / calib.suffix.strip(".")
        done = _tinyml("compile", examples / "digits_mlp.onnx", "--dtype", "int8", "--calib", calib, "-o", out)
        assert done.returncode == 0, done.stderr
        outs.append((out / "digits_mlp.c").read_text())
    assert outs[0] == outs[1]
    np.save(tmp_path / "nan.npy", np.full((4, 1, 64), np.nan, np.float32))
    _one_line(_tinyml("compile", examples / "digits_mlp.onnx", "--dtype", "int8", "--calib",
                      tmp_path / "nan.npy", "-o", tmp_path / "never"), 2)
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"name": "m", "inputs": [{"shape": "x"}]}', "\xff"])
def test_corrupt_report_is_one_clean_line(fc8, tmp_path, text):
    _, folder = fc8
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    (broken / "report.json").write_bytes(text.encode("latin-1"))
    np.save(tmp_path / "x.npy", np.zeros((1, 8), np.int8))
    for args in (["run", broken, "--input", tmp_path / "x.npy"],
                 ["eval", broken, "--dataset", tmp_path / "x.npy", "--board", "mps2-an386"]):
        done = _tinyml(*args)
        _one_line(done, 1)
        assert "report.json" in done.stderr


@pytest.mark.parametrize("mistake", ["unknown board", "real board", "missing file"])
def test_same_mistake_same_exit_code(fc8, tmp_path, mistake):
    _, folder = fc8
    np.savez(tmp_path / "d.npz", x=np.zeros((2, 1, 8), np.int8))
    board = {"unknown board": "arduino", "real board": "nrf52840-dk"}.get(mistake, "mps2-an386")
    data = tmp_path / ("nothing.npz" if mistake == "missing file" else "d.npz")
    commands = [["run", folder, "--input", data, "--board", board],
                ["eval", folder, "--dataset", data, "--board", board]]
    if mistake == "unknown board":
        commands += [["flash", folder, "--board", board], ["build", folder, "--board", board],
                     ["compile", fc8[1].parent / "fc8.tflite", "--board", board, "-o", tmp_path / "o"]]
    for args in commands:
        _one_line(_tinyml(*args), 2)


@pytest.mark.emulator
def test_float_model_eval_passes_within_the_stated_tolerance(sub_dir, tmp_path):
    """float32 outputs: PASS by tolerance, stated in the table and the JSON."""
    rng = np.random.default_rng(3)
    np.savez(tmp_path / "d.npz", a=rng.standard_normal((5, 1, 4)).astype(np.float32),
             b=rng.standard_normal((5, 1, 4)).astype(np.float32))
    done = _tinyml("eval", sub_dir, "--dataset", tmp_path / "d.npz", "--board", "mps2-an386",
                   "--json", tmp_path / "r.json")
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["passed"] and doc["match"]["matched"] == 5 and "float32 within" in doc["match"]["criterion"]
    assert "float32 within" in done.stdout


def test_float_tolerance_criterion():
    from tinyml.harness.evaluate import FLOAT_TOLERANCE, outputs_match
    h = np.array([100.0, -3.0, 0.5], np.float32)
    assert outputs_match(h + np.float32(100 * FLOAT_TOLERANCE / 2), h)
    assert not outputs_match(h + np.float32(100 * FLOAT_TOLERANCE * 2), h)
    q = np.array([1, 2], np.int8)
    assert outputs_match(q, q.copy()) and not outputs_match(q + 1, q)   # integers: bit-exact
