"""Logistic: C kernel vs numpy reference (bit-exact int8), reference vs TFLite Micro."""

import numpy as np
import pytest

from activation_cases import (SHAPES, assert_float_matches_tflm, assert_int8_sweep_matches_tflm,
                              one_node_graph, sweep_inputs)
from helpers import assert_c_matches_ref, random_inputs

OUT = (1 / 256, -128)
IN_QUANTS = [(0.004, 3), (0.02, -128), (0.08, 0), (0.5, 100), (2.0, -9)]


@pytest.mark.parametrize("case", range(len(IN_QUANTS)))
def test_int8_c_matches_reference(case, tmp_path):
    g = one_node_graph("Logistic", SHAPES[case], "int8", None, IN_QUANTS[case], OUT)
    assert_c_matches_ref(g, sweep_inputs(g, np.random.default_rng(case)), tmp_path,
                         sanitize=case < 2)


@pytest.mark.parametrize("case", range(3))
def test_float_c_matches_reference(case, tmp_path):
    g = one_node_graph("Logistic", SHAPES[case + 1], "float32")
    inputs = [8 * x for x in random_inputs(g, 5, np.random.default_rng(case))]
    assert_c_matches_ref(g, inputs, tmp_path, atol=1e-6, sanitize=case == 0)


@pytest.mark.parametrize("scale", [0.001, 0.01, 0.05, 0.1, 0.3, 1.0, 5.0])
@pytest.mark.parametrize("zero_point", [-128, -3, 0, 64])
def test_int8_matches_tflite_micro(scale, zero_point, tmp_path):
    assert_int8_sweep_matches_tflm(tmp_path, "LOGISTIC", (scale, zero_point), OUT)


def test_float_matches_tflite_micro(tmp_path):
    assert_float_matches_tflm(tmp_path, "LOGISTIC", scale=20.0)
