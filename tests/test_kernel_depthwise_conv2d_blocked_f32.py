"""tinyml/kernels/depthwise_conv2d_blocked_f32.py: chosen for float depthwise convs of depth
multiplier 1 on cores with an FPU, bit-identical to the portable kernel (host and Cortex-M4F)
and within tolerance of the reference over odd channel counts, SAME/VALID/explicit padding,
stride 2, dilation, 1x1 spatial and batches."""

from __future__ import annotations

import numpy as np
import pytest

from conv_cases import NONE, RELU, RELU6
from fpu_f32_checks import (assert_board_matches_portable, assert_chosen,
                            assert_matches_portable_and_ref, assert_same_contraction, kernel_on)
from helpers import random_inputs
from test_op_depthwise_conv2d import depthwise_graph
from tinyml.targets.cores import CORES

KERNEL, PORTABLE = "tm_depthwise_conv2d_blocked_f32", "tm_depthwise_conv2d_generic_f32"
#: (batch, H, W, C, multiplier, kernel, strides, dilations, padding, act), multiplier 1
CASES = [
    (1, 5, 7, 3, 1, (3, 3), (1, 1), (1, 1), "same", RELU),
    (1, 9, 8, 5, 1, (3, 3), (2, 2), (1, 1), "same", NONE),          # stride 2
    (1, 1, 1, 7, 1, (1, 1), (1, 1), (1, 1), "valid", RELU6),        # 1x1 spatial
    (1, 8, 11, 6, 1, (3, 2), (1, 2), (2, 1), "valid", NONE),        # dilation
    (2, 25, 5, 64, 1, (3, 3), (1, 1), (1, 1), "same", RELU),        # batch 2
    (1, 7, 9, 9, 1, (3, 3), (2, 1), (1, 1), (2, 0, 1, 3), RELU),    # explicit asymmetric
    (1, 3, 3, 2, 1, (5, 5), (3, 3), (1, 1), "same", NONE),          # kernel > image
    (1, 12, 14, 16, 1, (3, 3), (1, 1), (1, 1), "same", RELU6),      # mostly 4x4 blocks
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_chosen_and_bit_identical_to_portable(case, tmp_path):
    rng = np.random.default_rng(1300 + case)
    g = depthwise_graph(rng, CASES[case], "float32", bias=case != 3)
    assert_chosen(g, KERNEL, PORTABLE)
    assert_matches_portable_and_ref(g, random_inputs(g, 3, rng), tmp_path,
                                    sanitize=case in (1, 3, 5))


def test_depth_multiplier_above_1_takes_the_portable_kernel():
    rng = np.random.default_rng(5)
    g = depthwise_graph(rng, (1, 9, 8, 5, 2, (3, 3), (2, 2), (1, 1), "same", NONE), "float32")
    assert kernel_on(g, CORES["cortex-m4"]) == PORTABLE


def test_contracts_as_the_portable_kernel():
    assert_same_contraction(KERNEL, PORTABLE)


@pytest.mark.slow
def test_cortex_m4_bit_identical_to_portable(tmp_path):
    rng = np.random.default_rng(1399)
    g = depthwise_graph(rng, (1, 10, 11, 13, 1, (3, 3), (1, 1), (1, 1), "same", RELU6), "float32")
    fast, slow = assert_board_matches_portable(g, random_inputs(g, 2, rng), tmp_path)
    assert fast < slow / 2, (fast, slow)
