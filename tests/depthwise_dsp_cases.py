"""What the DSP depthwise variants' tests share: one-layer graphs (test_op_depthwise_conv2d),
the cores that must and must not choose a variant, and the checks every variant runs."""

from __future__ import annotations

import dataclasses

import numpy as np
from kernel_checks import assert_scratch_matches_c
from region_checks import assert_regions_match_whole
from test_op_depthwise_conv2d import depthwise_graph

from tinyml.ir import Quant
from tinyml.kernels import select
from tinyml.targets.cores import CORES

DSP_CORES = ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
PORTABLE_CORES = ("cortex-m0", "cortex-m0plus", "cortex-m3", "host")
M4 = CORES["cortex-m4"]


def graph(case, seed: int, *, full_range: bool = False, left_shift: bool = False,
          bias: bool = True):
    """A layer of `case`; full_range: output zero point -128 with ReLU, so the clamp is int8's
    own; left_shift: an output scale small enough that requantization shifts left."""
    rng = np.random.default_rng(seed)
    g = depthwise_graph(rng, case, "int8", per_channel=seed % 2 == 0, bias=bias)
    y = g.tensor("y")
    if full_range:
        y = dataclasses.replace(y, quant=Quant.of(y.quant.scale[0], -128))
    if left_shift:
        x, w = g.tensor("x"), g.tensor("w")
        smallest = float(np.min(x.quant.scale[0] * np.asarray(w.quant.scale)))
        y = dataclasses.replace(y, quant=Quant.of(smallest / 3.0, int(y.quant.zero_point[0])))
    return g.replace(tensors=[y])


def assert_chosen(g, kernel: str) -> None:
    for name in DSP_CORES:
        assert select(g, CORES[name])["dw"].call.kernel == kernel, name
    for name in PORTABLE_CORES:
        assert select(g, CORES[name])["dw"].call.kernel != kernel, name


def assert_scratch_and_regions(g, kernel: str, tmp_path, seed: int) -> None:
    call = select(g, M4)["dw"].call
    (tmp_path / "scratch").mkdir()
    assert_scratch_matches_c(call, tmp_path / "scratch")
    if g.tensor("x").shape[0] == 1 and g.tensor("y").shape[1] * g.tensor("y").shape[2] > 1:
        (tmp_path / "regions").mkdir()
        cuts = (2, 3) if g.tensor("y").shape[1] > 1 and g.tensor("y").shape[2] > 2 else (
            (1, 2) if g.tensor("y").shape[2] > 1 else (2, 1))
        ran = assert_regions_match_whole(g, "dw", M4, tmp_path / "regions",
                                         np.random.default_rng(seed), cuts)
        assert ran == kernel
