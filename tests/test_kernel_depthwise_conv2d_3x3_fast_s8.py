"""tinyml/kernels/depthwise_conv2d_3x3_fast_s8.py: chosen for 3x3 int8 depthwise layers
(dilation 1, stride_w 1 or 2, multiplier 1) on the cores without DSP (Cortex-M0, M0+, M3,
host) and not on the DSP cores; bit-exact against the numpy reference over odd channel
counts, SAME and VALID, strides 2 and 3, asymmetric pads, 1x1 spatial, batches, both clamps
and a left-shifting requantization, with bands of rows smaller than the output; region by
region equal to whole; scratch in Python equal to C's; and the same on the emulated
Cortex-M3 and Cortex-M0."""

from __future__ import annotations

import numpy as np
import pytest
from conv_cases import NONE, RELU, RELU6
from depthwise_dsp_cases import graph
from helpers import random_inputs
from portable_fast_checks import (
    BOARDS,
    assert_chosen_without_dsp,
    assert_host_scratch_regions,
    kernel_on,
)
from variant_checks import assert_board_matches_ref

from tinyml.kernels.depthwise_conv2d_3x3_fast_s8 import band_rows
from tinyml.kernels.depthwise_dsp import geometry

KERNEL = "tm_depthwise_conv2d_3x3_fast_s8"

#: (batch, H, W, Cin, multiplier, kernel, strides, dilations, padding, act), options
CASES = [
    ((1, 7, 9, 5, 1, (3, 3), (1, 1), (1, 1), "same", RELU), {}),
    ((1, 8, 7, 13, 1, (3, 3), (2, 2), (1, 1), "same", RELU6), {"full_range": True}),
    ((2, 6, 5, 6, 1, (3, 3), (1, 1), (1, 1), "valid", NONE), {"bias": False}),
    ((1, 1, 1, 7, 1, (3, 3), (1, 1), (1, 1), "same", NONE), {}),                 # 1x1 spatial
    ((1, 9, 10, 3, 1, (3, 3), (2, 2), (1, 1), "valid", NONE), {"left_shift": True}),
    ((1, 25, 5, 12, 1, (3, 3), (1, 1), (1, 1), "same", RELU), {"full_range": True}),  # kws-like
    ((1, 5, 11, 9, 1, (3, 3), (1, 2), (1, 1), (1, 0, 2, 1), RELU), {}),          # asymmetric pads
    ((1, 12, 3, 4, 1, (3, 3), (3, 1), (1, 1), "same", NONE), {}),                # stride_h 3
    ((1, 40, 300, 3, 1, (3, 3), (1, 1), (1, 1), "same", NONE), {}),              # bands of rows
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_chosen_bit_exact_scratch_regions(case, tmp_path):
    shape, options = CASES[case]
    g = graph(shape, 1100 + case, **options)
    assert_chosen_without_dsp(g, "dw", KERNEL)
    assert_host_scratch_regions(g, "dw", KERNEL, tmp_path, case, sanitize=case < 6)


def test_a_band_is_smaller_than_a_large_output():
    g = graph(CASES[-1][0], 3)
    assert 1 < band_rows(geometry(g.nodes[0], g)) < 40


def test_not_chosen_for_dilation_multipliers_or_other_kernels():
    for shape in ((1, 8, 8, 4, 1, (3, 3), (1, 1), (2, 2), "same", NONE),
                  (1, 8, 8, 4, 1, (5, 5), (1, 1), (1, 1), "same", NONE),
                  (1, 8, 8, 4, 2, (3, 3), (1, 1), (1, 1), "same", NONE),
                  (1, 8, 8, 4, 1, (3, 3), (1, 3), (1, 1), "same", NONE)):
        assert kernel_on(graph(shape, 3), "dw", "cortex-m3") != KERNEL, shape


@pytest.mark.slow
@pytest.mark.parametrize("board", BOARDS)
def test_on_board(board, tmp_path):
    shape, options = CASES[1]
    g = graph(shape, 1101, **options)
    rng = np.random.default_rng(1)
    assert assert_board_matches_ref(g, random_inputs(g, 3, rng), tmp_path, board) > 0
