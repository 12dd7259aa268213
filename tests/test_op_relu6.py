"""Relu6: C kernel vs numpy reference (bit-exact int8), reference vs TFLite Micro.

TFLM's int8 RELU6 clamps the raw input to [zero point, quantized 6] in the input's
quantization and ignores the output's: the cases with differing quantization check that."""

import numpy as np
import pytest

from activation_cases import (SHAPES, assert_float_matches_tflm, assert_int8_sweep_matches_tflm,
                              one_node_graph, sweep_inputs)
from helpers import assert_c_matches_ref, random_inputs

# (input scale, input zero point, output scale, output zero point); 6.0 saturates at 0.01
QUANTS = [(0.1, 0, 0.1, 0), (0.03, -20, 0.03, -20), (0.05, 10, 0.2, 3), (0.01, -128, 0.01, -128),
          (6 / 255, -128, 0.5, 0)]


@pytest.mark.parametrize("case", range(len(QUANTS)))
def test_int8_c_matches_reference(case, tmp_path):
    quant = QUANTS[case]
    g = one_node_graph("Relu6", SHAPES[case], "int8", None, quant[:2], quant[2:])
    assert_c_matches_ref(g, sweep_inputs(g, np.random.default_rng(case)), tmp_path,
                         sanitize=case < 2)


def test_float_c_matches_reference(tmp_path):
    g = one_node_graph("Relu6", SHAPES[3], "float32")
    inputs = [5 * x for x in random_inputs(g, 5, np.random.default_rng(0))]
    assert_c_matches_ref(g, inputs, tmp_path, sanitize=True)


@pytest.mark.parametrize("quant", QUANTS)
def test_int8_matches_tflite_micro(quant, tmp_path):
    assert_int8_sweep_matches_tflm(tmp_path, "RELU6", quant[:2], quant[2:])


def test_float_matches_tflite_micro(tmp_path):
    assert_float_matches_tflm(tmp_path, "RELU6", scale=10.0)
