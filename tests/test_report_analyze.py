"""The analyze report (compile/inspect --format table|markdown|json, report.json): per layer
a name, ROM and RAM bytes; the ROM sums to the weights total, the peak layer is marked and its
RAM is the arena; the totals add up to flash and RAM in all."""

from __future__ import annotations

import json

import pytest

from test_cli import tinyml
from tinyml.codegen.report import build_report
from tinyml.compiler import compile_model

SHARED = ["mlperf_tiny/kws/kws_ref_model.tflite", "mlperf_tiny/vww/vww_96_int8.tflite",
          "mlperf_tiny/ic/pretrainedResnet_quant.tflite", "mlperf_tiny/ad/ad01_int8.tflite",
          "tflm/hello_world_int8.tflite", "tflm/hello_world_float.tflite", "onnx/mnist-8/model.onnx"]


def assert_analyze(report: dict) -> None:
    layers = report["layers"]
    assert all(layer["source"] for layer in layers)
    train_rom = report["train"]["rom_bytes"] if report["train"] else 0
    assert sum(layer["rom_bytes"] for layer in layers) + train_rom == report["flash_bytes"]
    peak = layers[report["peak_step"]]
    assert peak["ram_bytes"] == report["arena_bytes"] == max(l["ram_bytes"] for l in layers)
    m = report["memory"]
    arena = report["train"]["train_arena_bytes"] if report["train"] else report["arena_bytes"]
    assert m["weights_bytes"] == report["flash_bytes"] and m["activations_bytes"] == arena
    assert m["ram_total_bytes"] == (m["activations_bytes"] + m["state_bytes"] + m["input_bytes"]
                                    + m["output_bytes"] + m["stack_bytes_estimate"])
    assert m["flash_total_bytes"] == m["weights_bytes"] + m["code_bytes_estimate"]


@pytest.mark.parametrize("rel", SHARED)
def test_shared_models_report_rom_and_ram_per_layer(rel, shared_models):
    path = shared_models / rel
    if not path.exists():
        path = next((shared_models / rel).parent.glob("*.onnx"))
    assert_analyze(build_report(compile_model(path, target="cortex-m4").code))


def test_training_constants_count_apart():
    from tinyml.train.spec import TrainSpec
    from helpers import run_ref  # noqa: F401  (the suite's path setup)
    from test_train import cnn
    from tinyml.codegen import lower_model
    from tinyml.train.plan import build_plan
    plan = build_plan(cnn(), TrainSpec("last", last=2))
    report = build_report(lower_model(plan.graph, "net", train=plan))
    assert report["train"]["rom_bytes"] > 0
    assert_analyze(report)


@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
def test_formats(fmt, tmp_path):
    from pathlib import Path
    model = Path(__file__).resolve().parents[1] / "examples" / "digits_mlp.onnx"
    proc = tinyml("inspect", model, "--format", fmt)
    assert proc.returncode == 0, proc.stderr
    if fmt == "json":
        assert_analyze(json.loads(proc.stdout))
        return
    rows = [line for line in proc.stdout.splitlines() if "FullyConnected" in line or "Softmax" in line]
    assert len(rows) == 3 and sum("<- peak" in r for r in rows) == 1
    assert "h" in rows[0] and "8,320" in rows[0]                    # name, ROM of layer 0
    assert "flash ~" in proc.stdout and "RAM ~" in proc.stdout
    if fmt == "markdown":
        assert all(r.startswith("| ") and r.endswith(" |") for r in rows)
        assert "|---|---|---|---|---:|" in proc.stdout


@pytest.mark.tf
def test_keras_layer_names(tmp_path):
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((6, 6, 1)),
                              keras.layers.Conv2D(4, 3, activation="relu", name="stem"),
                              keras.layers.Flatten(name="flat"),
                              keras.layers.Dense(3, activation="softmax", name="head")])
    model.save(tmp_path / "m.keras")
    report = build_report(compile_model(tmp_path / "m.keras").code)
    assert [l["source"] for l in report["layers"]] == ["stem", "flat", "head", "head"]
