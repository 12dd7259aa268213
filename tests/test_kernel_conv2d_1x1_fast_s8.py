"""tinyml/kernels/conv2d_1x1_fast_s8.py: chosen for pointwise int8 convs on the cores without
DSP (Cortex-M0, M0+, M3, host) and not on the DSP cores; bit-exact against the numpy
reference over channel and depth counts not divisible by 4 or 8, batches, 1x1 spatial and
both clamps; region by region equal to whole; scratch in Python equal to C's; the weight
layout; and the same on the emulated Cortex-M3 and Cortex-M0."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conv_cases import NONE, RELU, RELU6
from helpers import random_inputs
from portable_fast_checks import (
    BOARDS,
    HOST,
    assert_chosen_without_dsp,
    assert_host_scratch_regions,
    kernel_on,
)
from test_op_conv2d import conv_graph
from variant_checks import assert_board_matches_ref, assert_host_matches_ref

from tinyml.kernels.gemm_fast_s8 import pack_pairs

KERNEL = "tm_conv2d_1x1_fast_s8"

#: (batch, H, W, Cin, Cout, kernel, strides, dilations, padding, groups, act)
CASES = [
    (1, 25, 5, 64, 64, (1, 1), (1, 1), (1, 1), "valid", 1, NONE),     # kws's, 125 pixels
    (2, 3, 5, 13, 11, (1, 1), (1, 1), (1, 1), "valid", 1, RELU6),     # batches, odd depth
    (1, 1, 1, 7, 3, (1, 1), (1, 1), (1, 1), "valid", 1, RELU),        # 1x1 spatial
    (1, 4, 7, 6, 10, (1, 1), (1, 1), (1, 1), "valid", 1, NONE),       # depth 6, 10 channels
    (1, 6, 6, 9, 1, (1, 1), (1, 1), (1, 1), "valid", 1, RELU),        # one channel
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_chosen_bit_exact_scratch_regions(case, tmp_path):
    rng = np.random.default_rng(800 + case)
    g = conv_graph(rng, CASES[case], "int8", per_channel=case % 2 == 0, bias=case != 3)
    assert_chosen_without_dsp(g, "conv", KERNEL)
    assert_host_scratch_regions(g, "conv", KERNEL, tmp_path, case, sanitize=case < 4)


def test_extreme_inputs_and_weights_are_exact(tmp_path):
    """All -128 and all 127 inputs against +-127 weights: the largest sums each way."""
    rng = np.random.default_rng(9)
    g = conv_graph(rng, (1, 2, 2, 200, 5, (1, 1), (1, 1), (1, 1), "valid", 1, NONE), "int8")
    w = g.tensor("w")
    signs = np.where(rng.random(w.shape) < 0.5, -127, 127).astype(np.int8)
    g = g.replace(tensors=[dataclasses.replace(w, data=signs)])
    x = np.stack([np.full(200, v, np.int8) for v in (-128, 127, -128, 127)]).reshape(1, 2, 2, 200)
    x[0, 1, 0, ::2] = 127
    assert kernel_on(g, "conv", "host") == KERNEL
    assert_host_matches_ref(g, [x[None]], tmp_path, core=HOST)


def test_sums_beyond_the_bound_are_not_chosen():
    rng = np.random.default_rng(5)
    g = conv_graph(rng, CASES[3], "int8")
    b = g.tensor("b")
    g = g.replace(tensors=[dataclasses.replace(b, data=np.full(b.shape, 2**31 - 2**20, np.int32))])
    assert kernel_on(g, "conv", "cortex-m3") != KERNEL


def test_pair_layout():
    rows = np.random.default_rng(2).integers(-127, 128, (5, 7)).astype(np.int8)
    packed = pack_pairs(rows)
    assert packed.size == rows.size
    for oc in range(4):
        pair, j = divmod(oc, 2)
        assert packed[pair * 14 + j:pair * 14 + 14:2].tolist() == rows[oc].tolist()
    assert packed[28:].tolist() == rows[4].tolist()


@pytest.mark.slow
@pytest.mark.parametrize("board", BOARDS)
def test_on_board(board, tmp_path):
    rng = np.random.default_rng(801)
    g = conv_graph(rng, CASES[1], "int8")
    assert assert_board_matches_ref(g, random_inputs(g, 3, rng), tmp_path, board) > 0
