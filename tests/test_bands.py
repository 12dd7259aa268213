"""In place by bands of rows (tinyml/plan/bands.py): a conv-like layer writes its output over
its input's bytes through a ring. A byte-level model of the buffer checks the band plans of
random geometries (every band reads only input bytes still intact, every output row lands
whole at its place); generated C runs depthwise (stride 1 and 2), same-channel conv and pools
in place by bands, bit-exact with the reference on the host under ASan/UBSan with the
Cortex-M4's and the host's kernels, and in QEMU; the arena is smaller than without."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import random_inputs, run_ref
from memory_checks import run_lowered
from net_builder import Net
from tinyml.codegen import lower_model
from tinyml.kernels.regions import input_window
from tinyml.plan.bands import plan_bands
from tinyml.plan.planner import PlanOptions
from tinyml.targets.cores import CORES
from variant_checks import M4, assert_board_matches_ref, assert_host_matches_ref

SPEED = PlanOptions(optimize="speed")


@st.composite
def geometries(draw):
    kernel = draw(st.integers(1, 5))
    stride = draw(st.integers(1, 3))
    dilation = draw(st.integers(1, 2))
    in_h = draw(st.integers(1, 24))
    reach = (kernel - 1) * dilation + 1
    pad = draw(st.integers(0, reach - 1))
    pad_bottom = draw(st.integers(0, reach - 1))
    out_h = (in_h + pad + pad_bottom - reach) // stride + 1
    if out_h < 1:
        out_h = 1
        pad_bottom = max(reach - in_h - pad, 0)
    g = {"stride_h": stride, "pad_top": pad, "kernel_h": kernel, "dilation_h": dilation,
         "in_h": in_h, "out_h": out_h, "stride_w": 1, "pad_left": 0, "kernel_w": 1,
         "dilation_w": 1, "in_w": 1, "out_w": 1}
    in_row = draw(st.integers(1, 12))
    out_row = draw(st.integers(1, 12))
    return g, draw(st.sampled_from((1, 2, 3, 4, 8))), in_row, out_row


@settings(max_examples=400, deadline=None)
@given(geometries())
def test_band_plans_read_intact_input_and_place_every_row(case):
    g, rows, in_row, out_row = case
    plan = plan_bands(g, rows, in_row, out_row)
    size = max(g["in_h"] * in_row, g["out_h"] * out_row)
    buffer = [("in", b) for b in range(g["in_h"] * in_row)] + [None] * (size - g["in_h"] * in_row)
    ring = [None] * (plan.ring_rows * out_row)
    covered = []
    for band in plan.bands:
        r = band.region
        covered.extend(range(r.top, r.bottom))
        window = input_window(g, r)
        for b in range(window.top * in_row, window.bottom * in_row):
            assert buffer[b] == ("in", b), f"band {r} reads a clobbered input byte {b}"
        for row in range(r.top, r.bottom):
            cells = [("out", row, j) for j in range(out_row)]
            if band.ring_top is None:
                buffer[row * out_row:(row + 1) * out_row] = cells
            else:
                at = (row - band.ring_top) * out_row
                assert 0 <= at and at + out_row <= len(ring)
                ring[at:at + out_row] = cells
        if band.flush:
            a, b = band.flush
            src = (a - band.ring_top) * out_row
            buffer[a * out_row:b * out_row] = ring[src:src + (b - a) * out_row]
        if band.keep:
            a, b = band.keep
            src = (a - band.ring_top) * out_row
            ring[:(b - a) * out_row] = ring[src:src + (b - a) * out_row]
    assert covered == list(range(g["out_h"]))
    for row in range(g["out_h"]):
        assert buffer[row * out_row:(row + 1) * out_row] == [("out", row, j) for j in range(out_row)]


def test_stride_one_keeps_one_band_and_a_row_in_the_ring():
    g = {"stride_h": 1, "pad_top": 1, "kernel_h": 3, "dilation_h": 1, "in_h": 24, "out_h": 24,
         "stride_w": 1, "pad_left": 1, "kernel_w": 3, "dilation_w": 1, "in_w": 24, "out_w": 24}
    plan = plan_bands(g, 4, 96, 96)
    assert plan.ring_rows == 5 and plan.ring_bytes == 5 * 96
    stride2 = dict(g, stride_h=2, out_h=12, pad_top=0)
    plan = plan_bands(stride2, 2, 96, 96)
    assert [b.ring_top is None for b in plan.bands] == [False] + [True] * 5   # the first only


def _chain(layer: str, dtype: str, seed: int):
    """x -> conv (an arena tensor) -> LAYER -> relu: the layer's input dies at it."""
    net = Net((1, 12, 16, 8), dtype, seed)   # wider than tall: the row-wise kernels
    a = net.conv(net.input, 8, kernel=(1, 1))
    if layer == "depthwise":
        b = net.dw(a)
    elif layer == "depthwise stride 2":
        b = net.dw(a, strides=(2, 2))
    elif layer == "conv":
        b = net.conv(a, 8)
    else:
        b = net.pool(a, layer, kernel=(3, 3), strides=(1, 1), padding="same")
    return net.graph(net.relu(b)), net.nodes[1].name


LAYERS = ["depthwise", "depthwise stride 2", "conv", "MaxPool2D", "AveragePool2D"]


@pytest.mark.parametrize("core", ["cortex-m4", "host"])
@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("layer", LAYERS)
def test_layers_in_place_by_bands_are_bit_exact(layer, dtype, core, tmp_path):
    graph, name = _chain(layer, dtype, LAYERS.index(layer))
    code = lower_model(graph, "m", CORES[core])
    runs = {l.node.name: l for l in code.layers}[name]
    node = graph.nodes[1]
    assert runs.runs == "bands", runs
    assert code.locations[node.inputs[0]].offset == code.locations[node.outputs[0]].offset
    assert code.plan.size < lower_model(graph, "m", CORES[core], options=SPEED).plan.size
    inputs = random_inputs(graph, 2, np.random.default_rng(1))
    if dtype == "int8":
        assert_host_matches_ref(graph, inputs, tmp_path, core=CORES[core])
    else:   # float: the same sums as the layer run whole, and near the reference
        banded = run_lowered(code, inputs, tmp_path / "bands")
        whole = run_lowered(lower_model(graph, "m", CORES[core], options=SPEED), inputs,
                            tmp_path / "whole")
        np.testing.assert_array_equal(banded[0], whole[0])
        np.testing.assert_allclose(banded[0], run_ref(graph, inputs)[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("core", ["cortex-m4", "host"])
def test_depthwise_in_place_holds_one_tensor_and_a_ring(core):
    """TinyEngine's in-place depthwise: input and output share one buffer, and only a ring of
    rows (and the kernel's own scratch) come on top, where layer by layer two tensors were."""
    graph, name = _chain("depthwise", "int8", 0)
    code = lower_model(graph, "m", CORES[core])
    fast = lower_model(graph, "m", CORES[core], options=SPEED)
    tensor = 12 * 16 * 8
    scratch = {l.node.name: l for l in code.layers}[name].call.scratch_bytes
    band = code.layout.decisions.bands[name]
    aligned = lambda n: -(-n // 16) * 16   # noqa: E731
    assert code.layout.node_live()[name] == tensor + aligned(scratch) + band.ring_bytes
    assert fast.layout.node_live()[name] == 2 * tensor + aligned(scratch)
    assert band.ring_rows == 2   # one row per band, and the row the next band still reads


@pytest.mark.emulator
@pytest.mark.slow
def test_in_place_by_bands_on_cortex_m4(tmp_path):
    graph, _ = _chain("depthwise", "int8", 3)
    assert_board_matches_ref(graph, random_inputs(graph, 2, np.random.default_rng(2)), tmp_path)
