"""tinyml/kernels/fully_connected_fast_s8.py: chosen for int8 fully connected layers on the
cores without DSP (Cortex-M0, M0+, M3, host) and not on the DSP cores; bit-exact against the
numpy reference over odd input and output counts, one to six batch rows (four at a time and
the rest), both clamps, with and without bias; scratch in Python equal to C's; extreme sums;
and the same on the emulated Cortex-M3 and Cortex-M0."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conv_cases import NONE, RELU
from helpers import random_inputs
from kernel_checks import assert_scratch_matches_c
from portable_fast_checks import BOARDS, HOST, assert_chosen_without_dsp, kernel_on
from test_op_fully_connected import fc_graph
from variant_checks import assert_board_matches_ref, assert_host_matches_ref

from tinyml.kernels import select

KERNEL = "tm_fully_connected_fast_s8"

#: (batch, in, out)
CASES = [(1, 640, 128), (1, 128, 8), (1, 8, 128), (3, 9, 5), (1, 13, 6), (4, 64, 12),
         (6, 7, 3), (1, 1, 16), (5, 16, 1)]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_chosen_bit_exact_and_scratch(case, tmp_path):
    rng = np.random.default_rng(1000 + case)
    g = fc_graph(rng, *CASES[case], "int8", RELU if case % 3 == 0 else NONE,
                 per_channel=case % 2 == 0, bias=case != 4)
    assert_chosen_without_dsp(g, "fc", KERNEL)
    assert_host_matches_ref(g, random_inputs(g, 4, rng), tmp_path / "host", core=HOST,
                            sanitize=case < 6)
    assert_scratch_matches_c(select(g, HOST)["fc"].call, tmp_path)


def test_extreme_inputs_and_weights_are_exact(tmp_path):
    """All -128 and all 127 inputs against +-127 weights: the largest sums each way."""
    rng = np.random.default_rng(9)
    g = fc_graph(rng, 4, 200, 8, "int8", NONE)
    w = g.tensor("w")
    signs = np.where(rng.random(w.shape) < 0.5, -127, 127).astype(np.int8)
    g = g.replace(tensors=[dataclasses.replace(w, data=signs)])
    x = np.stack([np.full(200, v, np.int8) for v in (-128, 127, -128, 127)])
    x[2, ::2] = 127
    assert kernel_on(g, "fc", "host") == KERNEL
    assert_host_matches_ref(g, [x[None]], tmp_path, core=HOST)


def test_sums_beyond_the_bound_are_not_chosen():
    g = fc_graph(np.random.default_rng(5), 1, 64, 4, "int8", NONE)
    b = g.tensor("b")
    g = g.replace(tensors=[dataclasses.replace(b, data=np.full(b.shape, 2**31 - 2**20, np.int32))])
    assert kernel_on(g, "fc", "cortex-m3") == "tm_fully_connected_generic_s8"


@pytest.mark.slow
@pytest.mark.parametrize("board", BOARDS)
def test_on_board(board, tmp_path):
    rng = np.random.default_rng(1001)
    g = fc_graph(rng, 5, 77, 13, "int8", RELU)
    assert assert_board_matches_ref(g, random_inputs(g, 3, rng), tmp_path, board) > 0
