"""tinyml/kernels/regions.py: the window and padding of a rectangle of a conv-like output, and
the conv and depthwise kernels the host chooses (the portable int8 ones, the FPU float32
ones) computing their output region by region exactly as whole (odd sizes, SAME padding on
every side, stride 2, dilation, 1x1). Each variant's own test checks its kernel the same way."""

from __future__ import annotations

import numpy as np
import pytest

from conv_cases import NONE, RELU6
from region_checks import assert_regions_match_whole
from test_op_conv2d import conv_graph
from test_op_depthwise_conv2d import depthwise_graph
from tinyml.kernels.regions import Region, grid, region_call
from tinyml.targets.cores import CORES

HOST = CORES["host"]


def _params(**g):
    base = {"batches": 1, "in_c": 4, "out_c": 8, "kernel_h": 3, "kernel_w": 3, "stride_h": 1,
            "stride_w": 1, "dilation_h": 1, "dilation_w": 1, "pad_top": 1, "pad_left": 1}
    base.update(g)
    base["in_pitch"] = base["in_w"] * base["in_c"]
    base["out_pitch"] = base["out_w"] * base["out_c"]
    return tuple((f"geometry.{k}", v) for k, v in base.items()) + (("act_min", -128),)


def _geometry(call):
    return {k.split(".")[1]: v for k, v in call.params if k.startswith("geometry.")}


def test_region_window_and_padding():
    p = _params(in_h=8, in_w=8, out_h=8, out_w=8)
    top_left = region_call(p, Region(0, 4, 0, 4))
    g = _geometry(top_left)
    assert (g["in_h"], g["in_w"], g["pad_top"], g["pad_left"]) == (5, 5, 1, 1)
    assert (g["out_h"], g["out_w"], g["in_pitch"], g["out_pitch"]) == (4, 4, 32, 64)
    assert top_left.input_offset == 0 and top_left.output_offset == 0
    bottom_right = region_call(p, Region(4, 8, 4, 8))
    g = _geometry(bottom_right)
    assert (g["in_h"], g["in_w"], g["pad_top"], g["pad_left"]) == (5, 5, 0, 0)
    assert bottom_right.input_offset == 3 * 32 + 3 * 4
    assert bottom_right.output_offset == 4 * 64 + 4 * 8
    assert dict(bottom_right.params)["act_min"] == -128


def test_strided_region_window():
    p = _params(in_h=9, in_w=9, out_h=5, out_w=5, stride_h=2, stride_w=2)
    g = _geometry(region_call(p, Region(2, 5, 1, 3)))
    # output rows 2..4 read input rows 3..9 (clipped at 9), columns 1..2 read 1..5
    assert (g["in_h"], g["in_w"], g["pad_top"], g["pad_left"]) == (6, 5, 0, 0)


def test_region_outside_the_output_or_batched_is_refused():
    with pytest.raises(ValueError, match="outside"):
        region_call(_params(in_h=4, in_w=4, out_h=4, out_w=4), Region(0, 5, 0, 4))
    with pytest.raises(ValueError, match="batches"):
        region_call(_params(in_h=4, in_w=4, out_h=4, out_w=4, batches=2), Region(0, 2, 0, 2))


def test_grid_covers_the_output_once():
    cells = grid(7, 5, 3, 2)
    covered = np.zeros((7, 5), dtype=int)
    for r in cells:
        covered[r.top:r.bottom, r.left:r.right] += 1
    assert (covered == 1).all() and len(cells) == 6


#: (batch, H, W, Cin, Cout, kernel, strides, dilations, padding, groups, act)
CONV_CASES = [
    (1, 9, 7, 3, 5, (3, 3), (1, 1), (1, 1), "same", 1, RELU6),
    (1, 11, 10, 4, 6, (3, 3), (2, 2), (1, 1), "same", 1, NONE),
    (1, 8, 9, 5, 3, (2, 3), (2, 1), (2, 1), "valid", 1, NONE),
    (1, 6, 7, 6, 4, (1, 1), (1, 1), (1, 1), "valid", 1, NONE),
    (1, 7, 6, 4, 4, (3, 3), (1, 1), (1, 1), "same", 2, NONE),
]


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", range(len(CONV_CASES)))
def test_portable_conv_regions(case, dtype, tmp_path):
    rng = np.random.default_rng(70 + case)
    g = conv_graph(rng, CONV_CASES[case], dtype)
    assert_regions_match_whole(g, "conv", HOST, tmp_path, rng, cuts=(3, 2))


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", [0, 1, 3, 5])
def test_portable_depthwise_regions(case, dtype, tmp_path):
    from test_op_depthwise_conv2d import CASES
    rng = np.random.default_rng(80 + case)
    g = depthwise_graph(rng, CASES[case], dtype)
    node = g.nodes[0].name
    assert_regions_match_whole(g, node, HOST, tmp_path, rng, cuts=(2, 2))
