"""tinyml/kernels/conv2d_blocked_f32.py: chosen for one-group float convs on cores with an
FPU (the pointwise ones take the 1x1 variant, grouped ones the portable kernel), bit-identical
to the portable kernel (host and Cortex-M4F) and within tolerance of the reference over odd
channel counts, SAME/VALID/explicit padding, stride 2, dilation, 1x1 spatial and batches."""

from __future__ import annotations

import numpy as np
import pytest

from conv_cases import NONE, RELU, RELU6
from fpu_f32_checks import (assert_board_matches_portable, assert_chosen,
                            assert_matches_portable_and_ref, assert_same_contraction, kernel_on)
from helpers import random_inputs
from test_op_conv2d import conv_graph
from tinyml.targets.cores import CORES

KERNEL, PORTABLE = "tm_conv2d_blocked_f32", "tm_conv2d_generic_f32"
#: (batch, H, W, Cin, Cout, kernel, strides, dilations, padding, groups, act)
CASES = [
    (1, 5, 7, 3, 5, (3, 3), (1, 1), (1, 1), "same", 1, RELU),
    (1, 9, 8, 4, 6, (3, 3), (2, 2), (1, 1), "same", 1, NONE),          # stride 2
    (1, 1, 1, 7, 3, (3, 3), (1, 1), (1, 1), "same", 1, RELU6),         # 1x1 spatial
    (1, 6, 11, 5, 9, (2, 3), (2, 1), (2, 1), "valid", 1, NONE),        # dilation
    (1, 10, 4, 1, 8, (10, 4), (2, 2), (1, 1), "same", 1, RELU),
    (2, 7, 7, 5, 4, (3, 3), (1, 1), (1, 1), (2, 0, 1, 3), 1, RELU),    # explicit, batch 2
    (1, 3, 3, 2, 3, (5, 5), (3, 3), (1, 1), "same", 1, NONE),          # kernel > image
    (1, 12, 13, 16, 16, (3, 3), (1, 1), (1, 1), "same", 1, RELU6),     # mostly 4x4 blocks
    (1, 9, 9, 7, 10, (1, 1), (2, 2), (1, 1), "valid", 1, NONE),        # 1x1 stride 2
    (1, 8, 17, 3, 8, (3, 3), (2, 2), (1, 1), "same", 1, NONE),         # a first layer
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_chosen_and_bit_identical_to_portable(case, tmp_path):
    rng = np.random.default_rng(1200 + case)
    g = conv_graph(rng, CASES[case], "float32", bias=case != 3)
    assert_chosen(g, KERNEL, PORTABLE)
    assert_matches_portable_and_ref(g, random_inputs(g, 3, rng), tmp_path,
                                    sanitize=case in (1, 3, 5))


def test_grouped_conv_takes_the_portable_kernel():
    rng = np.random.default_rng(4)
    g = conv_graph(rng, (1, 6, 5, 6, 9, (2, 3), (2, 1), (2, 1), "valid", 3, NONE), "float32")
    assert kernel_on(g, CORES["cortex-m4"]) == PORTABLE


def test_contracts_as_the_portable_kernel():
    assert_same_contraction(KERNEL, PORTABLE)


@pytest.mark.slow
def test_cortex_m4_bit_identical_to_portable(tmp_path):
    rng = np.random.default_rng(1299)
    g = conv_graph(rng, (1, 9, 10, 6, 10, (3, 3), (2, 2), (1, 1), "same", 1, RELU), "float32")
    fast, slow = assert_board_matches_portable(g, random_inputs(g, 2, rng), tmp_path)
    assert fast < slow / 2, (fast, slow)
