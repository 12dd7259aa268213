"""Relu: C kernel vs numpy reference (bit-exact int8), reference vs TFLite Micro.

TFLM's int8 RELU requantizes from the input to the output quantization."""

import numpy as np
import pytest

from activation_cases import (SHAPES, assert_float_matches_tflm, assert_int8_sweep_matches_tflm,
                              one_node_graph, sweep_inputs)
from helpers import assert_c_matches_ref, random_inputs

# (input scale, input zero point, output scale, output zero point)
QUANTS = [(0.1, 0, 0.1, 0), (0.1, -20, 0.05, -128), (0.05, 10, 0.2, 3), (0.02, 127, 0.02, 127),
          (0.3, -128, 0.01, -128)]


@pytest.mark.parametrize("case", range(len(QUANTS)))
def test_int8_c_matches_reference(case, tmp_path):
    quant = QUANTS[case]
    g = one_node_graph("Relu", SHAPES[case], "int8", None, quant[:2], quant[2:])
    assert_c_matches_ref(g, sweep_inputs(g, np.random.default_rng(case)), tmp_path,
                         sanitize=case < 2)


def test_float_c_matches_reference(tmp_path):
    g = one_node_graph("Relu", SHAPES[3], "float32")
    assert_c_matches_ref(g, random_inputs(g, 5, np.random.default_rng(0)), tmp_path,
                         sanitize=True)


@pytest.mark.parametrize("quant", QUANTS)
def test_int8_matches_tflite_micro(quant, tmp_path):
    assert_int8_sweep_matches_tflm(tmp_path, "RELU", quant[:2], quant[2:])


def test_float_matches_tflite_micro(tmp_path):
    assert_float_matches_tflm(tmp_path, "RELU")
