"""`tinyml validate`: the C model on QEMU against the original model in its own framework
(onnxruntime, TensorFlow) and against tinyml's reference of it (cross)."""

import json
from pathlib import Path

import numpy as np
import pytest

from tinyml.cli import main
from tinyml.harness.evaluate import error_metrics, load_dataset
from tinyml.harness.host import read_report
from tinyml.harness.validate import run_reference, validate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _rows(result) -> dict:
    return {r["row"]: r for r in result.rows}


@pytest.mark.emulator
def test_validate_onnx_against_onnxruntime(digits_dir, tmp_path, capsys):
    out = tmp_path / "v.json"
    rc = main(["validate", str(digits_dir), "--dataset", str(EXAMPLES / "digits_test.npz"),
               "--original", str(EXAMPLES / "digits_mlp.onnx"), "--board", "mps2-an386",
               "--limit", "60", "--json", str(out), "--markdown", str(tmp_path / "v.md")])
    assert rc == 0
    assert "| original | 0 |" in capsys.readouterr().out
    r = json.loads(out.read_text())
    assert r["runtime"] == "onnxruntime" and r["samples"] == 60
    rows = {row["row"]: row for row in r["rows"]}
    # the reference row, recomputed here: onnxruntime itself against tinyml's reference
    from tinyml.references import onnxruntime_run
    data = load_dataset(EXAMPLES / "digits_test.npz", read_report(digits_dir)["inputs"], 60)
    ort = np.stack([onnxruntime_run(EXAMPLES / "digits_mlp.onnx", {"pixels": x})[0]
                    for x in data.floats[0]])
    ours = run_reference(EXAMPLES / "digits_mlp.onnx", data.floats)[0]
    assert rows["reference"] == {"row": "reference", "output": 0,
                                 **error_metrics(ours, ort, data.labels)}
    assert rows["original"]["acc"] > 0.9 and rows["original"]["cos"] > 0.99
    assert (rows["original"]["rmse"] != rows["cross"]["rmse"]) == (rows["reference"]["rmse"] > 0)
    assert r["duration"]["counter"] == "instructions" and r["duration"]["macs_per_count"] > 0
    assert "| row | output | acc | rmse | mae | l2r | cos | nse |" in (tmp_path / "v.md").read_text()


@pytest.mark.emulator
@pytest.mark.tf
def test_validate_keras_against_tensorflow(tmp_path):
    """A Keras CNN trained here: the original row comes from TensorFlow, whose float
    arithmetic differs from tinyml's reference, so the original and cross rows differ."""
    keras = pytest.importorskip("keras")
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)),
                              keras.layers.Conv2D(8, 3, activation="relu", name="conv"),
                              keras.layers.Flatten(name="flat"),
                              keras.layers.Dense(10, name="logits")])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x[:1000], digits.target[:1000], epochs=3, verbose=0)
    model.save(tmp_path / "cnn.keras")
    np.savez(tmp_path / "calib.npz", x=x[:100])
    np.savez(tmp_path / "test.npz", x=x[1000:1080], y=digits.target[1000:1080])
    assert main(["compile", str(tmp_path / "cnn.keras"), "--target", "cortex-m4", "--dtype",
                 "int8", "--calib", str(tmp_path / "calib.npz"), "-o", str(tmp_path / "lib")]) == 0
    result = validate(tmp_path / "lib", tmp_path / "test.npz", tmp_path / "cnn.keras",
                      board="mps2-an386", jobs=2)
    rows = _rows(result)
    assert result.runtime == "TensorFlow"
    assert rows["reference"]["rmse"] > 0 and rows["original"]["rmse"] != rows["cross"]["rmse"]
    assert rows["original"]["acc"] > 0.8 and rows["original"]["nse"] > 0.9
