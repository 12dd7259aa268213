"""tm_fully_connected_direct_dsp_s8 (tinyml/kernels/fully_connected_direct_dsp_s8.py): the
DSP fully connected without scratch. Ranked below the column variant, so the planner takes it
only under --optimize ram where the column raises the peak; made first here, its C (tm_dsp.h's
portable path on the host) is bit-exact against the numpy reference over depths not divisible
by 4, channels not divisible by 4, batches and extreme values, with no scratch in C either;
and the same on an emulated Cortex-M4."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from conv_cases import NONE, RELU
from helpers import random_inputs
from kernel_checks import assert_scratch_matches_c
from net_builder import Net
from test_kernel_gemm_dsp_s8 import DENSE
from test_op_fully_connected import fc_graph
from tinyml.codegen import lower_model
from tinyml.kernels import VARIANTS, select
from tinyml.plan.planner import PlanOptions
from tinyml.targets.cores import CORES
from variant_checks import M4, assert_board_matches_ref, assert_host_matches_ref

KERNEL = "tm_fully_connected_direct_dsp_s8"


@pytest.fixture
def direct_first(monkeypatch):
    """The registry with this variant ranked first."""
    ranked = [dataclasses.replace(v, priority=50) if v.name == KERNEL else v for v in VARIANTS]
    monkeypatch.setattr("tinyml.kernels.registry.VARIANTS", ranked)


def test_ranked_below_the_column_and_taken_by_optimize_ram():
    g = fc_graph(np.random.default_rng(1), 1, 640, 128, "int8", NONE)
    assert select(g, M4)["fc"].call.kernel == "tm_fully_connected_dsp_s8"
    net = Net((1, 640), "int8", 2)
    graph = net.graph(net.relu(net.fc(net.fc(net.input, 128), 8)))
    ram = lower_model(graph, "m", M4, io_in_arena=True, options=PlanOptions(optimize="ram"))
    balanced = lower_model(graph, "m", M4, io_in_arena=True)
    kernels = [l.call.kernel for l in ram.layers if l.node.op == "FullyConnected"]
    assert kernels[0] == KERNEL and ram.plan.size < balanced.plan.size
    assert ram.plan.size == 640 + 128   # input and output of the first layer, nothing more


@pytest.mark.parametrize("case", range(len(DENSE)))
def test_bit_exact_without_scratch(direct_first, case, tmp_path):
    rng = np.random.default_rng(700 + case)
    g = fc_graph(rng, *DENSE[case], "int8", RELU if case % 3 == 0 else NONE,
                 per_channel=case % 2 == 0, bias=case != 4)
    call = select(g, M4)["fc"].call
    assert call.kernel == KERNEL and call.scratch_bytes == 0
    assert all(select(g, CORES[c])["fc"].call.kernel != KERNEL for c in ("cortex-m3", "host"))
    assert_host_matches_ref(g, random_inputs(g, 4, rng), tmp_path / "host", sanitize=case < 4)
    assert_scratch_matches_c(call, tmp_path, None)


def test_extreme_inputs_and_weights_are_exact(direct_first, tmp_path):
    rng = np.random.default_rng(9)
    g = fc_graph(rng, 4, 203, 9, "int8", NONE)
    w = g.tensor("w")
    signs = np.where(rng.random(w.shape) < 0.5, -127, 127).astype(np.int8)
    g = g.replace(tensors=[dataclasses.replace(w, data=signs)])
    x = np.stack([np.full(203, v, np.int8) for v in (-128, 127, -128, 127)])
    x[2, ::2] = 127
    assert_host_matches_ref(g, [x[None]], tmp_path)


@pytest.mark.emulator
@pytest.mark.slow
def test_cortex_m4_bit_exact(direct_first, tmp_path):
    rng = np.random.default_rng(710)
    g = fc_graph(rng, 2, 77, 13, "int8", RELU)
    assert_board_matches_ref(g, random_inputs(g, 3, rng), tmp_path)
