"""MCUNetV2's case on a real architecture: keras.applications.MobileNetV2 (alpha 0.35,
144x144x3, weights=None), made int8 here with a random-data calibration. With --patch auto
the peak (the arena; the 62 KB input image is the caller's) falls at least 4x below
layer-by-layer for at most 15% extra MACs, and the patched C computes outputs bit-identical
to the layer-by-layer C and to the numpy reference, on the host (ASan/UBSan, the Cortex-M4's
kernels) and in QEMU on the Cortex-M4.

The model is built without its classifier (include_top=False, pooling="avg"): with random
weights its logits shrink to about 1e-9 through 52 layers, and an int8 Softmax at such a scale
is refused, as TFLite refuses it (tinyml/ops/softmax.py); the layers that set the peak are all
there."""

from __future__ import annotations

import os

import numpy as np
import pytest

from helpers import run_ref
from memory_checks import run_lowered
from tinyml.codegen import lower_model
from tinyml.harness.qemu import run_on_board
from tinyml.codegen import write_library
from tinyml.plan.planner import PlanOptions
from variant_checks import M4


@pytest.fixture(scope="module")
def mobilenet(tmp_path_factory):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import keras
    except ImportError:
        pytest.skip("tensorflow is not installed (the [tf] extra: pip install tinyml[tf])")
    from tinyml.frontends import load_model
    from tinyml.passes import run_pipeline
    from tinyml.quant import quantize_graph
    path = tmp_path_factory.mktemp("mobilenetv2") / "mobilenetv2.keras"
    keras.utils.set_random_seed(0)
    keras.applications.MobileNetV2(alpha=0.35, input_shape=(144, 144, 3), weights=None,
                                   include_top=False, pooling="avg").save(path)
    calib = np.random.default_rng(0).uniform(-1, 1, (4, 144, 144, 3)).astype(np.float32)
    return quantize_graph(run_pipeline(load_model(path)), calib)


@pytest.mark.tf
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")   # Keras's own, on NumPy 2
def test_patches_cut_the_peak_four_times_for_at_most_15_percent_more_macs(mobilenet, tmp_path):
    auto = lower_model(mobilenet, "m", M4, options=PlanOptions(patch="auto"))
    flat = lower_model(mobilenet, "m", M4, options=PlanOptions(patch="off"))
    stage = auto.layout.decisions.stage
    macs = sum(l.macs for l in flat.layers)
    assert stage is not None and stage.extra_macs <= 0.15 * macs
    assert flat.plan.size >= 4 * auto.plan.size, (flat.plan.size, auto.plan.size)

    x = np.random.default_rng(1).integers(-128, 128, (2, 1, 144, 144, 3)).astype(np.int8)
    patched = run_lowered(auto, [x], tmp_path / "patches")
    layered = run_lowered(flat, [x], tmp_path / "layers")
    np.testing.assert_array_equal(patched[0], layered[0])
    np.testing.assert_array_equal(patched[0][:1], run_ref(mobilenet, [x[:1]])[0])   # numpy, not C

    write_library(auto, tmp_path / "board")
    on_board, stats = run_on_board(tmp_path / "board", "mps2-an386", [x[:1]], timeout=600)
    np.testing.assert_array_equal(on_board[0], layered[0][:1])
    assert stats.status == 0
