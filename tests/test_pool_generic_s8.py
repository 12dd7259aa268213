"""The portable int8 pools (four channels per pass over the window, then one by one), as
chosen for a core without DSP: bit-exact against the numpy reference on the host over odd
channel counts, SAME/VALID, stride 2, dilation, 1x1, batches, and on the emulated Cortex-M3."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import random_inputs
from pool_variant_cases import CASES, pool_case_graph
from tinyml.kernels import select
from tinyml.targets.cores import CORES
from variant_checks import assert_board_matches_ref, assert_host_matches_ref

M3 = CORES["cortex-m3"]
KERNELS = {"AveragePool2D": "tm_avgpool2d_generic_s8", "MaxPool2D": "tm_maxpool2d_generic_s8"}


@pytest.mark.parametrize("op", sorted(KERNELS))
@pytest.mark.parametrize("case", range(len(CASES)))
def test_bit_exact_on_host(op, case, tmp_path):
    rng = np.random.default_rng(50 + case)
    g = pool_case_graph(op, case, "int8", rng)
    assert select(g, M3)["pool"].call.kernel == KERNELS[op]
    assert_host_matches_ref(g, random_inputs(g, 3, rng), tmp_path, core=M3,
                            sanitize=case % 2 == 1)


@pytest.mark.slow
@pytest.mark.emulator
@pytest.mark.parametrize("op", sorted(KERNELS))
def test_on_cortex_m3(op, tmp_path):
    rng = np.random.default_rng(60)
    g = pool_case_graph(op, 2, "int8", rng)
    assert assert_board_matches_ref(g, random_inputs(g, 2, rng), tmp_path, board="mps2-an385") > 0
