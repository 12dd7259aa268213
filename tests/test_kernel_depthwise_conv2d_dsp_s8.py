"""tinyml/kernels/depthwise_conv2d_dsp_s8.py: chosen for the int8 depthwise layers the 3x3
variant does not take (other kernels, dilations, strides) on the DSP cores only; on the host
bit-exact against the numpy reference over odd channel counts, SAME and VALID, stride 2 and 3,
dilations (the SMLAD tap-pair path with dilation_w 1, one multiply per tap otherwise), 1x1
spatial and kernels, a kernel larger than the image, depth multipliers, batches and a
left-shifting requantization; region by region equal to whole; its scratch size in Python
equal to C's; and on the Cortex-M4 in QEMU."""

from __future__ import annotations

import numpy as np
import pytest
from conv_cases import NONE, RELU, RELU6
from depthwise_dsp_cases import assert_chosen, assert_scratch_and_regions, graph
from helpers import random_inputs
from variant_checks import assert_board_matches_ref, assert_host_matches_ref

KERNEL = "tm_depthwise_conv2d_dsp_s8"

#: (batch, H, W, Cin, multiplier, kernel, strides, dilations, padding, act), options
CASES = [
    ((1, 9, 8, 5, 1, (5, 5), (1, 1), (1, 1), "same", RELU), {}),
    ((1, 9, 9, 7, 2, (5, 3), (2, 2), (1, 1), "same", RELU6), {"full_range": True}),
    ((1, 8, 6, 6, 3, (3, 2), (1, 2), (2, 1), "valid", NONE), {"bias": False}),   # dilation_h
    ((1, 10, 9, 5, 1, (3, 3), (1, 1), (2, 2), "same", NONE), {}),                # dilation_w: taps
    ((1, 1, 1, 7, 1, (1, 1), (1, 1), (1, 1), "valid", RELU6), {}),               # 1x1 spatial
    ((2, 6, 7, 9, 1, (1, 1), (2, 2), (1, 1), "valid", NONE), {"left_shift": True}),
    ((1, 3, 3, 2, 2, (5, 5), (3, 3), (1, 1), "same", NONE), {}),                 # kernel > image
    ((1, 7, 11, 13, 1, (2, 4), (1, 3), (1, 2), (1, 2, 0, 3), RELU), {"full_range": True}),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_chosen_and_bit_exact(case, tmp_path):
    shape, options = CASES[case]
    g = graph(shape, 800 + case, **options)
    assert_chosen(g, KERNEL)
    rng = np.random.default_rng(case)
    assert_host_matches_ref(g, random_inputs(g, 3, rng), tmp_path / "host")
    assert_scratch_and_regions(g, KERNEL, tmp_path, case)


@pytest.mark.slow
@pytest.mark.emulator
def test_on_cortex_m4(tmp_path):
    shape, options = CASES[1]
    g = graph(shape, 801, **options)
    instructions = assert_board_matches_ref(g, random_inputs(g, 2, np.random.default_rng(9)),
                                            tmp_path)
    assert instructions > 0
