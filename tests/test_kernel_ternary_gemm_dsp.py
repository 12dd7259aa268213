"""The DSP GEMM variants on ternary weights (tinyml/kernels/conv2d_1x1_dsp_s8t2.py,
fully_connected_dsp_s8t2.py on codegen/kernels/tm_gemm_s8t2.h): chosen on the cores with the
DSP extension and only there; their C (tm_dsp.h's portable USADA8 on the host) bit-exact
against the numpy reference over the int8 GEMM's shapes (channel and depth counts not
divisible by 4, batches, 1x1 spatial), with weights +-1 and +-q, region by region, with the
scratch Python declares; the code layout read back; and the same on an emulated Cortex-M4."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from helpers import random_inputs
from kernel_checks import assert_scratch_matches_c
from region_checks import assert_regions_match_whole
from ternary_nets import ternary_graph
from test_kernel_gemm_dsp_s8 import DENSE, DSP_CORES, GENERAL, PLAIN_CORES, POINTWISE
from test_op_conv2d import conv_graph
from test_op_fully_connected import fc_graph
from conv_cases import NONE, RELU
from tinyml.dtypes import unpack_ternary
from tinyml.kernels import VARIANTS, fully_connected_lut_dsp_s8t2, select
from tinyml.kernels.conv2d_1x1_dsp_s8t2 import one_by_one
from tinyml.kernels.gemm_s8t2 import pack_codes, pack_lut_codes
from tinyml.targets.cores import CORES
from variant_checks import M4, assert_board_matches_ref, assert_host_matches_ref

PW, IM2COL = "tm_conv2d_1x1_dsp_s8t2", "tm_conv2d_im2col_dsp_s8t2"
FC, LUT = "tm_fully_connected_dsp_s8t2", "tm_fully_connected_lut_dsp_s8t2"


def _kernel_on(graph, node, core):
    return select(graph, CORES[core])[node].call.kernel


def test_codes_layout():
    rng = np.random.default_rng(0)
    signs = rng.integers(-1, 2, (9, 13)).astype(np.int8)
    codes = pack_codes(signs)
    groups = 4
    assert codes.size == 9 * groups
    for oc in range(9):
        if oc < 8:
            block = oc // 4 * 4
            row = codes[block * groups + (oc - block)::4][:groups]
        else:
            row = codes[oc * groups:(oc + 1) * groups]
        np.testing.assert_array_equal(unpack_ternary(row, 13), signs[oc])


#: the int8 pointwise cases, and strided 1x1 layers (ResNet-8's shortcuts), which the ternary
#: kernel reads in place
ONE_BY_ONE = POINTWISE + [
    (1, 9, 8, 16, 12, (1, 1), (2, 2), (1, 1), "valid", 1, NONE),
    (2, 7, 6, 8, 6, (1, 1), (2, 1), (1, 1), "valid", 1, RELU),
    (1, 5, 11, 12, 5, (1, 1), (1, 3), (1, 1), "valid", 1, NONE),
]


@pytest.mark.parametrize("case", range(len(ONE_BY_ONE)))
@pytest.mark.parametrize("gain", [False, True])
def test_pointwise_chosen_bit_exact_and_regions(case, gain, tmp_path):
    rng = np.random.default_rng(300 + case)
    g = ternary_graph(conv_graph(rng, ONE_BY_ONE[case], "int8", per_channel=case % 2 == 0,
                                 bias=case != 3), rng, random_gain=gain)
    assert all(_kernel_on(g, "conv", c) == PW for c in DSP_CORES)
    assert all(_kernel_on(g, "conv", c) == "tm_conv2d_generic_s8t2" for c in PLAIN_CORES)
    assert_host_matches_ref(g, random_inputs(g, 3, rng), tmp_path / "host", sanitize=case < 2)
    assert_scratch_matches_c(select(g, M4)["conv"].call, tmp_path, None)
    out_h, out_w = g.tensor("y").shape[1:3]
    if ONE_BY_ONE[case][0] == 1 and out_h * out_w > 1:
        ran = assert_regions_match_whole(g, "conv", M4, tmp_path, rng,
                                         cuts=(min(3, out_h), min(2, out_w)))
        assert ran == PW


@pytest.fixture(params=[FC, LUT])
def fc_kernel(request, monkeypatch):
    """Each fully connected variant ranked first, the table one for any output count."""
    ranked = [dataclasses.replace(v, priority=50) if v.name == request.param else v
              for v in VARIANTS]
    monkeypatch.setattr("tinyml.kernels.registry.VARIANTS", ranked)
    monkeypatch.setattr(fully_connected_lut_dsp_s8t2, "MIN_OUT", 1)
    return request.param


def test_the_table_kernel_is_taken_with_enough_outputs():
    rng = np.random.default_rng(1)
    for n_out, kernel in ((128, LUT), (8, FC)):
        g = ternary_graph(fc_graph(rng, 1, 64, n_out, "int8", NONE), rng)
        assert _kernel_on(g, "fc", "cortex-m4") == kernel


@pytest.mark.parametrize("case", range(len(DENSE)))
@pytest.mark.parametrize("gain", [False, True])
def test_fully_connected_chosen_bit_exact(fc_kernel, case, gain, tmp_path):
    rng = np.random.default_rng(500 + case)
    g = ternary_graph(fc_graph(rng, *DENSE[case], "int8", RELU if case % 3 == 0 else NONE,
                               per_channel=case % 2 == 0, bias=case != 4), rng, random_gain=gain)
    assert all(_kernel_on(g, "fc", c) == fc_kernel for c in DSP_CORES)
    assert all(_kernel_on(g, "fc", c) == "tm_fully_connected_generic_s8t2" for c in PLAIN_CORES)
    assert_host_matches_ref(g, random_inputs(g, 4, rng), tmp_path / "host", sanitize=case < 4)
    assert_scratch_matches_c(select(g, M4)["fc"].call, tmp_path, None)


def test_table_codes_layout():
    rng = np.random.default_rng(2)
    signs = rng.integers(-1, 2, (6, 21)).astype(np.int8)
    codes = pack_lut_codes(signs)
    chunks = 2                                           # 21 inputs: 6 groups, 2 chunks of 4
    padded = np.zeros((6, 32), np.int64)
    padded[:, :21] = signs
    index = (padded.reshape(6, 8, 4) + 1) @ np.array([27, 9, 3, 1])
    index = index + 81 * (np.arange(8) // 4 % 3)[None, :]     # chunk k's table in its pass
    for oc in range(6):
        if oc < 4:
            got = [codes[k * 16 + g * 4 + oc] for k in range(chunks) for g in range(4)]
        else:
            start = chunks * 16 + (oc - 4) * chunks * 4    # after the one block
            got = list(codes[start:start + chunks * 4])
        assert got == index[oc].tolist()
    assert index[0, -1] == 40 + 81                       # a padded group: all zero signs


@pytest.mark.emulator
@pytest.mark.slow
@pytest.mark.parametrize("gain", [False, True])
def test_cortex_m4_bit_exact(gain, tmp_path):
    rng = np.random.default_rng(710)
    g = ternary_graph(conv_graph(rng, POINTWISE[1], "int8"), rng, random_gain=gain)
    assert_board_matches_ref(g, random_inputs(g, 3, rng), tmp_path / "pw")
    g = ternary_graph(conv_graph(rng, ONE_BY_ONE[-3], "int8"), rng, random_gain=gain)
    assert_board_matches_ref(g, random_inputs(g, 2, rng), tmp_path / "strided")
    g = ternary_graph(fc_graph(rng, 2, 77, 13, "int8", RELU), rng, random_gain=gain)
    assert_board_matches_ref(g, random_inputs(g, 3, rng), tmp_path / "fc")
    g = ternary_graph(fc_graph(rng, 2, 77, 21, "int8", RELU), rng, random_gain=gain)
    assert_board_matches_ref(g, random_inputs(g, 3, rng), tmp_path / "lut")
    g = ternary_graph(conv_graph(rng, GENERAL[3], "int8"), rng, random_gain=gain)
    assert_board_matches_ref(g, random_inputs(g, 2, rng), tmp_path / "im2col")


@pytest.mark.parametrize("case", range(len(GENERAL)))
@pytest.mark.parametrize("gain", [False, True])
def test_im2col_chosen_bit_exact_and_regions(case, gain, tmp_path):
    rng = np.random.default_rng(400 + case)
    g = ternary_graph(conv_graph(rng, GENERAL[case], "int8", per_channel=case % 2 == 0,
                                 bias=case != 2), rng, random_gain=gain)
    kernel = PW if one_by_one(g.nodes[0], g) else IM2COL    # a 1x1 layer reads in place
    assert all(_kernel_on(g, "conv", c) == kernel for c in DSP_CORES)
    assert all(_kernel_on(g, "conv", c) == "tm_conv2d_generic_s8t2" for c in PLAIN_CORES)
    assert_host_matches_ref(g, random_inputs(g, 3, rng), tmp_path / "host", sanitize=case < 3)
    assert_scratch_matches_c(select(g, M4)["conv"].call, tmp_path, None)
    out_h, out_w = g.tensor("y").shape[1:3]
    if GENERAL[case][0] == 1 and out_h * out_w > 1:
        ran = assert_regions_match_whole(g, "conv", M4, tmp_path, rng,
                                         cuts=(min(3, out_h), min(2, out_w)))
        assert ran == kernel
