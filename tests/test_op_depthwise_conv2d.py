"""DepthwiseConv2D: C kernels vs numpy reference (bit-exact), reference vs TFLite Micro."""

import numpy as np
import pytest

from conv_cases import (NONE, RELU, RELU6, assert_reference_matches_tflite_micro, output_scale,
                        resolve_pads)
from helpers import assert_c_matches_ref, random_inputs, run_ref, tflm_run
from tflite_builder import TFLiteBuilder
from tflite_cut import cut_operator, operator_indices
from tinyml.frontends import load_model
from tinyml.ir import Graph, Node, Quant, Tensor
from tinyml.ops import get_op
from tinyml.ops.conv2d import conv_output_hw
from tinyml.ops.depthwise_conv2d import DepthwiseConv2DAttrs

# (batch, H, W, Cin, multiplier, kernel, strides, dilations, padding, act)
CASES = [
    (1, 5, 7, 3, 1, (3, 3), (1, 1), (1, 1), "same", RELU),
    (1, 9, 8, 5, 2, (3, 3), (2, 2), (1, 1), "same", NONE),             # multiplier, stride 2
    (1, 1, 1, 7, 1, (1, 1), (1, 1), (1, 1), "valid", RELU6),           # 1x1 spatial
    (1, 8, 6, 6, 3, (3, 2), (1, 2), (2, 1), "valid", NONE),            # dilation
    (2, 25, 5, 64, 1, (3, 3), (1, 1), (1, 1), "same", RELU),           # kws's layers, batch 2
    (1, 7, 7, 5, 1, (3, 3), (2, 1), (1, 1), (2, 0, 1, 3), RELU),       # explicit asymmetric
    (1, 3, 3, 2, 2, (5, 5), (3, 3), (1, 1), "same", NONE),             # kernel > image
]
SANITIZED = {(0, "int8"), (1, "int8"), (5, "float32")}


def depthwise_graph(rng, case, dtype, per_channel=True, bias=True) -> Graph:
    batch, h, w_, cin, mult, kernel, strides, dilations, padding, act = case
    pads = resolve_pads(padding, (h, w_), kernel, strides, dilations)
    oh, ow = conv_output_hw((h, w_), kernel, strides, dilations, pads)
    cout = cin * mult
    w_shape = (1, *kernel, cout)
    if dtype == "int8":
        in_scale = rng.uniform(0.01, 0.1)
        w_scale = rng.uniform(0.002, 0.02, cout if per_channel else 1)
        x = Tensor("x", (batch, h, w_, cin), "int8", Quant.of(in_scale, int(rng.integers(-20, 20))))
        w = Tensor("w", w_shape, "int8", Quant.of(w_scale, 0, axis=3),
                   rng.integers(-127, 128, w_shape))
        b = Tensor("b", (cout,), "int32", None, rng.integers(-5000, 5000, cout))
        y = Tensor("y", (batch, oh, ow, cout), "int8",
                   Quant.of(output_scale(in_scale, w_scale, kernel[0] * kernel[1]),
                            int(rng.integers(-20, 20))))
    else:
        x = Tensor("x", (batch, h, w_, cin), "float32")
        w = Tensor("w", w_shape, "float32", data=rng.standard_normal(w_shape))
        b = Tensor("b", (cout,), "float32", data=rng.standard_normal(cout))
        y = Tensor("y", (batch, oh, ow, cout), "float32")
    node = Node("dw", "DepthwiseConv2D", ("x", "w", "b" if bias else ""), ("y",),
                DepthwiseConv2DAttrs(strides, dilations, pads, mult, act))
    return Graph.build("dw", [node], [x, w, b, y], ["x"], ["y"])


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_c_matches_reference(dtype, case, tmp_path):
    rng = np.random.default_rng(400 + case)
    g = depthwise_graph(rng, CASES[case], dtype, per_channel=case != 1, bias=case != 3)
    assert get_op(g.nodes[0]).output_shapes(g.nodes[0], g) == [g.tensor("y").shape]
    inputs = random_inputs(g, 4, rng)
    assert_c_matches_ref(g, inputs, tmp_path, atol=1e-4 if dtype == "float32" else 0.0,
                         sanitize=(case, dtype) in SANITIZED)


def tflite_depthwise(rng, case, dtype, per_channel=True, option_multiplier=None) -> bytes:
    """One DEPTHWISE_CONV_2D with random weights; `case` padding is "same" or "valid"."""
    batch, h, w_, cin, mult, kernel, strides, dilations, padding, act = case
    act_code = {NONE: 0, RELU: 1, RELU6: 3}[act]
    pads = resolve_pads(padding, (h, w_), kernel, strides, dilations)
    oh, ow = conv_output_hw((h, w_), kernel, strides, dilations, pads)
    cout = cin * mult
    w_shape = (1, *kernel, cout)
    b = TFLiteBuilder()
    if dtype == "int8":
        in_scale = 0.05
        w_scale = rng.uniform(0.002, 0.02, cout if per_channel else 1)
        x = b.tensor("x", (batch, h, w_, cin), "int8", scale=in_scale, zero_point=-7)
        w = b.tensor("w", w_shape, "int8", data=rng.integers(-127, 128, w_shape), scale=w_scale,
                     axis=3)
        bias = b.tensor("b", (cout,), "int32", data=rng.integers(-5000, 5000, cout),
                        scale=in_scale * w_scale, axis=0)
        y = b.tensor("y", (batch, oh, ow, cout), "int8",
                     scale=output_scale(in_scale, w_scale, kernel[0] * kernel[1]), zero_point=4)
    else:
        x = b.tensor("x", (batch, h, w_, cin), "float32")
        w = b.tensor("w", w_shape, "float32", data=rng.standard_normal(w_shape))
        bias = b.tensor("b", (cout,), "float32", data=rng.standard_normal(cout))
        y = b.tensor("y", (batch, oh, ow, cout), "float32")
    b.op("DEPTHWISE_CONV_2D", [x, w, bias], [y], "DepthwiseConv2DOptions",
         Padding=0 if padding == "same" else 1, StrideH=strides[0], StrideW=strides[1],
         DilationHFactor=dilations[0], DilationWFactor=dilations[1],
         DepthMultiplier=mult if option_multiplier is None else option_multiplier,
         FusedActivationFunction=act_code)
    return b.build([x], [y])


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", [0, 1, 2, 3, 6])
def test_reference_matches_tflite_micro(dtype, case, tmp_path):
    rng = np.random.default_rng(500 + case)
    path = tmp_path / "dw.tflite"
    path.write_bytes(tflite_depthwise(rng, CASES[case], dtype, per_channel=case != 1))
    assert_reference_matches_tflite_micro(path, dtype, rng)


def test_multiplier_comes_from_shapes(tmp_path):
    """Old converters wrote DepthMultiplier 0: the importer derives it from the shapes."""
    path = tmp_path / "dw.tflite"
    path.write_bytes(tflite_depthwise(np.random.default_rng(0), CASES[1], "int8",
                                      option_multiplier=0))
    assert load_model(path).nodes[0].attrs.depth_multiplier == 2


def test_kws_depthwise_layers_match_tflite_micro(shared_models, tmp_path):
    """Each DEPTHWISE_CONV_2D of the MLPerf Tiny kws model, cut out with its real weights.

    The generated C of these layers is checked in test_op_conv2d.py (the kws conv stack).
    """
    model = shared_models / "mlperf_tiny" / "kws" / "kws_ref_model.tflite"
    rng = np.random.default_rng(8)
    for index in operator_indices(model, "DEPTHWISE_CONV_2D"):
        path = tmp_path / f"dw{index}.tflite"
        path.write_bytes(cut_operator(model, index))
        graph = load_model(path)
        inputs = random_inputs(graph, 5, rng)
        np.testing.assert_array_equal(run_ref(graph, inputs)[0], tflm_run(path, inputs)[0])
