"""tinyml/kernels/conv2d_im2col_fast_s8.py: chosen for one-group int8 convs that are not
pointwise on the cores without DSP (Cortex-M0, M0+, M3, host) and not on the DSP cores;
bit-exact against the numpy reference over odd channel counts and depths, SAME and VALID,
stride 2, dilation, explicit pads, a kernel larger than the image, 1x1 spatial and
batches; region by region equal to whole; scratch in Python equal to C's; and the same on
the emulated Cortex-M3 and Cortex-M0."""

from __future__ import annotations

import numpy as np
import pytest
from conv_cases import NONE, RELU, RELU6
from helpers import random_inputs
from portable_fast_checks import (
    BOARDS,
    assert_chosen_without_dsp,
    assert_host_scratch_regions,
    kernel_on,
)
from test_op_conv2d import conv_graph
from variant_checks import assert_board_matches_ref

KERNEL = "tm_conv2d_im2col_fast_s8"

#: (batch, H, W, Cin, Cout, kernel, strides, dilations, padding, groups, act)
CASES = [
    (1, 49, 10, 1, 64, (10, 4), (2, 2), (1, 1), "same", 1, RELU),     # kws's first layer
    (1, 9, 8, 4, 6, (3, 3), (2, 2), (1, 1), "same", 1, NONE),         # stride 2
    (1, 11, 9, 3, 8, (3, 3), (2, 2), (1, 1), "valid", 1, RELU6),      # vww's first, odd size
    (1, 8, 9, 16, 7, (3, 3), (1, 1), (1, 1), "same", 1, NONE),        # ic's, 7 channels
    (2, 6, 5, 5, 9, (2, 3), (2, 1), (2, 1), "valid", 1, NONE),        # dilation, batches
    (1, 7, 7, 5, 4, (3, 3), (1, 1), (1, 1), (2, 0, 1, 3), 1, RELU),   # explicit asymmetric
    (1, 3, 3, 2, 3, (5, 5), (3, 3), (1, 1), "same", 1, NONE),         # kernel > image
    (1, 1, 1, 8, 5, (1, 1), (2, 2), (1, 1), "valid", 1, NONE),        # 1x1 spatial, stride 2
    (1, 8, 8, 13, 10, (1, 1), (2, 2), (1, 1), "valid", 1, RELU),      # ic's 1x1 stride 2
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_chosen_bit_exact_scratch_regions(case, tmp_path):
    rng = np.random.default_rng(900 + case)
    g = conv_graph(rng, CASES[case], "int8", per_channel=case % 2 == 0, bias=case != 2)
    assert_chosen_without_dsp(g, "conv", KERNEL)
    assert_host_scratch_regions(g, "conv", KERNEL, tmp_path, case, sanitize=case < 4)


def test_grouped_conv_is_not_chosen():
    g = conv_graph(np.random.default_rng(1), (1, 6, 5, 6, 9, (2, 3), (2, 1), (2, 1), "valid", 3,
                                             NONE), "int8")
    assert kernel_on(g, "conv", "cortex-m3") == "tm_conv2d_generic_s8"


@pytest.mark.slow
@pytest.mark.parametrize("board", BOARDS)
def test_on_board(board, tmp_path):
    rng = np.random.default_rng(901)
    g = conv_graph(rng, CASES[5], "int8")
    assert assert_board_matches_ref(g, random_inputs(g, 3, rng), tmp_path, board) > 0
