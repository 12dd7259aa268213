"""tinyml/kernels/depthwise_conv2d_3x3_sweep_dsp_s8.py: chosen for 3x3 depthwise layers taller
than wide on the cores with the DSP extension and only there; its C (tm_dsp.h's portable path
on the host) bit-exact against the numpy reference over channel counts not divisible by 4,
SAME and VALID, stride 2 each way, odd heights, bands of columns, dead channels, region by
region, with the scratch Python declares; and the same on an emulated Cortex-M4."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from conv_cases import NONE, RELU, RELU6
from helpers import random_inputs
from kernel_checks import assert_scratch_matches_c
from region_checks import assert_regions_match_whole
from test_op_depthwise_conv2d import depthwise_graph
from tinyml.kernels import select
from tinyml.targets.cores import CORES
from variant_checks import M4, assert_board_matches_ref, assert_host_matches_ref

KERNEL = "tm_depthwise_conv2d_3x3_sweep_dsp_s8"
DSP_CORES = ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
PLAIN_CORES = ("cortex-m0", "cortex-m0plus", "cortex-m3", "host")

#: (batch, H, W, C, multiplier, kernel, strides, dilations, padding, act)
CASES = [
    (1, 25, 5, 64, 1, (3, 3), (1, 1), (1, 1), "same", RELU),      # kws's layers
    (1, 9, 4, 7, 1, (3, 3), (1, 1), (1, 1), "same", NONE),        # odd height, 7 channels
    (1, 12, 5, 6, 1, (3, 3), (2, 2), (1, 1), "same", RELU6),      # stride 2
    (2, 10, 3, 5, 1, (3, 3), (2, 1), (1, 1), "valid", NONE),      # batches, stride_h 2
    (1, 7, 3, 3, 1, (3, 3), (1, 2), (1, 1), (0, 1, 2, 1), NONE),  # explicit, stride_w 2
    (1, 200, 9, 4, 1, (3, 3), (1, 1), (1, 1), "same", NONE),      # tall: bands of columns
]


def _kernel(graph, core):
    return select(graph, CORES[core])["dw"].call.kernel


@pytest.mark.parametrize("case", range(len(CASES)))
def test_chosen_bit_exact_and_regions(case, tmp_path):
    rng = np.random.default_rng(700 + case)
    g = depthwise_graph(rng, CASES[case], "int8", per_channel=case % 2 == 0, bias=case != 3)
    assert all(_kernel(g, c) == KERNEL for c in DSP_CORES)
    assert all(_kernel(g, c) != KERNEL for c in PLAIN_CORES)
    assert_host_matches_ref(g, random_inputs(g, 3, rng), tmp_path / "host", sanitize=case < 4)
    assert_scratch_matches_c(select(g, M4)["dw"].call, tmp_path, None)
    if CASES[case][0] == 1:
        ran = assert_regions_match_whole(g, "dw", M4, tmp_path, rng, cuts=(3, 2))
        assert ran == KERNEL


def test_bands_of_columns_are_used_on_tall_inputs():
    g = depthwise_graph(np.random.default_rng(1), CASES[5], "int8")
    call = select(g, M4)["dw"].call
    assert call.scratch_bytes <= 4096 + 4 * 3 * 202 * 2


def test_dead_channels_and_square_inputs(tmp_path):
    rng = np.random.default_rng(2)
    g = depthwise_graph(rng, CASES[1], "int8")
    w, b = g.tensor("w"), g.tensor("b")
    data = w.data.copy()
    data[..., 2] = 0
    bias = b.data.copy()
    bias[2] = 2**30
    scale = np.array(w.quant.scale, dtype=np.float64)
    scale[2] = 1e-12
    g = g.replace(tensors=[dataclasses.replace(w, data=data,
                                               quant=dataclasses.replace(w.quant, scale=tuple(scale))),
                           dataclasses.replace(b, data=bias)])
    assert _kernel(g, "cortex-m4") == KERNEL
    assert_host_matches_ref(g, random_inputs(g, 2, rng), tmp_path)
    square = depthwise_graph(rng, (1, 6, 6, 8, 1, (3, 3), (1, 1), (1, 1), "same", NONE), "int8")
    assert _kernel(square, "cortex-m4") != KERNEL


@pytest.mark.slow
def test_cortex_m4_bit_exact(tmp_path):
    rng = np.random.default_rng(800)
    g = depthwise_graph(rng, CASES[2], "int8")
    assert_board_matches_ref(g, random_inputs(g, 3, rng), tmp_path)
