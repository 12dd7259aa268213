"""tinyml/kernels/pool2d_dsp_s8.py, max: chosen on cores with SIMD32 for 4 or more
channels; bit-exact against the numpy reference on the host
(odd channel counts, SAME/VALID, stride 2, dilation, 1x1, batches), region by region equal to
whole, and on the emulated Cortex-M4."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import random_inputs
from pool_variant_cases import CASES, pool_case_graph
from region_checks import assert_regions_match_whole
from tinyml.ir import Graph, Node, Quant, Tensor
from tinyml.kernels import select
from tinyml.ops.pool2d import Pool2DAttrs
from tinyml.targets.cores import CORES
from variant_checks import assert_board_matches_ref, assert_host_matches_ref

OP, KERNEL = "MaxPool2D", "tm_maxpool2d_dsp_s8"
M4 = CORES["cortex-m4"]


def test_chosen_on_dsp_cores_only():
    g = pool_case_graph(OP, 0, "int8", np.random.default_rng(1))
    for core in CORES.values():
        kernel = select(g, core)["pool"].call.kernel
        assert kernel == (KERNEL if "dsp" in core.features else "tm_maxpool2d_generic_s8")


def test_few_channels_keep_the_generic_kernel():
    g = pool_case_graph(OP, 7, "int8", np.random.default_rng(2))
    assert select(g, M4)["pool"].call.kernel == "tm_maxpool2d_generic_s8"


@pytest.mark.parametrize("case", range(len(CASES)))
def test_bit_exact_on_host(case, tmp_path):
    rng = np.random.default_rng(10 + case)
    g = pool_case_graph(OP, case, "int8", rng)
    assert_host_matches_ref(g, random_inputs(g, 3, rng), tmp_path, sanitize=case % 2 == 0)


def test_extreme_inputs(tmp_path):
    """Windows of -128 and of 127 only: the lanes' limits."""
    q = Quant.of(0.05, 0)
    x, y = Tensor("x", (1, 16, 16, 5), "int8", q), Tensor("y", (1, 1, 1, 5), "int8", q)
    g = Graph.build("pool", [Node("pool", OP, ("x",), ("y",), Pool2DAttrs((16, 16)))],
                    [x, y], ["x"], ["y"])
    assert select(g, M4)["pool"].call.kernel == KERNEL
    inputs = [np.stack([np.full(x.shape, -128, np.int8), np.full(x.shape, 127, np.int8)])]
    assert_host_matches_ref(g, inputs, tmp_path)


@pytest.mark.parametrize("case", [0, 5, 6])
def test_regions_equal_whole(case, tmp_path):
    rng = np.random.default_rng(20 + case)
    g = pool_case_graph(OP, case, "int8", rng)
    assert assert_regions_match_whole(g, "pool", M4, tmp_path, rng, cuts=(2, 2)) == KERNEL


@pytest.mark.slow
@pytest.mark.emulator
def test_on_cortex_m4(tmp_path):
    rng = np.random.default_rng(30)
    g = pool_case_graph(OP, 2, "int8", rng)
    assert select(g, M4)["pool"].call.kernel == KERNEL
    assert assert_board_matches_ref(g, random_inputs(g, 2, rng), tmp_path) > 0
