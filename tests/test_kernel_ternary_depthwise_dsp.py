"""tinyml/kernels/depthwise_conv2d_3x3_dsp_s8t2.py: the int8 3x3 DSP depthwise kernel on
ternary weights (signs packed channel by channel, decoded per channel), chosen where the int8
one is and only on the DSP cores; bit-exact against the numpy reference on the host over the
int8 kernel's cases, with weights +-1 and +-q; region by region equal to whole; scratch equal
to C's; and on the Cortex-M4 in QEMU."""

from __future__ import annotations

import numpy as np
import pytest

from depthwise_dsp_cases import assert_chosen, assert_scratch_and_regions, graph
from helpers import random_inputs
from ternary_nets import ternary_graph
from test_kernel_depthwise_conv2d_3x3_dsp_s8 import CASES
from tinyml.kernels import select
from tinyml.targets.cores import CORES
from variant_checks import assert_board_matches_ref, assert_host_matches_ref

KERNEL = "tm_depthwise_conv2d_3x3_dsp_s8t2"


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("gain", [False, True])
def test_chosen_and_bit_exact(case, gain, tmp_path):
    shape, options = CASES[case]
    rng = np.random.default_rng(case)
    # the left-shifting requantization of its case needs the int8 scales as they are
    g = ternary_graph(graph(shape, 700 + case, **options), rng, random_gain=gain,
                      keep_scales=options.get("left_shift", False))
    assert_chosen(g, KERNEL)
    assert_host_matches_ref(g, random_inputs(g, 3, rng), tmp_path / "host")
    assert_scratch_and_regions(g, KERNEL, tmp_path, case)


@pytest.mark.emulator
@pytest.mark.slow
@pytest.mark.parametrize("gain", [False, True])
def test_cortex_m4_bit_exact(gain, tmp_path):
    rng = np.random.default_rng(11)
    g = ternary_graph(graph(CASES[1][0], 3, **CASES[1][1]), rng, random_gain=gain)
    assert select(g, CORES["cortex-m4"])["dw"].call.kernel == KERNEL
    assert_board_matches_ref(g, random_inputs(g, 3, rng), tmp_path)
