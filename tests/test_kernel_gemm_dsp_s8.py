"""The DSP GEMM variants (tinyml/kernels/conv2d_1x1_dsp_s8.py, conv2d_im2col_dsp_s8.py,
fully_connected_dsp_s8.py on codegen/kernels/tm_gemm_s8.h): chosen on the cores with the DSP
extension and only there; their C (tm_dsp.h's portable path on the host) bit-exact against
the numpy reference over channel and depth counts not divisible by 4, SAME and VALID, stride
2, dilation, 1x1 spatial and batches, region by region, with the scratch Python declares;
the weight layouts read as the kernels read them; and the same on an emulated Cortex-M4."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from conv_cases import NONE, RELU, RELU6
from helpers import random_inputs
from kernel_checks import assert_scratch_matches_c
from region_checks import assert_regions_match_whole
from test_op_conv2d import conv_graph
from test_op_fully_connected import fc_graph
from tinyml.kernels import select
from tinyml.kernels.gemm_s8 import depth4, pack_row_pairs, pack_weights
from tinyml.targets.cores import CORES
from variant_checks import M4, assert_board_matches_ref, assert_host_matches_ref

DSP_CORES = ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
PLAIN_CORES = ("cortex-m0", "cortex-m0plus", "cortex-m3", "host")

#: (batch, H, W, Cin, Cout, kernel, strides, dilations, padding, groups, act)
POINTWISE = [
    (1, 25, 5, 64, 64, (1, 1), (1, 1), (1, 1), "valid", 1, NONE),     # kws's, 125 pixels
    (2, 3, 5, 13, 11, (1, 1), (1, 1), (1, 1), "valid", 1, RELU6),     # batches, odd depth
    (1, 1, 1, 7, 3, (1, 1), (1, 1), (1, 1), "valid", 1, RELU),        # 1x1 spatial
    (1, 4, 7, 6, 10, (1, 1), (1, 1), (1, 1), "valid", 1, NONE),       # depth 6, 10 channels
]
GENERAL = [
    (1, 49, 10, 1, 64, (10, 4), (2, 2), (1, 1), "same", 1, RELU),     # kws's first layer
    (1, 9, 8, 4, 6, (3, 3), (2, 2), (1, 1), "same", 1, NONE),         # stride 2, depth 36
    (1, 11, 9, 3, 8, (3, 3), (2, 2), (1, 1), "valid", 1, RELU6),      # vww's first, odd size
    (1, 8, 9, 16, 7, (3, 3), (1, 1), (1, 1), "same", 1, NONE),        # ic's, 7 channels
    (2, 6, 5, 5, 9, (2, 3), (2, 1), (2, 1), "valid", 1, NONE),        # dilation, batches
    (1, 7, 7, 5, 4, (3, 3), (1, 1), (1, 1), (2, 0, 1, 3), 1, RELU),   # explicit asymmetric
    (1, 3, 3, 2, 3, (5, 5), (3, 3), (1, 1), "same", 1, NONE),         # kernel > image
    (1, 1, 1, 8, 5, (1, 1), (2, 2), (1, 1), "valid", 1, NONE),        # 1x1 spatial, stride 2
]
#: (batch, in, out)
DENSE = [(1, 640, 128), (1, 128, 8), (1, 8, 128), (3, 9, 5), (1, 13, 6), (2, 64, 12), (1, 3, 2)]


def _kernel_on(graph, node, core):
    return select(graph, CORES[core])[node].call.kernel


@pytest.mark.parametrize("case", range(len(POINTWISE)))
def test_pointwise_chosen_bit_exact_and_regions(case, tmp_path):
    rng = np.random.default_rng(300 + case)
    g = conv_graph(rng, POINTWISE[case], "int8", per_channel=case % 2 == 0, bias=case != 3)
    assert all(_kernel_on(g, "conv", c) == "tm_conv2d_1x1_dsp_s8" for c in DSP_CORES)
    assert all(_kernel_on(g, "conv", c) != "tm_conv2d_1x1_dsp_s8" for c in PLAIN_CORES)
    assert_host_matches_ref(g, random_inputs(g, 3, rng), tmp_path / "host", sanitize=case < 2)
    call = select(g, M4)["conv"].call
    assert_scratch_matches_c(call, tmp_path, None)
    if POINTWISE[case][0] == 1 and POINTWISE[case][1] * POINTWISE[case][2] > 1:
        ran = assert_regions_match_whole(g, "conv", M4, tmp_path, rng,
                                         cuts=(min(3, POINTWISE[case][1]), 2))
        assert ran == "tm_conv2d_1x1_dsp_s8"


@pytest.mark.parametrize("case", range(len(GENERAL)))
def test_im2col_chosen_bit_exact_and_regions(case, tmp_path):
    rng = np.random.default_rng(400 + case)
    g = conv_graph(rng, GENERAL[case], "int8", per_channel=case % 2 == 0, bias=case != 2)
    assert all(_kernel_on(g, "conv", c) == "tm_conv2d_im2col_dsp_s8" for c in DSP_CORES)
    assert all(_kernel_on(g, "conv", c) != "tm_conv2d_im2col_dsp_s8" for c in PLAIN_CORES)
    assert_host_matches_ref(g, random_inputs(g, 3, rng), tmp_path / "host", sanitize=case < 3)
    assert_scratch_matches_c(select(g, M4)["conv"].call, tmp_path, None)
    out_h, out_w = g.tensor("y").shape[1:3]
    if GENERAL[case][0] == 1 and out_h * out_w > 1:
        ran = assert_regions_match_whole(g, "conv", M4, tmp_path, rng,
                                         cuts=(min(3, out_h), min(2, out_w)))
        assert ran == "tm_conv2d_im2col_dsp_s8"


def test_grouped_conv_stays_portable():
    g = conv_graph(np.random.default_rng(1), (1, 6, 5, 6, 9, (2, 3), (2, 1), (2, 1), "valid", 3,
                                             NONE), "int8")
    assert _kernel_on(g, "conv", "cortex-m4") == "tm_conv2d_generic_s8"


@pytest.mark.parametrize("case", range(len(DENSE)))
def test_dense_chosen_and_bit_exact(case, tmp_path):
    rng = np.random.default_rng(500 + case)
    g = fc_graph(rng, *DENSE[case], "int8", RELU if case % 3 == 0 else NONE,
                 per_channel=case % 2 == 0, bias=case != 4)
    assert all(_kernel_on(g, "fc", c) == "tm_fully_connected_dsp_s8" for c in DSP_CORES)
    assert all(_kernel_on(g, "fc", c) != "tm_fully_connected_dsp_s8" for c in PLAIN_CORES)
    assert_host_matches_ref(g, random_inputs(g, 4, rng), tmp_path / "host", sanitize=case < 4)
    assert_scratch_matches_c(select(g, M4)["fc"].call, tmp_path, None)


def test_extreme_inputs_and_weights_are_exact(tmp_path):
    """All-(-128) and all-127 inputs against +-127 weights: the largest sums each way."""
    rng = np.random.default_rng(9)
    g = fc_graph(rng, 4, 200, 8, "int8", NONE)
    w = g.tensor("w")
    signs = np.where(rng.random(w.shape) < 0.5, -127, 127).astype(np.int8)
    g = g.replace(tensors=[dataclasses.replace(w, data=signs)])
    x = np.stack([np.full(200, v, np.int8) for v in (-128, 127, -128, 127)])
    x[2, ::2] = 127
    assert_host_matches_ref(g, [x[None]], tmp_path)


def test_sums_beyond_the_bound_fall_back_to_portable():
    rng = np.random.default_rng(5)
    g = fc_graph(rng, 1, 64, 4, "int8", NONE)
    b = g.tensor("b")
    g = g.replace(tensors=[dataclasses.replace(b, data=np.full(b.shape, 2**31 - 2**20, np.int32))])
    assert _kernel_on(g, "fc", "cortex-m4") == "tm_fully_connected_generic_s8"


def test_block_layout_reads_back():
    rows = np.random.default_rng(2).integers(-127, 128, (6, 7)).astype(np.int8)
    packed = pack_weights(rows)
    d4 = depth4(7)
    assert packed.size == 6 * d4
    padded = np.zeros((6, d4), np.int8)
    padded[:, :7] = rows
    # channel c of block 0, group g: bytes (g * 4 + c) * 4 ..; channels 4, 5 plain rows
    for c in range(4):
        for g in range(d4 // 4):
            start = (g * 4 + c) * 4
            assert packed[start:start + 4].tolist() == padded[c, 4 * g:4 * g + 4].tolist()
    assert packed[4 * d4:].tolist() == padded[4:].reshape(-1).tolist()


def test_pair_layout_halfwords_are_a_plus_128_plus_256_b():
    rows = np.random.default_rng(3).integers(-127, 128, (5, 8)).astype(np.int8)
    packed = pack_row_pairs(rows)
    halves = packed[:32].view(np.uint8).astype(np.int64).reshape(-1, 2)
    values = halves[:, 0] + 256 * np.where(halves[:, 1] > 127, halves[:, 1] - 256, halves[:, 1])
    # block 0, group 0: pair (0, 1) word (x0, x2) then (x1, x3), then pair (2, 3)
    a, b = rows[0].astype(np.int64), rows[1].astype(np.int64)
    assert values[:4].tolist() == [a[0] + 128 + 256 * b[0], a[2] + 128 + 256 * b[2],
                                   a[1] + 128 + 256 * b[1], a[3] + 128 + 256 * b[3]]
    assert packed[4 * 8:].tolist() == rows[4].tolist()


@pytest.mark.slow
@pytest.mark.parametrize("which", ["pointwise", "im2col", "dense"])
def test_cortex_m4_bit_exact(which, tmp_path):
    rng = np.random.default_rng(600)
    if which == "pointwise":
        g = conv_graph(rng, POINTWISE[1], "int8")
    elif which == "im2col":
        g = conv_graph(rng, GENERAL[3], "int8")
    else:
        g = fc_graph(rng, 2, 77, 13, "int8", RELU)
    assert_board_matches_ref(g, random_inputs(g, 3, rng), tmp_path)
