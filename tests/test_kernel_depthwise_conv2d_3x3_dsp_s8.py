"""tinyml/kernels/depthwise_conv2d_3x3_dsp_s8.py: chosen for 3x3 int8 depthwise layers with
stride_w 1 or 2 on the DSP cores only; on the host (tm_dsp.h's portable C) bit-exact against
the numpy reference over odd channel counts, SAME and VALID, stride 2, 1x1 spatial, depth
multipliers, batches, both clamps and a left-shifting requantization; region by region equal
to whole; its scratch size in Python equal to C's; and on the Cortex-M4 in QEMU."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conv_cases import NONE, RELU, RELU6
from depthwise_dsp_cases import assert_chosen, assert_scratch_and_regions, graph
from helpers import random_inputs
from variant_checks import assert_board_matches_ref, assert_host_matches_ref

from tinyml.kernels import select
from tinyml.targets.cores import CORES

KERNEL = "tm_depthwise_conv2d_3x3_dsp_s8"

#: (batch, H, W, Cin, multiplier, kernel, strides, dilations, padding, act), options
CASES = [
    ((1, 7, 9, 5, 1, (3, 3), (1, 1), (1, 1), "same", RELU), {}),
    ((1, 8, 7, 13, 1, (3, 3), (2, 2), (1, 1), "same", RELU6), {"full_range": True}),
    ((2, 6, 5, 6, 2, (3, 3), (1, 1), (1, 1), "valid", NONE), {"bias": False}),
    ((1, 1, 1, 7, 1, (3, 3), (1, 1), (1, 1), "same", NONE), {}),                 # 1x1 spatial
    ((1, 9, 10, 3, 3, (3, 3), (2, 2), (1, 1), "valid", NONE), {"left_shift": True}),
    ((1, 5, 25, 12, 1, (3, 3), (1, 1), (1, 1), "same", RELU), {"full_range": True}),  # wide
    ((1, 5, 13, 9, 1, (3, 3), (1, 2), (1, 1), (1, 0, 2, 1), RELU), {}),          # asymmetric pads
    ((1, 12, 3, 4, 1, (3, 3), (3, 1), (1, 1), "same", NONE), {}),                # stride_h 3
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_chosen_and_bit_exact(case, tmp_path):
    shape, options = CASES[case]
    g = graph(shape, 700 + case, **options)
    assert_chosen(g, KERNEL)
    rng = np.random.default_rng(case)
    assert_host_matches_ref(g, random_inputs(g, 3, rng), tmp_path / "host")
    assert_scratch_and_regions(g, KERNEL, tmp_path, case)


def test_not_chosen_for_dilation_or_other_kernels():
    for shape in ((1, 8, 8, 4, 1, (3, 3), (1, 1), (2, 2), "same", NONE),
                  (1, 8, 8, 4, 1, (5, 5), (1, 1), (1, 1), "same", NONE),
                  (1, 8, 8, 4, 1, (3, 3), (1, 3), (1, 1), "same", NONE)):
        kernel = select(graph(shape, 3), CORES["cortex-m4"])["dw"].call.kernel
        assert kernel == "tm_depthwise_conv2d_dsp_s8", shape


def test_an_output_stage_beyond_its_bounds_falls_back_to_portable():
    g = graph(CASES[0][0], 5)
    b = g.tensor("b")
    g = g.replace(tensors=[dataclasses.replace(b, data=np.full(b.shape, 2**30, dtype=np.int32))])
    choice = select(g, CORES["cortex-m4"])["dw"]
    assert choice.call.kernel == "tm_depthwise_conv2d_generic_s8"


@pytest.mark.slow
@pytest.mark.emulator
def test_on_cortex_m4(tmp_path):
    shape, options = CASES[1]
    g = graph(shape, 701, **options)
    instructions = assert_board_matches_ref(g, random_inputs(g, 2, np.random.default_rng(9)),
                                            tmp_path)
    assert instructions > 0
