"""ONNX 1-D Conv and depthwise Conv with auto_pad (a 2-D window of height 1, the weight a
constant of height 1), against onnxruntime."""

import numpy as np
import pytest
from onnx import helper

from onnx_models import make_model, ort_run
from tinyml.codegen import write_library
from tinyml.compiler import compile_model
from tinyml.harness.host import run_host


#: onnxruntime refuses dilations with SAME padding
@pytest.mark.parametrize("auto_pad,strides,dilations", [
    ("SAME_UPPER", [1], [1]), ("SAME_UPPER", [2], [1]), ("SAME_LOWER", [1], [1]),
    ("SAME_LOWER", [2], [1]), ("VALID", [2], [1]), ("VALID", [1], [2]),
])
@pytest.mark.parametrize("group", [1, 3])
def test_conv_1d_auto_pad_matches_onnxruntime(auto_pad, strides, dilations, group, tmp_path):
    rng = np.random.default_rng(21)
    w = rng.standard_normal((6, 3 // group, 4)).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w"], ["y"], auto_pad=auto_pad, strides=strides,
                            dilations=dilations, group=group)
    path = make_model(tmp_path / "conv1d.onnx", [node], {"x": (1, 3, 11)}, ["y"], {"w": w})
    xs = [rng.standard_normal((2, 1, 3, 11)).astype(np.float32)]
    want = ort_run(path, xs)[0]
    compiled = compile_model(path, target="host")
    write_library(compiled.code, tmp_path / "lib")
    got = run_host(tmp_path / "lib", xs)[0]
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-5, atol=1e-5)
