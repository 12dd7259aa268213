"""HardSwish: C kernel vs numpy reference (bit-exact int8), reference vs TFLite Micro."""

import numpy as np
import pytest

from activation_cases import (SHAPES, assert_float_matches_tflm, assert_int8_sweep_matches_tflm,
                              one_node_graph, sweep_inputs)
from helpers import assert_c_matches_ref, random_inputs

# (input scale, input zero point, output scale, output zero point): the reluish multiplier
# shifts right (small input scales) and left (large ones)
QUANTS = [(0.1, 0, 0.1, 0), (0.1, -20, 0.05, -128), (0.05, 10, 0.02, 3), (0.5, 5, 0.01, -100),
          (0.002, 0, 0.3, 0), (0.02, -128, 0.015, -110), (3.0, 30, 2.0, -5)]


@pytest.mark.parametrize("case", range(len(QUANTS)))
def test_int8_c_matches_reference(case, tmp_path):
    quant = QUANTS[case]
    g = one_node_graph("HardSwish", SHAPES[case % len(SHAPES)], "int8", None, quant[:2],
                       quant[2:])
    assert_c_matches_ref(g, sweep_inputs(g, np.random.default_rng(case)), tmp_path,
                         sanitize=case < 2)


@pytest.mark.parametrize("case", range(3))
def test_float_c_matches_reference(case, tmp_path):
    rng = np.random.default_rng(case)
    g = one_node_graph("HardSwish", SHAPES[case + 1], "float32")
    inputs = [4 * x for x in random_inputs(g, 5, rng)]
    assert_c_matches_ref(g, inputs, tmp_path, atol=1e-6, sanitize=case == 0)


@pytest.mark.parametrize("quant", QUANTS)
def test_int8_matches_tflite_micro(quant, tmp_path):
    assert_int8_sweep_matches_tflm(tmp_path, "HARD_SWISH", quant[:2], quant[2:])


def test_float_matches_tflite_micro(tmp_path):
    assert_float_matches_tflm(tmp_path, "HARD_SWISH", scale=6.0)
