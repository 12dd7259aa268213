"""Patch-based execution (tinyml/plan/patches.py): which tensors may end a stage, what each
patch needs (checked against a brute-force receptive field), the MACs patches cost, and the
generated C: chains, stride 2, pools and a residual block (its Add on rectangles row by row)
patch by patch, bit-identical to layer-by-layer C on the host under ASan/UBSan with the
Cortex-M4's and the host's kernels, int8 and float32, and in QEMU."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from helpers import random_inputs, run_ref
from memory_checks import run_lowered
from net_builder import Net
from tinyml.codegen import lower_model
from tinyml.errors import UsageError
from tinyml.kernels import select
from tinyml.kernels.regions import Region, geometry_of
from tinyml.ops import get_op
from tinyml.plan.patches import split_candidates, stage_grid
from tinyml.plan.planner import PlanOptions
from tinyml.targets.cores import CORES
from variant_checks import M4, assert_board_matches_ref


def _mobile_block(dtype="int8", seed=0, size=(20, 18)):
    """conv s2 -> dw -> pw -> [pw expand -> dw -> pw project] + skip -> dw s2 -> pw -> pool
    -> fc: a MobileNetV2-like first stage with a residual block."""
    net = Net((1, *size, 3), dtype, seed)
    a = net.conv(net.input, 8, strides=(2, 2))
    b = net.dw(a)
    c = net.conv(b, 8, kernel=(1, 1))
    e = net.conv(c, 16, kernel=(1, 1))
    f = net.dw(e)
    g = net.conv(f, 8, kernel=(1, 1), act=(-np.inf, np.inf))
    h = net.add(c, g)
    i = net.dw(h, strides=(2, 2))
    j = net.conv(i, 12, kernel=(1, 1))
    k = net.pool(j, "AveragePool2D", kernel=net.shape(j)[1:3], strides=(1, 1))
    y = net.fc(net.reshape(k, (1, 12)), 4)
    return net.graph(y), {"add": net.nodes[6].name, "split": net.nodes[8].name}


def _calls(graph, core=M4):
    return {n: c.call for n, c in select(graph, core).items()}


def test_split_candidates_end_where_a_layer_cannot_run_on_rectangles():
    graph, names = _mobile_block()
    calls = _calls(graph)
    order = tuple(n.name for n in graph.nodes)
    splits = [s for s, _ in split_candidates(graph, calls, order)]
    produced = {n.outputs[0]: n.name for n in graph.nodes}
    ops = [graph.nodes[i].op for i, n in enumerate(graph.nodes) if n.outputs[0] in splits]
    assert "FullyConnected" not in ops and "Reshape" not in ops
    # inside the residual block the skip tensor is read after the split: no stage ends there
    inner = [n.outputs[0] for n in graph.nodes[3:6]]
    assert not set(inner) & set(splits)
    assert produced[splits[-1]] in (names["split"], graph.nodes[9].name)


def _brute_need(graph, calls, stage, split, patch):
    """Which elements each tensor's producers touch for one patch, element by element."""
    nodes = {n.name: n for n in graph.nodes}
    need = {split: {(y, x) for y in range(patch.top, patch.bottom)
                    for x in range(patch.left, patch.right)}}
    for name in reversed(stage):
        node = nodes[name]
        cells = need.get(node.outputs[0], set())
        g = geometry_of(calls[name].params)
        for t in ([node.inputs[0]] if g else [t for t in node.inputs if t]):
            if graph.tensor(t).is_const:
                continue
            got = need.setdefault(t, set())
            if g is None:
                got |= cells
                continue
            for y, x in cells:
                for ky, kx in itertools.product(range(g["kernel_h"]), range(g["kernel_w"])):
                    iy = y * g["stride_h"] - g["pad_top"] + ky * g["dilation_h"]
                    ix = x * g["stride_w"] - g["pad_left"] + kx * g["dilation_w"]
                    if 0 <= iy < g["in_h"] and 0 <= ix < g["in_w"]:
                        got.add((iy, ix))
    return need


@pytest.mark.parametrize("grid", [(2, 2), (3, 2), (1, 3), (4, 4)])
def test_each_patch_needs_its_receptive_field_and_the_macs_add_up(grid):
    graph, names = _mobile_block()
    calls = _calls(graph)
    order = tuple(n.name for n in graph.nodes)
    out = next(n.outputs[0] for n in graph.nodes if n.name == names["split"])
    split, stage = next(c for c in split_candidates(graph, calls, order) if c[0] == out)
    macs = {n.name: get_op(n, graph).macs(n, graph) for n in graph.nodes}
    sg = stage_grid(graph, calls, stage, split, *grid, macs)
    covered = np.zeros(graph.tensor(split).shape[1:3], dtype=int)
    run = 0
    for p in range(grid[0] * grid[1]):
        need = sg.need(p)
        box = need[split]
        covered[box.top:box.bottom, box.left:box.right] += 1
        brute = _brute_need(graph, calls, stage, split, Region(box.top, box.bottom, box.left, box.right))
        for t, cells in brute.items():   # the box is the bounding box of what is touched
            ys, xs = zip(*cells)
            b = need[t]
            assert (b.top, b.bottom, b.left, b.right) == (min(ys), max(ys) + 1, min(xs), max(xs) + 1)
        for name in stage:
            out = need[graph.nodes[[n.name for n in graph.nodes].index(name)].outputs[0]]
            shape = graph.tensor(next(n for n in graph.nodes if n.name == name).outputs[0]).shape
            run += macs[name] * out.height * out.width // (shape[1] * shape[2])
    assert (covered == 1).all()   # the patches tile the split tensor
    assert sum(sg.node_macs) == run and sg.extra_macs == run - sum(macs[n] for n in stage) >= 0


def _patch_vs_layers(graph, core, grid, tmp_path, seed=3):
    code = lower_model(graph, "m", CORES[core], options=PlanOptions(patch=grid))
    flat = lower_model(graph, "m", CORES[core], options=PlanOptions(patch="off"))
    assert code.layout.decisions.stage is not None
    inputs = random_inputs(graph, 2, np.random.default_rng(seed))
    patched = run_lowered(code, inputs, tmp_path / "patches")
    layered = run_lowered(flat, inputs, tmp_path / "layers")
    for a, b in zip(patched, layered):
        np.testing.assert_array_equal(a, b)
    return code, flat, inputs, patched


@pytest.mark.parametrize("core", ["cortex-m4", "host"])
@pytest.mark.parametrize("grid", ["2x2@SPLIT", "3x2@SPLIT", "2x3@ADD", "3x3@2"])
def test_patches_are_bit_identical_to_layer_by_layer(core, grid, tmp_path):
    graph, names = _mobile_block(seed=1)
    spec = grid.replace("SPLIT", names["split"]).replace("ADD", names["add"])
    code, flat, inputs, patched = _patch_vs_layers(graph, core, spec, tmp_path)
    for got, want in zip(patched, run_ref(graph, inputs)):
        np.testing.assert_array_equal(got, want)
    plan = code.layout.decisions.stage
    assert plan.extra_macs > 0 and code.plan.size == code.plan.lower_bound


def test_the_residual_add_runs_row_by_row_on_rectangles():
    graph, names = _mobile_block(seed=2)
    code = lower_model(graph, "m", M4, options=PlanOptions(patch=f"3x3@{names['split']}"))
    index = {l.node.name: l.index for l in code.layers}[names["add"]]
    repeats = [s.repeat for s in code.steps if getattr(s, "layer", None) == index]
    assert len(repeats) == 9 and max(repeats) > 1


@pytest.mark.parametrize("dtype", ["float32"])
def test_float_patches_are_bit_identical(dtype, tmp_path):
    net = Net((1, 17, 15, 3), dtype, 5)
    a = net.conv(net.input, 8, strides=(2, 2))
    b = net.dw(a)
    c = net.pool(net.conv(b, 12, kernel=(1, 1)), "MaxPool2D", kernel=(3, 3), strides=(2, 2),
                 padding="same")
    graph = net.graph(net.relu(c))
    _, _, inputs, patched = _patch_vs_layers(graph, "cortex-m4", f"2x2@{net.nodes[3].name}", tmp_path)
    np.testing.assert_allclose(patched[0], run_ref(graph, inputs)[0], rtol=1e-5, atol=1e-5)


def test_bad_patch_specs_are_one_line_usage_errors():
    graph, names = _mobile_block()
    for spec, words in (("4@2", "expected off, auto or RxC@LAYER"), ("2x2@99", "past the last"),
                        ("1x1@2", "expected"), ("2x2@" + names["add"][:-1] + "zz", "no layer"),
                        (f"2x2@{len(graph.nodes) - 1}", "cannot end a patch stage"),
                        (f"40x2@{names['split']}", "does not fit")):
        with pytest.raises(UsageError, match=words):
            lower_model(graph, "m", M4, options=PlanOptions(patch=spec))


@pytest.mark.parametrize("seed", range(12))
def test_auto_never_raises_the_peak(seed):
    rng = np.random.default_rng(seed)
    net = Net((1, int(rng.integers(6, 30)), int(rng.integers(6, 30)), 3), "int8", seed)
    t = net.conv(net.input, int(rng.integers(4, 16)), strides=(2, 2) if seed % 2 else (1, 1))
    for _ in range(int(rng.integers(1, 4))):
        t = net.dw(t, strides=(2, 2) if rng.random() < 0.3 and net.shape(t)[1] > 4 else (1, 1))
        t = net.conv(t, int(rng.integers(4, 24)), kernel=(1, 1))
    graph = net.graph(t)
    auto = lower_model(graph, "m", M4, options=PlanOptions(patch="auto"))
    flat = lower_model(graph, "m", M4, options=PlanOptions(patch="off"))
    assert auto.plan.size <= flat.plan.size
    stage = auto.layout.decisions.stage
    total = sum(l.macs for l in flat.layers)
    assert stage is None or stage.extra_macs <= 0.15 * total


@pytest.mark.emulator
@pytest.mark.slow
def test_patches_on_cortex_m4(tmp_path):
    graph, names = _mobile_block(seed=4)
    assert_board_matches_ref(graph, random_inputs(graph, 2, np.random.default_rng(5)), tmp_path,
                             options=PlanOptions(patch=f"3x2@{names['split']}"))
