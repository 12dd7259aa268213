"""Clip (general bounds; TFLite RELU_N1_TO_1): C kernel vs numpy reference (bit-exact int8).

TFLM has no kernel for a general clamp (nor RELU_N1_TO_1), so the int8 reference is anchored
to TFLM through its special cases: Clip(0, inf) is RELU (requantizing), and Clip(0, 6) with
equal input and output quantization is RELU6. Other bounds are checked against the float
definition to within one output step."""

import dataclasses
import math

import numpy as np
import pytest

from activation_cases import (ALL_INT8, SHAPES, one_node_graph, single_op_tflite, sweep_inputs)
from helpers import assert_c_matches_ref, random_inputs, run_ref, tflm_run
from tinyml.frontends import load_model
from tinyml.numerics import dequantize, quantize
from tinyml.ops.clamp import ClipAttrs

# (input scale, input zero point, output scale, output zero point, lo, hi)
CASES = [(0.1, 0, 0.1, 0, -1.0, 1.0), (0.1, -20, 0.05, -128, 0.0, 6.0),
         (0.05, 10, 0.2, 3, -math.inf, 2.5), (0.02, 127, 0.01, -5, -0.7, math.inf),
         (0.3, -128, 0.3, -128, -math.inf, math.inf), (0.04, 3, 0.02, 0, 1.0, 1.0)]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_int8_c_matches_reference(case, tmp_path):
    s, z, os_, oz, lo, hi = CASES[case]
    g = one_node_graph("Clip", SHAPES[case % len(SHAPES)], "int8", ClipAttrs(lo, hi), (s, z),
                       (os_, oz))
    assert_c_matches_ref(g, sweep_inputs(g, np.random.default_rng(case)), tmp_path,
                         sanitize=case < 2)


@pytest.mark.parametrize("bounds", [(-1.0, 1.0), (-math.inf, 0.5)])
def test_float_c_matches_reference(bounds, tmp_path):
    g = one_node_graph("Clip", SHAPES[3], "float32", ClipAttrs(*bounds))
    assert_c_matches_ref(g, random_inputs(g, 5, np.random.default_rng(0)), tmp_path,
                         sanitize=bounds[0] == -1.0)


def _as_clip(graph, attrs):
    node = dataclasses.replace(graph.nodes[0], op="Clip", attrs=attrs)
    return graph.replace(nodes=[node])


@pytest.mark.parametrize("quant", [(0.1, -20, 0.05, -128), (0.05, 10, 0.2, 3)])
def test_clip_0_inf_is_tflite_micro_relu(quant, tmp_path):
    path = single_op_tflite(tmp_path / "relu.tflite", "RELU", "int8", (1, 256), quant[:2],
                            quant[2:])
    clip = _as_clip(load_model(path), ClipAttrs(0.0, math.inf))
    np.testing.assert_array_equal(run_ref(clip, [ALL_INT8])[0], tflm_run(path, [ALL_INT8])[0])


@pytest.mark.parametrize("quant", [(0.03, -20), (6 / 255, -128)])
def test_clip_0_6_is_tflite_micro_relu6(quant, tmp_path):
    path = single_op_tflite(tmp_path / "relu6.tflite", "RELU6", "int8", (1, 256), quant, quant)
    clip = _as_clip(load_model(path), ClipAttrs(0.0, 6.0))
    np.testing.assert_array_equal(run_ref(clip, [ALL_INT8])[0], tflm_run(path, [ALL_INT8])[0])


def test_relu_n1_to_1_within_one_step_of_float(tmp_path):
    in_q, out_q = (0.02, 5), (1 / 127, 0)
    path = single_op_tflite(tmp_path / "relu_n1.tflite", "RELU_N1_TO_1", "int8", (1, 256),
                            in_q, out_q)
    graph = load_model(path)
    assert graph.nodes[0].op == "Clip"
    want = quantize(np.clip(dequantize(ALL_INT8, *in_q), -1, 1), *out_q)
    got = run_ref(graph, [ALL_INT8])[0]
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
