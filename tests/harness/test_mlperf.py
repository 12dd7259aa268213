"""MLPerf Tiny int8 models compiled by tinyml, run in QEMU, against TFLite Micro."""

import subprocess
import sys

import numpy as np
import pytest

from conftest import QEMU_BOARDS, SHARED
from tinyml.harness.qemu import run_on_board
from tinyml.references import tflm_run

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

MODELS = {
    "ad": "ad/ad01_int8.tflite",
    "kws": "kws/kws_ref_model.tflite",
    "vww": "vww/vww_96_int8.tflite",
    "ic": "ic/pretrainedResnet_quant.tflite",
}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    cache = {}

    def get(name):
        if name not in cache:
            model = SHARED / "mlperf_tiny" / MODELS[name]
            if not model.exists():
                pytest.skip(f"{model} not present")
            out = tmp_path_factory.mktemp(name) / f"{name}_tinyml"
            done = subprocess.run([sys.executable, "-m", "tinyml", "compile", str(model),
                                   "--target", "cortex-m4", "-o", str(out)], capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
            cache[name] = (model, out)
        return cache[name]
    return get


@pytest.mark.parametrize("board", QEMU_BOARDS)
@pytest.mark.parametrize("name", list(MODELS))
def test_bit_exact_with_tflite_micro(compiled, name, board):
    model, folder = compiled(name)
    from tinyml.harness.model_dir import read_model_dir
    spec = read_model_dir(folder).inputs[0]
    info = np.iinfo(spec.dtype)
    xs = np.random.default_rng(3).integers(info.min, info.max + 1, size=(10, *spec.shape)).astype(spec.dtype)
    outs, stats = run_on_board(folder, board, [xs])
    np.testing.assert_array_equal(outs[0], tflm_run(model, [xs])[0])
    _, again = run_on_board(folder, board, [xs])
    assert stats.sample_instructions == again.sample_instructions
    assert sum(stats.layer_instructions) == stats.instructions
