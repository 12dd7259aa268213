"""Conv2D: C kernels vs numpy reference (bit-exact), reference vs TFLite Micro."""

import numpy as np
import pytest

from conv_cases import (NONE, RELU, RELU6, assert_reference_matches_tflite_micro, output_scale,
                        resolve_pads)
from helpers import assert_c_matches_ref, random_inputs, run_c, run_ref, tflm_run
from tflite_builder import TFLiteBuilder
from tflite_cut import cut_operator, cut_operators, operator_indices
from tinyml.frontends import load_model
from tinyml.ir import Graph, Node, Quant, Tensor
from tinyml.kernels import select
from tinyml.ops import get_op
from tinyml.ops.conv2d import Conv2DAttrs, conv_output_hw, same_padding
from tinyml.targets.cores import get_core

# (batch, H, W, Cin, Cout, kernel, strides, dilations, padding, groups, act)
CASES = [
    (1, 5, 7, 3, 5, (3, 3), (1, 1), (1, 1), "same", 1, RELU),
    (1, 9, 8, 4, 6, (3, 3), (2, 2), (1, 1), "same", 1, NONE),
    (1, 1, 1, 7, 3, (1, 1), (1, 1), (1, 1), "valid", 1, RELU6),        # 1x1 spatial, pointwise
    (1, 6, 5, 6, 9, (2, 3), (2, 1), (2, 1), "valid", 3, NONE),         # groups, dilation
    (1, 10, 4, 1, 8, (10, 4), (2, 2), (1, 1), "same", 1, RELU),        # kws's first layer
    (2, 4, 6, 13, 11, (1, 1), (1, 1), (1, 1), "valid", 1, NONE),       # pointwise, batch 2
    (1, 7, 7, 5, 4, (3, 3), (1, 1), (1, 1), (2, 0, 1, 3), 1, RELU),    # explicit asymmetric
    (1, 3, 3, 2, 3, (5, 5), (3, 3), (1, 1), "same", 1, NONE),          # kernel > image
]
SANITIZED = {(0, "int8"), (4, "int8"), (5, "int8"), (3, "float32")}


def conv_graph(rng, case, dtype, per_channel=True, bias=True) -> Graph:
    batch, h, w_, cin, cout, kernel, strides, dilations, padding, groups, act = case
    pads = resolve_pads(padding, (h, w_), kernel, strides, dilations)
    oh, ow = conv_output_hw((h, w_), kernel, strides, dilations, pads)
    w_shape = (cout, *kernel, cin // groups)
    depth = int(np.prod(w_shape[1:]))
    if dtype == "int8":
        in_scale = rng.uniform(0.01, 0.1)
        w_scale = rng.uniform(0.002, 0.02, cout if per_channel else 1)
        x = Tensor("x", (batch, h, w_, cin), "int8", Quant.of(in_scale, int(rng.integers(-20, 20))))
        w = Tensor("w", w_shape, "int8", Quant.of(w_scale, 0), rng.integers(-127, 128, w_shape))
        b = Tensor("b", (cout,), "int32", None, rng.integers(-20000, 20000, cout))
        y = Tensor("y", (batch, oh, ow, cout), "int8",
                   Quant.of(output_scale(in_scale, w_scale, depth), int(rng.integers(-20, 20))))
    else:
        x = Tensor("x", (batch, h, w_, cin), "float32")
        w = Tensor("w", w_shape, "float32", data=rng.standard_normal(w_shape))
        b = Tensor("b", (cout,), "float32", data=rng.standard_normal(cout))
        y = Tensor("y", (batch, oh, ow, cout), "float32")
    node = Node("conv", "Conv2D", ("x", "w", "b" if bias else ""), ("y",),
                Conv2DAttrs(strides, dilations, pads, groups, act))
    return Graph.build("conv", [node], [x, w, b, y], ["x"], ["y"])


def test_same_padding():
    assert same_padding((49, 10), (10, 4), (2, 2), (1, 1)) == (4, 1, 5, 1)
    assert same_padding((8, 8), (3, 3), (2, 2), (1, 1)) == (0, 0, 1, 1)
    assert same_padding((8, 8), (3, 3), (2, 2), (1, 1), upper=False) == (1, 1, 0, 0)
    assert same_padding((5, 5), (3, 3), (1, 1), (2, 2)) == (2, 2, 2, 2)
    assert same_padding((1, 1), (1, 1), (1, 1), (1, 1)) == (0, 0, 0, 0)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_c_matches_reference(dtype, case, tmp_path):
    rng = np.random.default_rng(200 + case)
    g = conv_graph(rng, CASES[case], dtype, per_channel=case != 1, bias=case != 3)
    assert get_op(g.nodes[0]).output_shapes(g.nodes[0], g) == [g.tensor("y").shape]
    inputs = random_inputs(g, 4, rng)
    assert_c_matches_ref(g, inputs, tmp_path, atol=1e-4 if dtype == "float32" else 0.0,
                         sanitize=(case, dtype) in SANITIZED)


def test_pointwise_variant_is_chosen():
    rng = np.random.default_rng(0)
    kernels = [select(g, get_core("host"))["conv"].call.kernel
               for g in (conv_graph(rng, c, "int8") for c in CASES)]
    assert kernels[2] == kernels[5] == "tm_conv2d_1x1_fast_s8"
    assert kernels[0] == "tm_conv2d_im2col_fast_s8"
    assert kernels[3] == "tm_conv2d_generic_s8"   # groups


def tflite_conv(rng, case, dtype, per_channel=True) -> bytes:
    """One CONV_2D with random weights; `case` padding is "same" or "valid"."""
    batch, h, w_, cin, cout, kernel, strides, dilations, padding, groups, act = case
    act_code = {NONE: 0, RELU: 1, RELU6: 3}[act]
    pads = resolve_pads(padding, (h, w_), kernel, strides, dilations)
    oh, ow = conv_output_hw((h, w_), kernel, strides, dilations, pads)
    w_shape = (cout, *kernel, cin // groups)
    b = TFLiteBuilder()
    if dtype == "int8":
        in_scale = 0.05
        w_scale = rng.uniform(0.002, 0.02, cout if per_channel else 1)
        x = b.tensor("x", (batch, h, w_, cin), "int8", scale=in_scale, zero_point=-7)
        w = b.tensor("w", w_shape, "int8", data=rng.integers(-127, 128, w_shape), scale=w_scale,
                     axis=0)
        bias = b.tensor("b", (cout,), "int32", data=rng.integers(-20000, 20000, cout),
                        scale=in_scale * w_scale, axis=0)
        y = b.tensor("y", (batch, oh, ow, cout), "int8",
                     scale=output_scale(in_scale, w_scale, int(np.prod(w_shape[1:]))),
                     zero_point=4)
    else:
        x = b.tensor("x", (batch, h, w_, cin), "float32")
        w = b.tensor("w", w_shape, "float32", data=rng.standard_normal(w_shape))
        bias = b.tensor("b", (cout,), "float32", data=rng.standard_normal(cout))
        y = b.tensor("y", (batch, oh, ow, cout), "float32")
    b.op("CONV_2D", [x, w, bias], [y], "Conv2DOptions", Padding=0 if padding == "same" else 1,
         StrideH=strides[0], StrideW=strides[1], DilationHFactor=dilations[0],
         DilationWFactor=dilations[1], FusedActivationFunction=act_code)
    return b.build([x], [y])


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", [0, 1, 2, 3, 4, 7])
def test_reference_matches_tflite_micro(dtype, case, tmp_path):
    rng = np.random.default_rng(300 + case)
    path = tmp_path / "conv.tflite"
    path.write_bytes(tflite_conv(rng, CASES[case], dtype, per_channel=case != 1))
    assert_reference_matches_tflite_micro(path, dtype, rng)


def test_kws_conv_layers_match_tflite_micro(shared_models, tmp_path):
    """Each CONV_2D of the MLPerf Tiny kws model, cut out with its real weights."""
    model = shared_models / "mlperf_tiny" / "kws" / "kws_ref_model.tflite"
    rng = np.random.default_rng(7)
    for index in operator_indices(model, "CONV_2D"):
        path = tmp_path / f"conv{index}.tflite"
        path.write_bytes(cut_operator(model, index))
        graph = load_model(path)
        inputs = random_inputs(graph, 5, rng)
        np.testing.assert_array_equal(run_ref(graph, inputs)[0], tflm_run(path, inputs)[0])


def test_kws_conv_stack_matches_tflite_micro(shared_models, tmp_path):
    """kws's nine conv / depthwise layers as one model: generated C vs TFLite Micro."""
    model = shared_models / "mlperf_tiny" / "kws" / "kws_ref_model.tflite"
    path = tmp_path / "stack.tflite"
    path.write_bytes(cut_operators(model, range(9)))
    graph = load_model(path)
    assert [n.op for n in graph.nodes] == ["Conv2D"] + ["DepthwiseConv2D", "Conv2D"] * 4
    inputs = random_inputs(graph, 10, np.random.default_rng(9))
    got = run_c(graph, inputs, tmp_path / "c", sanitize=False)[0]
    np.testing.assert_array_equal(got, tflm_run(path, inputs)[0])
