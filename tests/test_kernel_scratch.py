"""Scratch: a variant's Python size reaches the arena plan and equals its C
tm_<kernel>_get_buffer_size. The mechanism is shown on a test-only variant
(tests/kernel_fixtures/tm_conv2d_rowbuf_demo_s8.c), including that a wrong size is caught; a
registered variant with scratch checks itself with kernel_checks.assert_scratch_matches_c in
its own test (e.g. tests/test_kernel_gemm_dsp_s8.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from kernel_checks import FIXTURES, assert_scratch_matches_c, c_buffer_size
from test_op_conv2d import CASES, conv_graph
from tinyml.codegen import lower_model
from tinyml.kernels import VARIANTS, select
from tinyml.kernels.registry import variant
from tinyml.targets.cores import get_core

DEMO_C = [FIXTURES / "tm_conv2d_rowbuf_demo_s8.c"]


def row_bytes(node, graph) -> int:
    x = graph.tensor(node.inputs[0])
    return x.shape[2] * x.shape[3] * 2


@pytest.fixture
def demo_variant(monkeypatch):
    monkeypatch.setattr("tinyml.kernels.registry.VARIANTS", list(VARIANTS))
    portable = next(v for v in VARIANTS if v.name == "Conv2D.int8.portable")

    @variant(op="Conv2D", act="int8", weights="int8", reason="test-only", scratch=row_bytes,
             priority=50)
    def tm_conv2d_rowbuf_demo_s8(node, graph):
        return replace(portable.lowering(node, graph), kernel="tm_conv2d_rowbuf_demo_s8")


@pytest.mark.parametrize("case", [0, 4, 5])
def test_python_scratch_equals_c_buffer_size(demo_variant, case, tmp_path):
    g = conv_graph(np.random.default_rng(case), CASES[case], "int8")
    call = select(g, get_core("cortex-m4"))["conv"].call
    x = g.tensor("x")
    assert call.scratch_bytes == x.shape[2] * x.shape[3] * 2 > 0
    assert_scratch_matches_c(call, tmp_path, DEMO_C)


def test_a_wrong_python_size_is_caught(demo_variant, tmp_path):
    g = conv_graph(np.random.default_rng(1), CASES[1], "int8")
    call = select(g, get_core("host"))["conv"].call
    assert c_buffer_size(call, tmp_path, DEMO_C) != call.scratch_bytes + 1


def test_scratch_gets_its_own_arena_bytes(demo_variant):
    g = conv_graph(np.random.default_rng(2), CASES[0], "int8")
    code = lower_model(g, "m", get_core("cortex-m4"))
    request = next(r for r in code.requests if r.name == "conv#scratch")
    assert request.size == row_bytes(g.nodes[0], g)
    assert code.layers[0].scratch_offset == code.plan.offsets["conv#scratch"]
    assert code.plan.size >= request.size
