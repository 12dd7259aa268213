"""The real third-party models of ../shared/models, compiled and run through the CLI, against
TFLite Micro (int8: bit for bit; float32: within 1e-4 of the output range)."""

import shutil
import subprocess

import numpy as np
import pytest

from helpers import tflm_run
from tinyml.cli import main as cli

INT8_MODELS = ["mlperf_tiny/kws/kws_ref_model.tflite", "mlperf_tiny/vww/vww_96_int8.tflite",
               "mlperf_tiny/ic/pretrainedResnet_quant.tflite", "mlperf_tiny/ad/ad01_int8.tflite",
               "tflm/hello_world_int8.tflite"]
FLOAT_MODELS = ["mlperf_tiny/vww/vww_96_float.tflite", "mlperf_tiny/ic/pretrainedResnet.tflite",
                "mlperf_tiny/ad/ad01_fp32.tflite", "tflm/hello_world_float.tflite"]
SAMPLES = 50


def _compile(model, outdir, *extra):
    assert cli(["compile", str(model), "-o", str(outdir), *extra]) == 0


def _run_cli(outdir, inputs, tmp_path):
    np.save(tmp_path / "in.npy", inputs)
    assert cli(["run", str(outdir), "--input", str(tmp_path / "in.npy"),
                "--output", str(tmp_path / "out.npy")]) == 0
    return np.load(tmp_path / "out.npy")


def _random_inputs(model_path, count, seed):
    from tinyml.frontends import load_model
    graph = load_model(model_path)
    t = graph.tensor(graph.inputs[0])
    rng = np.random.default_rng(seed)
    if t.dtype == "int8":
        return rng.integers(-128, 128, (count, *t.shape)).astype(np.int8)
    return rng.uniform(-1.0, 1.0, (count, *t.shape)).astype(np.float32)


@pytest.mark.parametrize("rel", INT8_MODELS)
def test_int8_model_bit_identical_to_tflite_micro(rel, shared_models, tmp_path):
    model = shared_models / rel
    _compile(model, tmp_path / "lib", "--target", "host")
    inputs = _random_inputs(model, SAMPLES, seed=len(rel))
    got = _run_cli(tmp_path / "lib", inputs, tmp_path)
    want = tflm_run(model, [inputs])[0]
    assert got.dtype == want.dtype == np.int8
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("rel", FLOAT_MODELS)
def test_float_model_matches_tflite_micro(rel, shared_models, tmp_path):
    model = shared_models / rel
    _compile(model, tmp_path / "lib")
    inputs = _random_inputs(model, 10, seed=len(rel))
    got = _run_cli(tmp_path / "lib", inputs, tmp_path)
    want = tflm_run(model, [inputs])[0]
    span = float(want.max() - want.min()) or 1.0
    assert np.max(np.abs(got - want)) <= 1e-4 * span


@pytest.mark.parametrize("rel", INT8_MODELS + FLOAT_MODELS + ["onnx/mnist-8/model.onnx"])
def test_generated_c_is_strict_and_sanitizer_clean(rel, shared_models, tmp_path):
    """-std=c99 -Wall -Wextra -Werror on the host (inside run_host), ASan+UBSan at run time,
    and arm-none-eabi-gcc for cortex-m4."""
    from tinyml.harness.host import run_host
    model = shared_models / rel
    _compile(model, tmp_path / "lib", "--target", "cortex-m4")
    run_host(tmp_path / "lib", [_random_inputs(model, 2, seed=1)], sanitize=True)
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc is not installed (the set-up command installs it)")
    for src in (tmp_path / "lib").glob("*.c"):
        obj = tmp_path / (src.stem + ".o")
        subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
                        "-mfpu=fpv4-sp-d16", "-O2", "-std=c99", "-Wall", "-Wextra", "-Werror",
                        "-c", str(src), "-o", str(obj)], check=True, capture_output=True)
        symbols = subprocess.run(["arm-none-eabi-nm", str(obj)], capture_output=True, text=True,
                                 check=True).stdout
        mutable = [line for line in symbols.splitlines() if line.split()[-2:-1] in
                   (["D"], ["d"], ["B"], ["b"], ["C"])]
        assert not mutable, f"mutable globals in {src.name}: {mutable}"
