"""ONNX MaxPool and AveragePool beyond the plain 2-D window, against onnxruntime: 3-D pools
(two 2-D pools: over H and W per depth slice, then over D), dilations, count_include_pad with
ceil_mode; and the dilated IR pools, C against the numpy reference under ASan/UBSan."""

import numpy as np
import pytest
from onnx import helper

from helpers import assert_c_matches_ref, random_inputs
from onnx_models import make_model, ort_run
from tinyml.codegen import write_library
from tinyml.compiler import compile_model
from tinyml.errors import ModelError, UnsupportedError
from tinyml.frontends import load_model
from tinyml.harness.host import run_host
from tinyml.ir import Graph, Node, Quant, Tensor
from tinyml.ops.conv2d import conv_output_hw
from tinyml.ops.pool2d import Pool2DAttrs
from tinyml.validate import validate_graph

#: (op, input shape, attributes)
CASES = [
    ("MaxPool", (1, 2, 6, 7, 5), dict(kernel_shape=[2, 3, 2], strides=[1, 2, 2],
                                      pads=[1, 1, 0, 0, 1, 1])),
    ("MaxPool", (2, 3, 9, 8, 8), dict(kernel_shape=[3, 2, 2], strides=[2, 2, 3],
                                      dilations=[2, 1, 2], ceil_mode=1)),
    ("AveragePool", (1, 2, 6, 7, 5), dict(kernel_shape=[3, 3, 2], strides=[2, 1, 2],
                                          pads=[1, 1, 0, 1, 1, 1])),
    ("AveragePool", (1, 2, 6, 7, 5), dict(kernel_shape=[3, 3, 2], strides=[2, 1, 2],
                                          pads=[1, 1, 0, 1, 1, 1], count_include_pad=1)),
    ("AveragePool", (1, 1, 10, 9, 11), dict(kernel_shape=[3, 2, 3], strides=[3, 2, 3],
                                            pads=[1, 0, 1, 1, 0, 1], ceil_mode=1,
                                            count_include_pad=1)),
    ("AveragePool", (1, 3, 8, 8, 8), dict(kernel_shape=[2, 2, 2], strides=[2, 2, 2],
                                          auto_pad="SAME_UPPER")),
    ("AveragePool", (1, 1, 12, 12, 12), dict(kernel_shape=[3, 3, 3], strides=[2, 2, 2],
                                             dilations=[2, 2, 2], ceil_mode=1)),
    # 2-D: dilations, and count_include_pad with ceil_mode adding a window past the pads
    ("MaxPool", (1, 3, 9, 10), dict(kernel_shape=[3, 2], dilations=[2, 3], pads=[2, 1, 2, 1])),
    ("AveragePool", (2, 2, 9, 10), dict(kernel_shape=[3, 3], strides=[2, 2], dilations=[2, 2],
                                        pads=[1, 2, 1, 2], count_include_pad=0)),
    ("AveragePool", (1, 2, 8, 8), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                       ceil_mode=1, count_include_pad=1)),
    ("MaxPool", (1, 2, 11), dict(kernel_shape=[3], dilations=[3], strides=[2])),
    ("AveragePool", (1, 2, 11), dict(kernel_shape=[4], strides=[2], auto_pad="SAME_LOWER")),
]


def _ids(case):
    op, shape, attrs = case
    return f"{op}-{len(shape) - 2}d-" + "-".join(f"{k}{v}" for k, v in attrs.items())


@pytest.mark.parametrize("op,shape,attrs", CASES, ids=[_ids(c) for c in CASES])
def test_pool_matches_onnxruntime(op, shape, attrs, tmp_path):
    opset = 22 if "ceil_mode" in attrs else 19 if "dilations" in attrs else 13
    path = make_model(tmp_path / "pool.onnx", [helper.make_node(op, ["x"], ["y"], **attrs)],
                      {"x": shape}, ["y"], opset=opset)
    rng = np.random.default_rng(len(shape) * 100 + sum(shape))
    xs = [rng.standard_normal((2, *shape)).astype(np.float32)]
    want = ort_run(path, xs)[0]
    graph = load_model(path)
    pools = [n for n in graph.nodes if n.op.endswith("Pool2D")]
    assert len(pools) == (2 if len(shape) == 5 else 1)
    compiled = compile_model(path, target="host")
    write_library(compiled.code, tmp_path / "lib")
    got = run_host(tmp_path / "lib", xs, sanitize=True)[0].reshape(want.shape)
    if op == "MaxPool":
        np.testing.assert_array_equal(got, want)
    else:   # a 3-D mean as a mean of means: float32 sums in another order
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def _dilated_pool(op: str, dtype: str, shape, kernel, strides, dilations, pads) -> Graph:
    quant = Quant.of(0.05, -3) if dtype == "int8" else None
    oh, ow = conv_output_hw(shape[1:3], kernel, strides, dilations, pads)
    attrs = Pool2DAttrs(kernel, strides, pads, (0.0, 6.0) if op == "MaxPool2D" else
                        (-np.inf, np.inf), dilations)
    x = Tensor("x", shape, dtype, quant)
    y = Tensor("y", (shape[0], oh, ow, shape[3]), dtype, quant)
    return Graph.build("pool", [Node("n", op, ("x",), ("y",), attrs)], [x, y], ["x"], ["y"])


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("op", ["MaxPool2D", "AveragePool2D"])
@pytest.mark.parametrize("shape,kernel,strides,dilations,pads", [
    ((1, 9, 10, 3), (3, 2), (1, 2), (2, 3), (2, 1, 2, 1)),
    ((2, 7, 7, 4), (2, 3), (3, 1), (3, 2), (1, 0, 1, 2)),
])
def test_dilated_pool_c_matches_reference(op, dtype, shape, kernel, strides, dilations, pads,
                                          tmp_path):
    g = _dilated_pool(op, dtype, shape, kernel, strides, dilations, pads)
    rng = np.random.default_rng(5)
    assert_c_matches_ref(g, random_inputs(g, 4, rng), tmp_path,
                         atol=1e-6 if dtype == "float32" else 0.0, sanitize=True)


def test_dilated_window_without_an_image_cell_is_refused():
    """Height 3, kernel 2 at dilation 4, pads 1 and 1: the one window's taps are rows -1 and
    3, both outside; the average would divide by 0."""
    g = _dilated_pool("AveragePool2D", "float32", (1, 3, 3, 1), (2, 1), (1, 1), (4, 1),
                      (1, 0, 1, 0))
    with pytest.raises(ModelError) as info:
        validate_graph(g)
    assert "holds no cell" in str(info.value) and "node 'n'" in str(info.value), info.value


@pytest.mark.parametrize("shape,attrs,fragment", [
    ((1, 1, 2, 2, 2, 2), dict(kernel_shape=[1, 1, 1, 1]), "rank 6"),
    # width 11, pads 1 and 1, kernel 3, stride 3: onnx's shape inference before opset 22 gives
    # 5 windows, the last starting in the end padding; onnxruntime computes 4
    ((1, 1, 9, 11), dict(kernel_shape=[3, 3], strides=[3, 3], pads=[1, 1, 1, 1], ceil_mode=1),
     "would start in the end padding"),
])
def test_pool_refused_by_name(shape, attrs, fragment, tmp_path):
    path = make_model(tmp_path / "pool.onnx",
                      [helper.make_node("MaxPool", ["x"], ["y"], **attrs)], {"x": shape}, ["y"])
    with pytest.raises(UnsupportedError) as info:
        load_model(path)
    message = str(info.value)
    assert "MaxPool (node" in message and fragment in message and "\n" not in message, message
