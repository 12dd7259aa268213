"""Bad input: one line on stderr, exit 2 (usage) or 1 (otherwise), no traceback, nothing written."""

import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from tflite_builder import TFLiteBuilder


def tinyml(*args, cwd):
    proc = subprocess.run([sys.executable, "-m", "tinyml", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def assert_one_line_error(rc, stderr, expected_rc, *fragments):
    assert rc == expected_rc, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("tinyml: error: ")
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def _tiny_fc_tflite(path, *, opname="FULLY_CONNECTED", dtype="int8"):
    b = TFLiteBuilder()
    q = dict(scale=0.1, zero_point=0) if dtype != "float32" else {}
    x = b.tensor("x", (1, 4), dtype, **q)
    w = b.tensor("w", (2, 4), dtype, data=np.ones((2, 4)), **q)
    y = b.tensor("y", (1, 2), dtype, **q)
    b.op(opname, [x, w, -1], [y])
    path.write_bytes(b.build([x], [y]))
    return path


@pytest.fixture
def good_tflite(tmp_path):
    return _tiny_fc_tflite(tmp_path / "good.tflite")


def assert_nothing_written(tmp_path, *keep):
    names = {p.name for p in tmp_path.iterdir()} - set(keep)
    assert not names, f"unexpected files {names}"


def test_missing_file(tmp_path):
    rc, _, err = tinyml("compile", "nope.tflite", "-o", "out", cwd=tmp_path)
    assert_one_line_error(rc, err, 1, "nope.tflite", "no such file")
    assert_nothing_written(tmp_path)


def test_empty_file(tmp_path):
    (tmp_path / "empty.onnx").write_bytes(b"")
    rc, _, err = tinyml("compile", "empty.onnx", "-o", "out", cwd=tmp_path)
    assert_one_line_error(rc, err, 1, "empty.onnx", "empty")
    assert_nothing_written(tmp_path, "empty.onnx")


@pytest.mark.parametrize("suffix", [".tflite", ".onnx"])
def test_truncated_model(suffix, good_tflite, tmp_path):
    if suffix == ".tflite":
        data = good_tflite.read_bytes()
    else:
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
        w = helper.make_tensor("w", TensorProto.FLOAT, [4, 4], np.ones(16, np.float32))
        g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g", [x], [y], [w])
        data = helper.make_model(g).SerializeToString()
    model = tmp_path / f"cut{suffix}"
    model.write_bytes(data[: len(data) // 2])
    good_tflite.unlink()
    rc, _, err = tinyml("compile", model.name, "-o", "out", cwd=tmp_path)
    assert_one_line_error(rc, err, 1, model.name)
    assert_nothing_written(tmp_path, model.name)


@pytest.mark.parametrize("name", ["noise.tflite", "noise.onnx", "notes.txt"])
def test_not_a_model(name, tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / name).write_bytes(rng.integers(0, 256, 3000, dtype=np.uint8).tobytes())
    rc, _, err = tinyml("compile", name, "-o", "out", cwd=tmp_path)
    assert_one_line_error(rc, err, 1, name)
    assert_nothing_written(tmp_path, name)


def test_unsupported_ops_are_listed_at_once(tmp_path):
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4), "float32")
    h = b.tensor("h", (1, 4), "float32")
    y = b.tensor("y", (1, 4), "float32")
    b.op("SIN", [x], [h])
    b.op("COS", [h], [y])
    (tmp_path / "trig.tflite").write_bytes(b.build([x], [y]))
    rc, _, err = tinyml("compile", "trig.tflite", "-o", "out", cwd=tmp_path)
    assert_one_line_error(rc, err, 1, "trig.tflite", "SIN", "COS", "'h'", "'y'")
    assert_nothing_written(tmp_path, "trig.tflite")


def test_unsupported_dtype(tmp_path):
    _tiny_fc_tflite(tmp_path / "wide.tflite", dtype="int64")
    rc, _, err = tinyml("compile", "wide.tflite", "-o", "out", cwd=tmp_path)
    assert_one_line_error(rc, err, 1, "wide.tflite", "int64")
    assert_nothing_written(tmp_path, "wide.tflite")


def test_dynamic_shape_needs_input_shape(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]),
              tmp_path / "dyn.onnx")
    rc, _, err = tinyml("compile", "dyn.onnx", "-o", "out", cwd=tmp_path)
    assert_one_line_error(rc, err, 1, "dyn.onnx", "--input-shape")
    assert_nothing_written(tmp_path, "dyn.onnx")


@pytest.mark.parametrize("bad", ["shape", "dtype"])
def test_run_rejects_wrong_input(bad, good_tflite, tmp_path):
    rc, _, err = tinyml("compile", good_tflite.name, "-o", "lib", cwd=tmp_path)
    assert rc == 0, err
    x = np.zeros((1, 5), np.int8) if bad == "shape" else np.zeros((1, 4), np.int16)
    np.save(tmp_path / "x.npy", x)
    rc, _, err = tinyml("run", "lib", "--input", "x.npy", "--output", "y.npy", cwd=tmp_path)
    assert_one_line_error(rc, err, 2, bad)   # a wrong input is a usage error in every command
    assert not (tmp_path / "y.npy").exists()


def test_unwritable_output_folder(good_tflite, tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    rc, _, err = tinyml("compile", good_tflite.name, "-o", "afile/out", cwd=tmp_path)
    assert_one_line_error(rc, err, 1, "afile/out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "good.tflite"]


@pytest.mark.parametrize("args", [["compile"], ["compile", "m.onnx", "--dtype", "int4"],
                                  ["frobnicate"], ["compile", "m.onnx", "--target", "z80"]])
def test_usage_errors_exit_2(args, tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"\x08\x07")
    rc, _, err = tinyml(*args, cwd=tmp_path)
    assert_one_line_error(rc, err, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


def test_a_folder_of_other_files_is_never_replaced(good_tflite, tmp_path):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "notes.txt").write_text("mine")
    rc, _, err = tinyml("compile", good_tflite.name, "-o", "proj", cwd=tmp_path)
    assert_one_line_error(rc, err, 2, "proj", "other files")
    assert [p.name for p in (tmp_path / "proj").iterdir()] == ["notes.txt"]


def test_an_earlier_output_is_replaced_whole_and_readable(good_tflite, tmp_path):
    for _ in range(2):
        rc, _, err = tinyml("compile", good_tflite.name, "-o", "lib", cwd=tmp_path)
        assert rc == 0, err
    assert (tmp_path / "lib" / "report.json").is_file()
    assert (tmp_path / "lib").stat().st_mode & 0o055, "output folder readable by others as umask allows"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.tflite", "lib"]


def test_kernel_namespace_is_reserved(good_tflite, tmp_path):
    rc, _, err = tinyml("compile", good_tflite.name, "--name", "tm_nn", cwd=tmp_path)
    assert_one_line_error(rc, err, 2, "tm_nn")
    assert_nothing_written(tmp_path, good_tflite.name)


def test_int8_tensor_without_quantization(tmp_path):
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4), "int8")
    w = b.tensor("w", (2, 4), "int8", data=np.ones((2, 4)), scale=0.1, zero_point=0)
    y = b.tensor("y", (1, 2), "int8", scale=0.1, zero_point=0)
    b.op("FULLY_CONNECTED", [x, w, -1], [y])
    (tmp_path / "noq.tflite").write_bytes(b.build([x], [y]))
    rc, _, err = tinyml("compile", "noq.tflite", "-o", "out", cwd=tmp_path)
    assert_one_line_error(rc, err, 1, "noq.tflite", "'x'", "without quantization")
    assert_nothing_written(tmp_path, "noq.tflite")
