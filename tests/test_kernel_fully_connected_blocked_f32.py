"""tinyml/kernels/fully_connected_blocked_f32.py: chosen for float fully connected layers on
cores with an FPU, bit-identical to the portable kernel (host and Cortex-M4F) and within
tolerance of the reference over odd feature counts, batches of 1 and of leftover rows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fpu_f32_checks import (assert_board_matches_portable, assert_chosen,
                            assert_matches_portable_and_ref, assert_same_contraction)
from helpers import random_inputs
from test_op_fully_connected import fc_graph

KERNEL, PORTABLE = "tm_fully_connected_blocked_f32", "tm_fully_connected_generic_f32"
NONE, RELU = (-math.inf, math.inf), (0.0, math.inf)
#: (batch, in features, out features, act)
CASES = [(1, 9, 5, NONE), (1, 640, 128, RELU), (2, 13, 3, NONE), (5, 7, 11, RELU),
         (8, 16, 8, NONE), (1, 1, 1, RELU)]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_chosen_and_bit_identical_to_portable(case, tmp_path):
    rng = np.random.default_rng(1400 + case)
    batch, n_in, n_out, act = CASES[case]
    g = fc_graph(rng, batch, n_in, n_out, "float32", act, bias=case != 2)
    assert_chosen(g, KERNEL, PORTABLE)
    assert_matches_portable_and_ref(g, random_inputs(g, 3, rng), tmp_path, sanitize=case == 3)


def test_contracts_as_the_portable_kernel():
    assert_same_contraction(KERNEL, PORTABLE)


@pytest.mark.slow
def test_cortex_m4_bit_identical_to_portable(tmp_path):
    rng = np.random.default_rng(1499)
    g = fc_graph(rng, 1, 128, 37, "float32", RELU)
    fast, slow = assert_board_matches_portable(g, random_inputs(g, 2, rng), tmp_path)
    assert fast < slow / 1.5, (fast, slow)
