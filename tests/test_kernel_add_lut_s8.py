"""tinyml/kernels/add_lut_s8.py: int8 Add and Sub of same-shape inputs from per-input tables.
Chosen where both inputs have the output's shape (the DSP kernel on cores with SIMD32, the
portable one elsewhere), never for a broadcast; bit-exact against the numpy reference on the
host over random quantizations, clamps and sizes that are not multiples of 4, also in place
and with one tensor added to itself; the DSP kernel on the emulated Cortex-M4."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from binary_op_cases import binary_graph
from helpers import random_inputs
from tinyml.ir import Graph, Node, Quant, Tensor
from tinyml.kernels import select
from tinyml.kernels.add_lut_s8 import BYTE_VALUES, kernel_outputs, tables
from tinyml.ops import get_op
from tinyml.ops.binary import BinaryAttrs
from tinyml.targets.cores import CORES
from variant_checks import assert_board_matches_ref, assert_host_matches_ref

M3 = CORES["cortex-m3"]
ACTS = [(-math.inf, math.inf), (0.0, math.inf), (0.0, 6.0), (-1.0, 1.0)]
#: shapes with element counts 1, 3, 4, 5 (mod 4: 1, 3, 0, 1), 105, 1536
SHAPES = [(1,), (1, 1, 1, 3), (2, 2), (1, 5), (1, 5, 7, 3), (1, 8, 8, 24)]
WANT = {"dsp": {"Add": "tm_add_lut_dsp_s8", "Sub": "tm_add_lut_dsp_s8"},
        "portable": {"Add": "tm_add_lut_s8", "Sub": "tm_add_lut_s8"}}


def _graph(op, rng, shape, act):
    return binary_graph(op, rng, shape, shape, False, "int8", act)


@pytest.mark.parametrize("op", ["Add", "Sub"])
def test_chosen_for_same_shapes_on_every_core(op):
    g = _graph(op, np.random.default_rng(1), (1, 4, 4, 3), ACTS[1])
    for core in CORES.values():
        kind = "dsp" if "dsp" in core.features else "portable"
        choice = select(g, core)[op.lower()]
        assert choice.call.kernel == WANT[kind][op], core.name
        assert choice.reason.startswith("same shapes"), choice.reason


@pytest.mark.parametrize("op", ["Add", "Sub"])
def test_broadcast_keeps_the_generic_kernel(op):
    g = binary_graph(op, np.random.default_rng(2), (1, 4, 4, 3), (3,), False, "int8", ACTS[0])
    assert select(g, CORES["cortex-m4"])[op.lower()].call.kernel == f"tm_{op.lower()}_generic_s8"


def test_formula_equals_reference_on_all_pairs_for_random_quantizations():
    """What the condition checks, over many quantizations: it holds for all of them here, so
    the variant is not a rare case."""
    rng = np.random.default_rng(3)
    for i in range(60):
        op = ("Add", "Sub")[i % 2]
        g = _graph(op, rng, (1, 4), ACTS[i % len(ACTS)])
        node = g.nodes[0]
        p = get_op(node, g).prepare_int8(node, g)
        t = tables(p, op)
        assert t is not None, (op, p)
        want = get_op(node, g).evaluate_int8(p, BYTE_VALUES[:, None], BYTE_VALUES[None, :])
        np.testing.assert_array_equal(kernel_outputs(t, p), want)


def test_an_output_left_shift_falls_back():
    """An output scale below 2^-20 of the inputs' needs a left shift: not this kernel's."""
    g = _graph("Add", np.random.default_rng(4), (1, 8), ACTS[0])
    y = g.tensor("y")
    g = g.replace(tensors=[g.tensor("a"), g.tensor("b"),
                           dataclasses.replace(y, quant=Quant.of(1e-9, 0))])
    assert select(g, CORES["cortex-m4"])["add"].call.kernel == "tm_add_generic_s8"


@pytest.mark.parametrize("op", ["Add", "Sub"])
@pytest.mark.parametrize("case", range(len(SHAPES)))
def test_dsp_kernel_bit_exact_on_host(op, case, tmp_path):
    rng = np.random.default_rng(100 + case)
    g = _graph(op, rng, SHAPES[case], ACTS[case % len(ACTS)])
    assert select(g, CORES["cortex-m4"])[op.lower()].call.kernel == "tm_add_lut_dsp_s8"
    assert_host_matches_ref(g, random_inputs(g, 4, rng), tmp_path, sanitize=case % 2 == 0)


@pytest.mark.parametrize("op", ["Add", "Sub"])
@pytest.mark.parametrize("case", [1, 3, 4])
def test_portable_kernel_bit_exact_on_host(op, case, tmp_path):
    rng = np.random.default_rng(200 + case)
    g = _graph(op, rng, SHAPES[case], ACTS[(case + 1) % len(ACTS)])
    assert select(g, M3)[op.lower()].call.kernel == "tm_add_lut_s8"
    assert_host_matches_ref(g, random_inputs(g, 4, rng), tmp_path, core=M3)


def test_a_tensor_added_to_itself(tmp_path):
    rng = np.random.default_rng(5)
    a = Tensor("a", (1, 3, 3, 5), "int8", Quant.of(0.07, -9))
    y = Tensor("y", (1, 3, 3, 5), "int8", Quant.of(0.11, 4))
    g = Graph.build("twice", [Node("add", "Add", ("a", "a"), ("y",), BinaryAttrs(ACTS[1]))],
                    [a, y], ["a"], ["y"])
    assert select(g, CORES["cortex-m4"])["add"].call.kernel == "tm_add_lut_dsp_s8"
    assert_host_matches_ref(g, random_inputs(g, 3, rng), tmp_path)


def test_chained_adds_in_place(tmp_path):
    """(a + b) - a: the planner may run the second op in place over the first's output."""
    rng = np.random.default_rng(6)
    shape = (1, 6, 5, 7)
    q = [Quant.of(float(rng.uniform(0.02, 0.2)), int(rng.integers(-30, 30))) for _ in range(4)]
    ts = [Tensor(n, shape, "int8", qq) for n, qq in zip("abst", q)]
    nodes = [Node("add", "Add", ("a", "b"), ("s",), BinaryAttrs(ACTS[0])),
             Node("sub", "Sub", ("s", "a"), ("t",), BinaryAttrs(ACTS[2]))]
    g = Graph.build("chain", nodes, ts, ["a", "b"], ["t"])
    assert_host_matches_ref(g, random_inputs(g, 3, rng), tmp_path)


def _needs_rounding_of_negative_ties(op, seed):
    """A graph whose quantization makes tm_add_lut.h's sign correction matter: without it
    some input pair would round a negative tie the wrong way."""
    rng = np.random.default_rng(seed)
    g = _graph(op, rng, (1, 256 * 256), ACTS[0])
    node = g.nodes[0]
    p = get_op(node, g).prepare_int8(node, g)
    t = tables(p, op)
    want = kernel_outputs(t, p)
    s = t.table1[:, None] + t.table2[None, :]
    rounded = t.output_round + ((s * t.output_multiplier + (1 << 31)) >> 32)
    without = np.clip(rounded >> t.output_right_shift, p.act_min, p.act_max)
    return g, not np.array_equal(without, want)


@pytest.mark.parametrize("core", ["cortex-m4", "cortex-m3"])
@pytest.mark.parametrize("op", ["Add", "Sub"])
def test_every_input_pair_in_c(op, core, tmp_path):
    """The C kernel over all 65,536 input pairs, for a quantization where a negative tie
    occurs (random inputs would rarely meet one)."""
    g, sensitive = next((found for seed in range(300)
                         if (found := _needs_rounding_of_negative_ties(op, seed))[1]),
                        (None, False))
    assert sensitive, "no quantization with a negative tie in 300 tries"
    first = np.repeat(BYTE_VALUES, 256).astype(np.int8).reshape(1, 1, -1)
    second = np.tile(BYTE_VALUES, 256).astype(np.int8).reshape(1, 1, -1)
    assert_host_matches_ref(g, [first, second], tmp_path, core=CORES[core], sanitize=False)


@pytest.mark.slow
@pytest.mark.emulator
def test_dsp_kernel_on_cortex_m4(tmp_path):
    rng = np.random.default_rng(7)
    g = _graph("Add", rng, (1, 7, 9, 5), ACTS[1])
    assert select(g, CORES["cortex-m4"])["add"].call.kernel == "tm_add_lut_dsp_s8"
    assert assert_board_matches_ref(g, random_inputs(g, 3, rng), tmp_path) > 0
