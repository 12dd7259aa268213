"""The portable pool kernels (average and max, int8 and float32) read rows by pitch: an
output computed region by region equals it computed whole (SAME padding on every side,
stride 2, dilation, windows larger than the stride); tinyml/kernels/regions.py reads the
pools' `shape.*` fields."""

from __future__ import annotations

import numpy as np
import pytest

from pool_variant_cases import pool_case_graph
from region_checks import assert_regions_match_whole
from tinyml.kernels import select
from tinyml.kernels.regions import Region, region_call
from tinyml.targets.cores import CORES

HOST = CORES["host"]


def test_pool_region_window_and_offsets():
    g = pool_case_graph("MaxPool2D", 0, "int8", np.random.default_rng(1))  # 9x7x5, 3x3 s2 SAME
    call = select(g, HOST)["pool"].call
    rc = region_call(call.params, Region(2, 5, 1, 3))
    shape = {k.split(".")[1]: v for k, v in rc.params if k.startswith("shape.")}
    # output rows 2..4 read input rows 3..9 (clipped at 9), columns 1..2 read 1..5
    assert (shape["in_h"], shape["in_w"], shape["pad_top"], shape["pad_left"]) == (6, 5, 0, 0)
    assert (shape["out_h"], shape["out_w"], shape["in_pitch"], shape["out_pitch"]) == (3, 2, 35, 20)
    assert rc.input_offset == 3 * 35 + 1 * 5 and rc.output_offset == 2 * 20 + 1 * 5


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("op", ["AveragePool2D", "MaxPool2D"])
@pytest.mark.parametrize("case", [0, 1, 5, 6])
def test_portable_pool_regions(case, op, dtype, tmp_path):
    rng = np.random.default_rng(40 + case)
    g = pool_case_graph(op, case, dtype, rng)
    kernel = assert_regions_match_whole(g, "pool", HOST, tmp_path, rng, cuts=(2, 3))
    assert kernel.endswith("generic_" + ("s8" if dtype == "int8" else "f32"))
