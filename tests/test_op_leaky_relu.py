"""LeakyRelu: C kernel vs numpy reference (bit-exact int8), reference vs TFLite Micro."""

import numpy as np
import pytest

from activation_cases import (SHAPES, assert_float_matches_tflm, assert_int8_sweep_matches_tflm,
                              one_node_graph, sweep_inputs)
from helpers import assert_c_matches_ref, random_inputs
from tinyml.ops.leaky_relu import LeakyReluAttrs

# (input scale, input zero point, output scale, output zero point, alpha)
CASES = [(0.1, 0, 0.1, 0, 0.2), (0.1, -20, 0.05, -128, 0.01), (0.05, 10, 0.2, 3, 1.5),
         (0.05, 10, 0.03, 3, -0.3), (0.02, 127, 0.5, -1, 0.1), (0.4, -128, 0.1, 100, 0.0)]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_int8_c_matches_reference(case, tmp_path):
    s, z, os_, oz, alpha = CASES[case]
    g = one_node_graph("LeakyRelu", SHAPES[case % len(SHAPES)], "int8", LeakyReluAttrs(alpha),
                       (s, z), (os_, oz))
    assert_c_matches_ref(g, sweep_inputs(g, np.random.default_rng(case)), tmp_path,
                         sanitize=case < 2)


@pytest.mark.parametrize("alpha", [0.1, -0.5])
def test_float_c_matches_reference(alpha, tmp_path):
    g = one_node_graph("LeakyRelu", SHAPES[3], "float32", LeakyReluAttrs(alpha))
    assert_c_matches_ref(g, random_inputs(g, 5, np.random.default_rng(0)), tmp_path, atol=1e-6,
                         sanitize=alpha > 0)


@pytest.mark.parametrize("case", CASES)
def test_int8_matches_tflite_micro(case, tmp_path):
    assert_int8_sweep_matches_tflm(tmp_path, "LEAKY_RELU", case[:2], case[2:4],
                                   "LeakyReluOptions", Alpha=case[4])


def test_float_matches_tflite_micro(tmp_path):
    assert_float_matches_tflm(tmp_path, "LEAKY_RELU", "LeakyReluOptions", Alpha=0.3)
