"""Div (float32): C kernel vs numpy reference, reference vs TFLite Micro (broadcasting), the
ONNX importer vs onnxruntime, IEEE division by zero under UBSan, int8 refused by name."""

import numpy as np
import onnx
import pytest
from onnx import helper

from binary_op_cases import (SHAPES, binary_graph, check_c_matches_reference,
                             check_reference_matches_tflm)
from helpers import assert_c_matches_ref, run_c, run_ref
from onnx_models import make_model, ort_run
from tflite_builder import TFLiteBuilder
from tinyml.codegen import write_library
from tinyml.compiler import compile_model
from tinyml.errors import TinymlError
from tinyml.frontends import load_model
from tinyml.harness.host import run_host


@pytest.mark.parametrize("case", range(len(SHAPES)))
def test_c_matches_reference(case, tmp_path):
    check_c_matches_reference("Div", "float32", case, tmp_path)


@pytest.mark.parametrize("case,act", [(0, 0), (1, 1), (2, 3), (4, 0), (5, 2)])
def test_reference_matches_tflite_micro(case, act, tmp_path):
    check_reference_matches_tflm("DIV", "DivOptions", "float32", case, act, tmp_path)


def test_division_by_zero_is_ieee_and_sanitizer_clean(tmp_path):
    """x / 0 is +-inf, 0 / 0 NaN (the suite's -fsanitize=undefined leaves out
    float-divide-by-zero, which is no UB in IEEE arithmetic); a fused clamp bounds the infinities."""
    rng = np.random.default_rng(7)
    g = binary_graph("Div", rng, (1, 2, 3, 4), (1, 2, 3, 4), False, "float32", (-1.0, 1.0))
    a = rng.standard_normal((2, 1, 2, 3, 4)).astype(np.float32)
    b = rng.standard_normal((2, 1, 2, 3, 4)).astype(np.float32)
    b[:, :, 0] = 0.0
    a[0, :, 0, 0] = 0.0
    assert_c_matches_ref(g, [a, b], tmp_path, sanitize=True)
    got = run_c(g, [a, b], tmp_path / "again", sanitize=True)[0]
    assert np.isnan(got[0, :, 0, 0]).all()
    finite = np.isfinite(got)
    assert set(np.unique(got[:, :, 0][finite[:, :, 0]])) <= {-1.0, 1.0}


@pytest.mark.parametrize("shape_a,shape_b,const_b", [
    ((3, 4, 5), (3, 4, 5), False),
    ((1, 3, 4, 5), (5,), False),
    ((2, 1, 4), (3, 1), False),
    ((1, 3, 4, 5), (1, 3, 1, 1), True),
])
def test_onnx_div_matches_onnxruntime(shape_a, shape_b, const_b, tmp_path):
    rng = np.random.default_rng(11)
    b = (rng.uniform(0.5, 2.0, shape_b) * rng.choice([-1, 1], shape_b)).astype(np.float32)
    inputs = {"a": shape_a} if const_b else {"a": shape_a, "b": shape_b}
    path = make_model(tmp_path / "div.onnx", [helper.make_node("Div", ["a", "b"], ["y"])],
                      inputs, ["y"], {"b": b} if const_b else None)
    xs = [rng.standard_normal((3, *shape_a)).astype(np.float32)]
    if not const_b:
        xs.append(np.stack([b, -b, 2 * b]))
    graph = load_model(path)
    want = ort_run(path, xs)[0]
    ops = {n.op for n in graph.nodes}
    # a constant divisor becomes a Mul by its reciprocal (within one rounding of x / c)
    assert ops == ({"Mul"} if const_b else {"Div"})
    compiled = compile_model(path, target="host")
    write_library(compiled.code, tmp_path / "lib")
    got = run_host(tmp_path / "lib", xs, sanitize=True)[0]
    if const_b:
        np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-6, atol=0)
    else:
        np.testing.assert_array_equal(got.reshape(want.shape), want)
        np.testing.assert_array_equal(run_ref(graph, xs)[0].reshape(want.shape), want)


def test_int8_div_is_refused_by_name(tmp_path):
    b = TFLiteBuilder()
    ta, tb, ty = (b.tensor(n, (1, 4), "int8", scale=0.1, zero_point=0) for n in "aby")
    b.op("DIV", [ta, tb], [ty], "DivOptions")
    path = tmp_path / "div_int8.tflite"
    path.write_bytes(b.build([ta, tb], [ty]))
    with pytest.raises(TinymlError) as exc:
        compile_model(path, target="host")
    message = str(exc.value)
    assert "Div" in message and "int8" in message and "\n" not in message, message


def test_onnx_div_of_a_constant_by_a_tensor(tmp_path):
    """c / x: the constant is the dividend, so no reciprocal applies."""
    rng = np.random.default_rng(3)
    c = rng.uniform(1, 2, (1, 4)).astype(np.float32)
    model = helper.make_model(helper.make_graph(
        [helper.make_node("Div", ["c", "x"], ["y"])], "rdiv",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, (2, 4))],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
        [onnx.numpy_helper.from_array(c, "c")]), opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "rdiv.onnx"
    onnx.save(model, str(path))
    xs = [rng.uniform(0.5, 3, (4, 2, 4)).astype(np.float32)]
    compiled = compile_model(path, target="host")
    write_library(compiled.code, tmp_path / "lib")
    got = run_host(tmp_path / "lib", xs)[0]
    np.testing.assert_array_equal(got.reshape(4, 2, 4), ort_run(path, xs)[0])
