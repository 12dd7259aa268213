"""The kernel registry: every op has its portable variants, select picks the most specific
variant the core can run, and the choice and its reason reach report.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from test_op_conv2d import CASES as CONV_CASES, conv_graph
from tinyml.codegen import lower_model, write_library
from tinyml.errors import UnsupportedError
from tinyml.kernels import VARIANTS, KernelVariant, select
from tinyml.kernels.registry import add_variant, variant
from tinyml.ops import REGISTRY
from tinyml.targets.cores import CORES, DSP, FPU, MVE, get_core

HOST = get_core("host")


@pytest.fixture
def scratch_registry(monkeypatch):
    """The registry as it is, restored after the test: variants added in it vanish."""
    monkeypatch.setattr("tinyml.kernels.registry.VARIANTS", list(VARIANTS))
    from tinyml.kernels import registry
    return registry


def test_every_op_has_an_unconditional_portable_variant_per_dtype():
    """Per op, activation dtype and weight dtype (int8 and ternary weights under int8)."""
    for op in REGISTRY.values():
        for dtype in op.dtypes:
            weights = [None] if 1 not in op.weight_axes else [dtype] + (
                ["ternary"] if op.ternary_weights and dtype == "int8" else [])
            for w in weights:
                same = [v for v in VARIANTS if v.op == op.name and v.act_dtype == dtype
                        and v.weight_dtype == w]
                portable = [v for v in same if v.is_portable]
                assert len(portable) == 1, (op.name, dtype, w)
                assert portable[0].priority == min(v.priority for v in same)


def test_variants_are_registered_for_known_ops_and_dtypes():
    for v in VARIANTS:
        assert v.op in REGISTRY, v.name
        assert v.act_dtype in REGISTRY[v.op].dtypes, v.name
        assert v.priority > 0 or v.is_portable, v.name


def test_core_features():
    assert get_core("cortex-m4").features == {DSP, FPU}
    assert get_core("cortex-m7").features == {DSP, FPU}
    assert get_core("cortex-m33").features == {DSP, FPU}
    assert get_core("cortex-m55").features == {DSP, FPU, MVE}
    assert get_core("cortex-m3").features == frozenset()
    assert get_core("cortex-m0plus").features == frozenset()
    assert DSP not in HOST.features   # the host runs the portable C of every variant


def test_pointwise_int8_conv_gets_the_1x1_variant_with_its_reason():
    rng = np.random.default_rng(0)
    for index, case in enumerate(CONV_CASES):
        g = conv_graph(rng, case, "int8")
        for core in CORES.values():
            choice = select(g, core)["conv"]
            kind = "dsp" if DSP in core.features else "fast"
            if index in (2, 5):
                assert choice.call.kernel == f"tm_conv2d_1x1_{kind}_s8"
                assert choice.reason.startswith("pointwise")
            elif case[9] > 1:   # groups: the portable kernel only
                assert choice.call.kernel == "tm_conv2d_generic_s8"
                assert choice.reason == "portable"
            else:
                assert choice.call.kernel == f"tm_conv2d_im2col_{kind}_s8"
                assert choice.reason.startswith("one group")
        assert select(conv_graph(rng, case, "float32"), get_core("cortex-m3"))["conv"] \
            .call.kernel == "tm_conv2d_generic_f32"


def test_features_and_priority_decide(scratch_registry):
    g = conv_graph(np.random.default_rng(1), CONV_CASES[5], "int8")   # pointwise
    generic = next(v for v in scratch_registry.VARIANTS if v.name == "Conv2D.int8.portable")

    @variant(op="Conv2D", act="int8", weights="int8", features=(DSP,), reason="the core has DSP",
             priority=25)
    def tm_conv2d_demo_dsp_s8(node, graph):
        return generic.lowering(node, graph)

    assert select(g, get_core("cortex-m4"))["conv"].reason == "the core has DSP"
    fast = "pointwise: portable GEMM 4 pixels x 2 channels"
    assert select(g, get_core("cortex-m3"))["conv"].reason == fast
    assert select(g, HOST)["conv"].reason == fast


def test_a_false_condition_falls_back(scratch_registry):
    g = conv_graph(np.random.default_rng(2), CONV_CASES[5], "int8")
    seen = []

    @variant(op="Conv2D", act="int8", weights="int8", condition=lambda n, gr: seen.append(n.name),
             reason="never", priority=30)
    def tm_conv2d_never_s8(node, graph):
        raise AssertionError("a variant whose condition fails is not lowered")

    assert select(g, HOST)["conv"].call.kernel == "tm_conv2d_1x1_fast_s8"
    assert seen == ["conv"]


def test_registration_refuses_duplicates_and_unknown_features(scratch_registry):
    v = scratch_registry.VARIANTS[0]
    with pytest.raises(ValueError, match="registered twice"):
        add_variant(v)
    with pytest.raises(ValueError, match="unknown core features"):
        add_variant(KernelVariant("tm_x", v.op, v.act_dtype, None, v.lowering,
                                  frozenset({"neon"}), priority=5))


def test_no_variant_for_a_dtype_names_the_node(scratch_registry):
    g = conv_graph(np.random.default_rng(3), CONV_CASES[0], "int8")
    scratch_registry.VARIANTS[:] = [v for v in scratch_registry.VARIANTS if v.op != "Conv2D"]
    with pytest.raises(UnsupportedError, match="conv.*Conv2D|Conv2D.*conv"):
        select(g, HOST)


def test_report_gives_kernel_and_reason(tmp_path):
    g = conv_graph(np.random.default_rng(4), CONV_CASES[5], "int8")
    write_library(lower_model(g, "m", get_core("cortex-m4")), tmp_path / "m",
                  {"target": "cortex-m4", "dtype": "int8"})
    layer = json.loads((tmp_path / "m" / "report.json").read_text())["layers"][0]
    assert layer["kernel"] == "tm_conv2d_1x1_dsp_s8"
    assert layer["variant_reason"] == "pointwise, DSP: SMLAD GEMM 4 pixels x 1 channel"
