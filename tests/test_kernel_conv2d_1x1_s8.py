"""tinyml/kernels/conv2d_1x1_s8.py: chosen for pointwise int8 convs whose offset terms fit
int32 (on every core), bit-exact against the numpy reference over odd channel counts,
batches and spatial sizes; a pointwise conv whose terms leave int32 gets the generic kernel."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from conv_cases import NONE, RELU6
from helpers import assert_c_matches_ref, random_inputs
from test_op_conv2d import conv_graph
from tinyml.ir import Quant
from tinyml.kernels import select
from tinyml.targets.cores import CORES


@pytest.fixture(autouse=True)
def without_faster_variants(monkeypatch):
    """The 1x1 kernel itself: the DSP and portable fast GEMM variants, which rank above it
    wherever their sums fit, left out of the registry."""
    from tinyml.kernels import registry
    monkeypatch.setattr(registry, "VARIANTS", [v for v in registry.VARIANTS
                                               if not (v.op == "Conv2D" and v.priority > 10)])

#: (batch, H, W, Cin, Cout, kernel, strides, dilations, padding, groups, act), all pointwise
CASES = [
    (1, 1, 1, 7, 3, (1, 1), (1, 1), (1, 1), "valid", 1, RELU6),
    (2, 3, 5, 13, 11, (1, 1), (1, 1), (1, 1), "valid", 1, NONE),
    (1, 7, 2, 1, 9, (1, 1), (1, 1), (1, 1), "valid", 1, NONE),
    (1, 4, 4, 37, 5, (1, 1), (1, 1), (1, 1), "valid", 1, RELU6),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_chosen_and_bit_exact(case, tmp_path):
    rng = np.random.default_rng(900 + case)
    g = conv_graph(rng, CASES[case], "int8", per_channel=case % 2 == 0, bias=case != 2)
    for core in CORES.values():
        choice = select(g, core)["conv"]
        assert choice.call.kernel == "tm_conv2d_1x1_s8"
        assert choice.reason == "pointwise, offset terms fit int32"
    assert_c_matches_ref(g, random_inputs(g, 3, rng), tmp_path, sanitize=case == 1)


def test_offset_terms_beyond_int32_fall_back_to_generic(tmp_path):
    rng = np.random.default_rng(5)
    g = conv_graph(rng, CASES[1], "int8")
    x, w, b = g.tensor("x"), g.tensor("w"), g.tensor("b")
    big = dataclasses.replace(b, data=np.full(b.shape, 2**31 - 8, dtype=np.int32))
    w = dataclasses.replace(w, data=np.full(w.shape, 127, dtype=np.int8))
    x = dataclasses.replace(x, quant=Quant.of(x.quant.scale[0], -128))
    g = g.replace(tensors=[x, w, big])
    choice = select(g, CORES["cortex-m4"])["conv"]
    assert choice.call.kernel == "tm_conv2d_generic_s8"
    assert choice.reason == "portable"
