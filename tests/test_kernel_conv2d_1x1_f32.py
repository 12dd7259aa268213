"""tinyml/kernels/conv2d_1x1_f32.py: chosen for pointwise float convs on cores with an FPU,
bit-identical to the portable kernel (host and Cortex-M4F) and within tolerance of the
reference over odd channel counts, leftover pixels and batches; weights packed by 4."""

from __future__ import annotations

import numpy as np
import pytest

from conv_cases import NONE, RELU, RELU6
from fpu_f32_checks import (assert_board_matches_portable, assert_chosen,
                            assert_matches_portable_and_ref, assert_same_contraction)
from helpers import random_inputs
from test_op_conv2d import conv_graph
from tinyml.kernels.fpu_f32 import pack_by_4

KERNEL, PORTABLE = "tm_conv2d_1x1_f32", "tm_conv2d_generic_f32"
#: (batch, H, W, Cin, Cout, kernel, strides, dilations, padding, groups, act), all pointwise
CASES = [
    (1, 1, 1, 7, 3, (1, 1), (1, 1), (1, 1), "valid", 1, RELU6),     # 1x1 spatial, Cout < 4
    (2, 3, 5, 13, 11, (1, 1), (1, 1), (1, 1), "valid", 1, NONE),    # 15 pixels, batch 2
    (1, 7, 2, 1, 9, (1, 1), (1, 1), (1, 1), "valid", 1, RELU),
    (1, 4, 4, 37, 16, (1, 1), (1, 1), (1, 1), "valid", 1, RELU6),   # full blocks only
    (1, 6, 6, 8, 24, (1, 1), (1, 1), (1, 1), "valid", 1, NONE),
]


def test_pack_by_4():
    w = np.arange(6 * 3, dtype=np.float32).reshape(6, 3)
    packed = pack_by_4(w)
    assert packed.shape == (18,)
    np.testing.assert_array_equal(packed[:12].reshape(3, 4), w[:4].T)   # k-major, 4 channels
    np.testing.assert_array_equal(packed[12:], w[4:].reshape(-1))       # leftovers as rows
    np.testing.assert_array_equal(pack_by_4(w[:3]), w[:3].reshape(-1))


@pytest.mark.parametrize("case", range(len(CASES)))
def test_chosen_and_bit_identical_to_portable(case, tmp_path):
    rng = np.random.default_rng(1100 + case)
    g = conv_graph(rng, CASES[case], "float32", bias=case != 2)
    assert_chosen(g, KERNEL, PORTABLE)
    assert_matches_portable_and_ref(g, random_inputs(g, 3, rng), tmp_path, sanitize=case == 1)


def test_strided_or_padded_1x1_is_not_pointwise():
    rng = np.random.default_rng(3)
    g = conv_graph(rng, (1, 5, 5, 4, 8, (1, 1), (2, 2), (1, 1), "valid", 1, NONE), "float32")
    assert_chosen(g, "tm_conv2d_blocked_f32", PORTABLE)


def test_contracts_as_the_portable_kernel():
    assert_same_contraction(KERNEL, PORTABLE)


@pytest.mark.slow
def test_cortex_m4_bit_identical_to_portable(tmp_path):
    rng = np.random.default_rng(1199)
    g = conv_graph(rng, (1, 5, 7, 13, 11, (1, 1), (1, 1), (1, 1), "valid", 1, RELU6), "float32")
    fast, slow = assert_board_matches_portable(g, random_inputs(g, 2, rng), tmp_path)
    assert fast < slow / 2, (fast, slow)
