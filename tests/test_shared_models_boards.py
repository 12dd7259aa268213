"""The MLPerf Tiny int8 models of ../shared/models on each emulated core, against TFLite Micro
bit for bit: the DSP kernels on the Cortex-M4, M7 and M33, the portable ones on the M3, and
the M0 for the models that fit its 16 KB (hello_world; the others are refused by the budget
check, tests/test_boards_more.py); the M4's kernels also on the host, through tm_dsp.h's
portable C. On the M4 the issue's targets hold: instructions per inference at most 0.6x TFLite
Micro + CMSIS-NN's (measured on the same board, plugin and input: ../shared/FACTS.md), and
flash (text + data of the eval firmware) at most 1.25x of the portable kernels' and below
TFLite Micro + CMSIS-NN's text."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import tflm_run
from tinyml.compiler import compile_model, write
from tinyml.harness.host import run_host
from tinyml.harness.qemu import run_on_board
from tinyml.targets.boards import get_board

MLPERF = {"kws": "mlperf_tiny/kws/kws_ref_model.tflite", "vww": "mlperf_tiny/vww/vww_96_int8.tflite",
          "ic": "mlperf_tiny/ic/pretrainedResnet_quant.tflite", "ad": "mlperf_tiny/ad/ad01_int8.tflite"}
BOARDS = ["mps2-an386", "mps2-an500", "mps2-an505", "mps2-an385"]
#: ../shared/FACTS.md, "TFLite Micro + CMSIS-NN side by side (measured on mps2-an386)"
CMSIS_NN_INSTRUCTIONS = {"kws": 7_697_920, "vww": 24_101_940, "ic": 29_863_230, "ad": 582_942}
CMSIS_NN_TEXT = {"kws": 138_788, "vww": 445_292, "ic": 180_784, "ad": 309_636}
#: flash of the eval firmware with the portable kernels, before the DSP kernels (issue 7)
PORTABLE_FLASH = {"kws": 37_748, "vww": 252_336, "ic": 90_236, "ad": 288_568}


def _inputs(path, count, seed):
    from tinyml.frontends import load_model
    graph = load_model(path)
    t = graph.tensor(graph.inputs[0])
    return np.random.default_rng(seed).integers(-128, 128, (count, *t.shape)).astype(np.int8)


def _library(shared_models, tmp_path_factory, name, core):
    folder = tmp_path_factory.mktemp(f"{name}-{core}") / name
    write(compile_model(shared_models / MLPERF[name], name=name, target=core), folder, core)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize("name", list(MLPERF))
def test_bit_identical_to_tflite_micro_on_each_core(name, board, shared_models,
                                                    tmp_path_factory):
    core = get_board(board).core.name
    folder = _library(shared_models, tmp_path_factory, name, core)
    x = _inputs(shared_models / MLPERF[name], 2, seed=len(name) + len(board))
    want = tflm_run(shared_models / MLPERF[name], [x])[0]
    got, stats = run_on_board(folder, board, [x], timeout=900)
    np.testing.assert_array_equal(got[0], want)
    if board == "mps2-an386":
        np.testing.assert_array_equal(run_host(folder, [x]), [want])


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MLPERF))
def test_cortex_m4_instructions_and_flash_meet_the_targets(name, shared_models,
                                                           tmp_path_factory):
    """The input is firmware_report's (default_rng(0) integers), as the FACTS figures'."""
    folder = _library(shared_models, tmp_path_factory, name, "cortex-m4")
    x = np.random.default_rng(0).integers(-128, 128, _inputs(shared_models / MLPERF[name], 1,
                                                             0).shape[1:]).astype(np.int8)
    _, stats = run_on_board(folder, "mps2-an386", [x], timeout=900)
    assert stats.instructions <= 0.6 * CMSIS_NN_INSTRUCTIONS[name], stats.instructions
    flash = stats.text + stats.data
    assert flash <= 1.25 * PORTABLE_FLASH[name] and flash < CMSIS_NN_TEXT[name], flash


@pytest.mark.slow
def test_hello_world_on_the_cortex_m0(shared_models, tmp_path_factory):
    path = shared_models / "tflm/hello_world_int8.tflite"
    folder = tmp_path_factory.mktemp("hello-m0") / "hello"
    write(compile_model(path, name="hello", target="cortex-m0"), folder, "cortex-m0")
    x = _inputs(path, 16, seed=3)
    got, _ = run_on_board(folder, "microbit", [x], timeout=300)
    np.testing.assert_array_equal(got[0], tflm_run(path, [x])[0])
