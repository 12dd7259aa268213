"""MLPerf Tiny int8 models compiled by tinyml, run in QEMU, against TFLite Micro.

A model the compiler cannot compile yet is skipped with the compiler's reason.
"""

import subprocess
import sys

import numpy as np
import pytest

from conftest import QEMU_BOARDS, SHARED
from tinyml.harness.qemu import run_on_board

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
            done = subprocess.run([sys.executable, "-m", "tinyml.cli", "compile", str(model),
                                   "--target", "cortex-m4", "-o", str(out)], capture_output=True, text=True)
            cache[name] = (model, out, done.stderr.strip().splitlines()[-1:] if done.returncode else None)
        model, out, error = cache[name]
        if error:
            pytest.skip(f"tinyml compile cannot compile {name} yet: {error[0][-200:]}")
        return model, out
    return get


def _tflm(model, xs):
    runtime = pytest.importorskip("tflite_micro").runtime
    interp = runtime.Interpreter.from_file(str(model), arena_size=2_000_000)
    outs = []
    for x in xs:
        interp.set_input(x, 0)
        interp.invoke()
        outs.append(interp.get_output(0).copy())
    return np.stack(outs)


@pytest.mark.parametrize("board", QEMU_BOARDS)
@pytest.mark.parametrize("name", list(MODELS))
def test_bit_exact_with_tflite_micro(compiled, name, board):
    model, folder = compiled(name)
    from tinyml.harness.model_dir import read_model_dir
    spec = read_model_dir(folder).inputs[0]
    info = np.iinfo(spec.dtype)
    xs = np.random.default_rng(3).integers(info.min, info.max + 1, size=(10, *spec.shape)).astype(spec.dtype)
    outs, stats = run_on_board(folder, board, [xs])
    np.testing.assert_array_equal(outs[0], _tflm(model, xs))
    _, again = run_on_board(folder, board, [xs])
    assert stats.sample_instructions == again.sample_instructions
    assert sum(stats.layer_instructions) == stats.instructions
