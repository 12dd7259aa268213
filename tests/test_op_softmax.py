"""Softmax: C kernel vs numpy reference (bit-exact int8), reference vs TFLite Micro."""

import numpy as np
import pytest

from activation_cases import SHAPES, one_node_graph, single_op_tflite, sweep_inputs
from helpers import assert_c_matches_ref, random_inputs, run_ref, tflm_run
from tinyml.errors import UnsupportedError
from tinyml.frontends import load_model
from tinyml.ops.softmax import SoftmaxAttrs

OUT = (1 / 256, -128)
# (input scale, zero point, beta, shape): differences cut at diff_min (large scales), rows
# whose sum of exps is past TFLM's range (tiny scale, 700 wide), beta != 1
CASES = [(0.1, 0, 1.0, (1, 1)), (0.05, -20, 1.0, (3, 7)), (1.0, 3, 1.0, (1, 5, 5, 3)),
         (0.02, 5, 2.0, (2, 3, 4, 13)), (0.0004, -128, 1.0, (2, 700)),
         (0.25, 7, 0.3, (1, 1, 1, 257))]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_int8_c_matches_reference(case, tmp_path):
    scale, zero_point, beta, shape = CASES[case]
    g = one_node_graph("Softmax", shape, "int8", SoftmaxAttrs(beta), (scale, zero_point), OUT)
    assert_c_matches_ref(g, sweep_inputs(g, np.random.default_rng(case)), tmp_path,
                         sanitize=case < 2)


@pytest.mark.parametrize("case", range(2))
def test_float_c_matches_reference(case, tmp_path):
    g = one_node_graph("Softmax", SHAPES[case + 1], "float32", SoftmaxAttrs(1.0 + case))
    inputs = [4 * x for x in random_inputs(g, 5, np.random.default_rng(case))]
    assert_c_matches_ref(g, inputs, tmp_path, atol=1e-6, sanitize=case == 0)


@pytest.mark.parametrize("scale, zero_point, beta, depth", [
    (0.1, 0, 1.0, 10), (0.05, -20, 1.0, 256), (1.0, 3, 1.0, 7), (0.02, 5, 2.0, 33),
    (0.5, 0, 0.3, 4), (0.004, -128, 1.0, 300), (0.0001, 0, 1.0, 12), (0.3, 127, 1.0, 1)])
def test_int8_matches_tflite_micro(scale, zero_point, beta, depth, tmp_path):
    path = single_op_tflite(tmp_path / "softmax.tflite", "SOFTMAX", "int8", (4, depth),
                            (scale, zero_point), OUT, "SoftmaxOptions", Beta=beta)
    graph = load_model(path)
    rng = np.random.default_rng(depth)
    x = rng.integers(-128, 128, (8, 4, depth)).astype(np.int8)
    x[0] = rng.integers(100, 128, (4, depth))                     # many near the maximum
    x[1] = np.resize(np.arange(-128, 128, dtype=np.int8), (4, depth))
    np.testing.assert_array_equal(run_ref(graph, [x])[0], tflm_run(path, [x])[0])


def test_float_matches_tflite_micro(tmp_path):
    path = single_op_tflite(tmp_path / "softmax.tflite", "SOFTMAX", "float32", (3, 20),
                            options="SoftmaxOptions", Beta=0.7)
    graph = load_model(path)
    x = np.random.default_rng(0).normal(0, 3, (4, 3, 20)).astype(np.float32)
    np.testing.assert_allclose(run_ref(graph, [x])[0], tflm_run(path, [x])[0], atol=1e-6)


def test_int8_output_quantization_is_fixed():
    g = one_node_graph("Softmax", (1, 10), "int8", SoftmaxAttrs(), (0.1, 0), (1 / 128, 0))
    with pytest.raises(UnsupportedError, match="1/256"):
        run_ref(g, [np.zeros((1, 1, 10), np.int8)])
