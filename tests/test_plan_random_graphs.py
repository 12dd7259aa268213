"""Random networks with branches (residual adds, concatenations along channels and along
rows, two outputs): on every one the arena equals its schedule's lower bound, proved least,
with the overlap checker clean, for the host's and the Cortex-M4's kernels and with the I/O
in the arena or not; a sample of them runs in C on the host, bit-exact with the reference
(views, outputs over dying inputs, concatenations written in place, bands)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import random_inputs, run_ref
from memory_checks import run_lowered
from net_builder import Net
from tinyml.codegen import lower_model
from tinyml.plan.arena import check_plan
from tinyml.validate import validate_graph
from tinyml.targets.cores import CORES


def random_net(seed: int):
    rng = np.random.default_rng(seed)
    net = Net((1, int(rng.integers(4, 14)), int(rng.integers(4, 14)), int(rng.integers(1, 6))),
              "int8", seed)
    pool = [net.input]
    for _ in range(int(rng.integers(3, 9))):
        x = pool[int(rng.integers(len(pool)))]
        h, w = net.shape(x)[1:3]
        kind = rng.choice(["conv", "pw", "dw", "pool", "residual", "concat_c", "concat_h"])
        if kind == "conv":
            y = net.conv(x, int(rng.integers(2, 12)), strides=(2, 2) if min(h, w) > 3 and rng.random() < 0.3 else (1, 1))
        elif kind == "pw":
            y = net.conv(x, int(rng.integers(2, 12)), kernel=(1, 1))
        elif kind == "dw":
            y = net.dw(x)
        elif kind == "pool":
            y = net.pool(x, "MaxPool2D", (3, 3), (1, 1), "same")
        elif kind == "residual":
            y = net.add(x, net.conv(net.dw(x), net.shape(x)[3], kernel=(1, 1)))
        else:
            axis = 3 if kind == "concat_c" else 1
            other = net.conv(x, int(rng.integers(2, 8)), kernel=(1, 1))
            if axis == 1:
                other = net.pool(net.conv(x, net.shape(x)[3], kernel=(1, 1)), "MaxPool2D",
                                 (2, 1), (2, 1), "same")
            y = net.concat([net.relu(x) if x == net.input else x, other], axis)
        pool.append(y)
    read = {t for n in net.nodes for t in n.inputs}
    outputs = [t for t in pool[1:] if t not in read] or [pool[-1]]
    return net.graph(*outputs, name=f"random{seed}")


@pytest.mark.parametrize("seed", range(240))
def test_arena_equals_the_lower_bound(seed):
    graph = random_net(seed)
    validate_graph(graph)
    for core in ("host", "cortex-m4"):
        for io_in_arena in (False, True):
            code = lower_model(graph, "m", CORES[core], io_in_arena=io_in_arena)
            check_plan(code.plan, list(code.requests))
            assert code.plan.size == code.plan.lower_bound and code.plan.optimal, (core, io_in_arena)


def test_the_generator_makes_branches():
    ops = [n.op for s in range(240) for n in random_net(s).nodes]
    assert ops.count("Add") > 50 and ops.count("Concatenation") > 50
    gathered = sum(bool(lower_model(random_net(s), "m").layout.sharing.gathered) for s in range(240))
    assert gathered > 10   # concatenations along rows written in place


@pytest.mark.parametrize("seed", range(0, 240, 20))
def test_random_networks_run_bit_exact(seed, tmp_path):
    graph = random_net(seed)
    inputs = random_inputs(graph, 2, np.random.default_rng(seed))
    want = run_ref(graph, inputs)
    for core in ("host", "cortex-m4"):
        got = run_lowered(lower_model(graph, "m", CORES[core]), inputs, tmp_path / core)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
