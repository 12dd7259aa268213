"""ONNX importer: mnist-8 end to end, one small model per op against onnxruntime, QDQ and
QLinear models, and the error messages."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from helpers import random_inputs, run_c, run_ref
from onnx_models import make_model, ort_run, ort_session
from tinyml.compiler import compile_model
from tinyml.errors import ModelError, ShapeError, UnsupportedError
from tinyml.frontends import load_model
from tinyml.ops import get_op
from tinyml.passes import run_pipeline

RNG = np.random.default_rng(7)


def w(*shape, scale=0.5):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def node(op, inputs, outputs=("y",), **attrs):
    return helper.make_node(op, list(inputs), list(outputs), **attrs)


# -- mnist-8 ----------------------------------------------------------------------------------

def _mnist_sets(models):
    root = models / "onnx" / "mnist-8"
    sets = []
    for d in sorted(root.glob("test_data_set_*")):
        x, y = (numpy_helper.to_array(onnx.load_tensor(str(d / f))) for f in
                ("input_0.pb", "output_0.pb"))
        sets.append((x, y))
    return root / "model.onnx", sets


def test_mnist8_c_matches_test_data_and_onnxruntime(shared_models, tmp_path):
    path, sets = _mnist_sets(shared_models)
    compiled = compile_model(path)
    assert compiled.dtype == "float32"
    assert not [n for n in compiled.graph.nodes if n.op == "Transpose"]
    x = np.stack([s[0] for s in sets])
    want = np.stack([s[1] for s in sets])
    got = run_c(compiled.graph, [x], tmp_path, sanitize=True)[0]
    span = float(want.max() - want.min())
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=0, atol=1e-4 * span)
    more = np.concatenate([x, RNG.uniform(0, 255, (5, *x.shape[1:])).astype(np.float32)])
    ort = ort_run(path, [more])[0]
    ours = run_ref(compiled.graph, [more])[0]
    np.testing.assert_allclose(ours.reshape(ort.shape), ort, rtol=0,
                               atol=1e-4 * float(ort.max() - ort.min()))


# -- one model per op, float, reference executor vs onnxruntime --------------------------------

X4 = {"x": (1, 6, 9, 8)}
CASES = {
    "conv_same_upper_stride2": ([node("Conv", "xwb", auto_pad="SAME_UPPER", strides=[2, 2])],
                                X4, {"w": w(5, 6, 3, 3), "b": w(5)}),
    "conv_same_lower": ([node("Conv", "xw", auto_pad="SAME_LOWER", strides=[2, 2],
                              kernel_shape=[4, 2])], X4, {"w": w(4, 6, 4, 2)}),
    "conv_dilated": ([node("Conv", "xw", dilations=[2, 2], pads=[2, 1, 2, 1])], X4,
                     {"w": w(4, 6, 3, 2)}),
    "conv_explicit_pads": ([node("Conv", "xwb", pads=[1, 0, 2, 1], strides=[1, 2])], X4,
                           {"w": w(7, 6, 3, 3), "b": w(7)}),
    "conv_valid_1x1": ([node("Conv", "xw", auto_pad="VALID")], X4, {"w": w(3, 6, 1, 1)}),
    "conv_groups": ([node("Conv", "xwb", group=2, pads=[1, 1, 1, 1])], X4,
                    {"w": w(4, 3, 3, 3), "b": w(4)}),
    "conv_depthwise_multiplier": ([node("Conv", "xwb", group=6, pads=[1, 1, 1, 1],
                                        strides=[2, 2])], X4, {"w": w(12, 1, 3, 3), "b": w(12)}),
    "gemm_trans": ([node("Gemm", "xwb", transB=1, alpha=0.5, beta=2.0)], {"x": (3, 10)},
                   {"w": w(4, 10), "b": w(4)}),
    "gemm_transA_matrix_bias": ([node("Gemm", "xwb", transA=1)], {"x": (10, 3)},
                                {"w": w(10, 4), "b": w(3, 4)}),
    "matmul_3d": ([node("MatMul", "xw")], {"x": (2, 3, 10)}, {"w": w(10, 5)}),
    "add_broadcast": ([node("Add", "xc")], X4, {"c": w(6, 1, 1)}),
    "sub_two_inputs": ([node("Sub", "xz")], {"x": (2, 3, 4), "z": (3, 1)}, {}),
    "mul_scalar": ([node("Mul", "xc")], X4, {"c": np.float32(1.5)}),
    "div_constant": ([node("Div", "xc")], X4, {"c": w(8)}),
    "maxpool_pads": ([node("MaxPool", "x", kernel_shape=[3, 3], strides=[2, 2],
                           pads=[1, 1, 1, 1])], X4, {}),
    "maxpool_ceil": ([node("MaxPool", "x", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)],
                     X4, {}),
    "avgpool_same": ([node("AveragePool", "x", kernel_shape=[3, 3], auto_pad="SAME_UPPER")],
                     X4, {}),
    "global_average_pool": ([node("GlobalAveragePool", "x")], X4, {}),
    "reduce_mean_hw": ([node("ReduceMean", "x", axes=[2, 3], keepdims=0)], X4, {}),
    "reshape_flatten": ([node("Reshape", "xs", ["r"]), node("Flatten", "r", axis=1)], X4,
                        {"s": np.array([1, 6, -1, 2], np.int64)}),
    "squeeze_unsqueeze": ([node("Unsqueeze", "xa", ["u"]), node("Squeeze", "ua")],
                          {"x": (2, 5)}, {"a": np.array([1], np.int64)}),
    "softmax_last": ([node("Softmax", "x")], {"x": (3, 7)}, {}),
    "softmax_axis1": ([node("Softmax", "x", axis=1)], X4, {}),
    "sigmoid_tanh": ([node("Sigmoid", "x", ["s"]), node("Tanh", "s")], X4, {}),
    "relu_clip": ([node("Relu", "x", ["r"]), node("Clip", "rlh")], X4,
                  {"l": np.float32(0.2), "h": np.float32(1.0)}),
    "clip_relu6": ([node("Clip", "xlh")], X4, {"l": np.float32(0), "h": np.float32(6)}),
    "leaky_relu_hard_swish": ([node("LeakyRelu", "x", ["r"], alpha=0.2),
                               node("HardSwish", "r")], X4, {}),
    "concat_channels": ([node("Relu", "x", ["r"]), node("Concat", "rxc", axis=1)], X4,
                        {"c": w(1, 2, 9, 8)}),
    "pad_constant": ([node("Pad", "xp", mode="constant")], X4,
                     {"p": np.array([0, 0, 1, 2, 0, 1, 0, 3], np.int64)}),
    "transpose": ([node("Transpose", "x", perm=[0, 2, 3, 1])], X4, {}),
    "batchnorm": ([node("BatchNormalization", "xgbmv", epsilon=1e-3)], X4,
                  {"g": w(6), "b": w(6), "m": w(6), "v": np.abs(w(6)) + 0.1}),
    "identity_dropout": ([node("Identity", "x", ["i"]), node("Dropout", "i")], X4, {}),
    "shape_arithmetic": ([node("Shape", "x", ["s"]), node("Gather", "si", ["d"], axis=0),
                          node("Concat", ["d", "m"], ["t"], axis=0), node("Reshape", "xt")],
                         X4, {"i": np.array([0], np.int64), "m": np.array([-1], np.int64)}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_op_matches_onnxruntime(case, tmp_path):
    nodes, inputs, inits = CASES[case]
    nodes[-1].output[0] = "y"
    path = make_model(tmp_path / f"{case}.onnx", nodes, inputs, ["y"], inits, opset=14)
    graph = run_pipeline(load_model(path), check=True)
    x = random_inputs(graph, 3, RNG)
    want = ort_run(path, x)[0]
    got = run_ref(graph, x)[0]
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-5, atol=1e-5)


def test_opset_7_to_21_attribute_forms(tmp_path):
    """Clip/Pad/Softmax changed from attributes to inputs over the opsets."""
    nodes = [node("Clip", "x", ["c"], min=-0.5, max=0.5), node("Pad", "c", ["p"],
             pads=[0, 0, 1, 0, 0, 1], value=0.0), node("Softmax", "p", axis=1)]
    path = make_model(tmp_path / "old.onnx", nodes, {"x": (2, 3, 4)}, ["y"], opset=10)
    graph = run_pipeline(load_model(path), check=True)
    x = random_inputs(graph, 2, RNG)
    np.testing.assert_allclose(run_ref(graph, x)[0], ort_run(path, x)[0], rtol=1e-5, atol=1e-6)


def test_composite_float_cnn_in_c(tmp_path):
    """Conv + BN + Relu6, depthwise, residual Add, pooling, Gemm: C vs onnxruntime."""
    nodes = [node("Conv", "xw", ["c"], pads=[1, 1, 1, 1]),
             node("BatchNormalization", ["c", "g", "b", "m", "v"], ["n"]),
             node("Clip", ["n", "lo", "hi"], ["r"]),
             node("Conv", ["r", "dw"], ["d"], group=4, pads=[1, 1, 1, 1]),
             node("Add", "dr", ["a"]), node("Relu", "a", ["ar"]),
             node("MaxPool", ["ar"], ["mp"], kernel_shape=[2, 2], strides=[2, 2]),
             node("GlobalAveragePool", ["mp"], ["gp"]), node("Flatten", ["gp"], ["f"]),
             node("Gemm", ["f", "fw", "fb"], ["y"], transB=1)]
    inits = {"w": w(4, 3, 3, 3), "g": w(4), "b": w(4), "m": w(4), "v": np.abs(w(4)) + 0.5,
             "lo": np.float32(0), "hi": np.float32(6), "dw": w(4, 1, 3, 3), "fw": w(5, 4),
             "fb": w(5)}
    path = make_model(tmp_path / "cnn.onnx", nodes, {"x": (1, 3, 8, 8)}, ["y"], inits)
    graph = compile_model(path).graph
    ops = [n.op for n in graph.nodes]
    assert "Mul" not in ops and "Relu6" not in ops and ops.count("Transpose") == 1  # the input's
    x = random_inputs(graph, 4, RNG)
    got = run_c(graph, x, tmp_path / "c", sanitize=False)[0]
    np.testing.assert_allclose(got, ort_run(path, x)[0], rtol=1e-4, atol=1e-4)


# -- quantized models ---------------------------------------------------------------------------

def _float_cnn(path):
    nodes = [node("Conv", "xwb", ["c1"], pads=[1, 1, 1, 1]), node("Relu", ["c1"], ["r1"]),
             node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
             node("Conv", ["p1", "dw", "db"], ["c2"], group=6, pads=[1, 1, 1, 1]),
             node("Relu", ["c2"], ["r2"]),
             node("Conv", ["r2", "w3", "b3"], ["c3"], strides=[2, 2], auto_pad="SAME_UPPER"),
             node("Add", ["c3", "c3"], ["s"]),
             node("GlobalAveragePool", ["s"], ["g"]), node("Flatten", ["g"], ["f"]),
             node("Gemm", ["f", "fw", "fb"], ["y"], transB=1)]
    inits = {"w": w(6, 3, 3, 3, scale=0.3), "b": w(6, scale=0.1), "dw": w(6, 1, 3, 3),
             "db": w(6, scale=0.1), "w3": w(10, 6, 3, 3, scale=0.3), "b3": w(10, scale=0.1),
             "fw": w(5, 10), "fb": w(5, scale=0.1)}
    return make_model(path, nodes, {"x": (1, 3, 12, 12)}, ["y"], inits)


def _quantize_static(float_path, path, per_channel, activation_type):
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)

    class RandomData(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(3)
            self.batches = iter([{"x": rng.standard_normal((1, 3, 12, 12)).astype(np.float32)}
                                 for _ in range(16)])

        def get_next(self):
            return next(self.batches, None)

    quantize_static(str(float_path), str(path), RandomData(), quant_format=QuantFormat.QDQ,
                    per_channel=per_channel, activation_type=getattr(QuantType, activation_type),
                    weight_type=QuantType.QInt8)
    return path


def _ort_int8(values: dict, name: str) -> np.ndarray | None:
    """onnxruntime's value of our int8 tensor `name` (NHWC copies are named `<onnx>_nhwc`)."""
    base = name[:-5] if name.endswith("_nhwc") else name[:-2] if name.endswith("_t") else name
    if base not in values:
        return None
    v = values[base]
    v = v.astype(np.int16) - 128 if v.dtype == np.uint8 else v.astype(np.int16)
    return v.transpose(0, 2, 3, 1) if base != name and v.ndim == 4 else v


INT8_OPS = {"Conv2D", "DepthwiseConv2D", "MaxPool2D", "Add", "Mean", "FullyConnected"}


@pytest.mark.parametrize("per_channel,activations", [(True, "QUInt8"), (False, "QInt8")])
def test_qdq_model(per_channel, activations, tmp_path):
    """quantize_static's QDQ model: C bit-exact with our reference; every int8 op, given
    onnxruntime's int8 inputs, within 1 LSB of onnxruntime's int8 output."""
    path = _quantize_static(_float_cnn(tmp_path / "f.onnx"), tmp_path / "q.onnx", per_channel,
                            activations)
    compiled = compile_model(path)
    graph = compiled.graph
    int8_ops = {n.op for n in graph.nodes if graph.tensor(n.outputs[0]).dtype == "int8"}
    assert INT8_OPS <= int8_ops
    assert [n.op for n in graph.nodes if n.op in ("Quantize", "Dequantize")] == \
        ["Quantize", "Dequantize"]
    x = random_inputs(graph, 20, RNG)
    np.testing.assert_array_equal(run_c(graph, x, tmp_path / "c", sanitize=False)[0],
                                  run_ref(graph, x)[0])
    quantized = [n.output[0] for n in onnx.load(str(path)).graph.node
                 if n.op_type == "QuantizeLinear"]
    session = ort_session(path, quantized)
    names = [o.name for o in session.get_outputs()]
    checked = set()
    for k in range(x[0].shape[0]):
        values = dict(zip(names, session.run(None, {"x": x[0][k]})))
        for n in graph.nodes:
            if n.op in ("Quantize", "Dequantize", "Reshape"):
                continue
            ins = [_ort_int8(values, i) if i and not graph.tensor(i).is_const else
                   (graph.tensor(i).data if i else None) for i in n.inputs]
            want = _ort_int8(values, n.outputs[0])
            if want is None or any(v is None for v, i in zip(ins, n.inputs) if i):
                continue
            got = get_op(n, graph).evaluate(n, graph, [v if v is None else
                                                       v.astype(np.int8) for v in ins])[0]
            assert np.abs(got.astype(np.int16).reshape(want.shape) - want).max() <= 1, n.name
            checked.add(n.op)
    assert INT8_OPS <= checked


def test_qdq_single_layer_end_to_end_within_1_lsb(tmp_path):
    nodes = [node("Conv", "xwb", ["c"], pads=[1, 1, 1, 1]), node("Relu", ["c"], ["y"])]
    f = make_model(tmp_path / "f.onnx", nodes, {"x": (1, 3, 12, 12)}, ["y"],
                   {"w": w(6, 3, 3, 3, scale=0.3), "b": w(6, scale=0.1)})
    path = _quantize_static(f, tmp_path / "q.onnx", True, "QUInt8")
    graph = compile_model(path).graph
    out = graph.tensor(graph.producers()[graph.outputs[0]].inputs[0])
    x = random_inputs(graph, 30, RNG)
    diff = np.abs(run_ref(graph, x)[0] - ort_run(path, x)[0]).max()
    assert diff <= out.quant.scale[0] * 1.001


def _qlinear_model(path):
    x_scale, w_scale, y_scale = 0.05, RNG.uniform(0.005, 0.02, 4).astype(np.float32), 0.1
    # 7-bit weights: onnxruntime's x86 u8*s8 kernels saturate int16 pair sums otherwise
    wq = RNG.integers(-60, 61, (4, 3, 3, 3)).astype(np.int8)
    bias = RNG.integers(-500, 500, 4).astype(np.int32)
    fw = RNG.integers(-60, 61, (36, 5)).astype(np.int8)
    inits = {"xs": np.float32(x_scale), "xz": np.uint8(120), "ws": w_scale,
             "wz": np.zeros(4, np.int8), "ys": np.float32(y_scale), "yz": np.uint8(100),
             "w": wq, "b": bias, "fw": fw, "fs": np.float32(0.01), "fz": np.int8(0),
             "shape": np.array([1, 36], np.int64), "os": np.float32(0.2),
             "oz": np.uint8(128)}
    nodes = [node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             node("QLinearConv", ["xq", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["cq"],
                  strides=[2, 2]),
             node("Reshape", ["cq", "shape"], ["rq"]),
             node("QLinearMatMul", ["rq", "ys", "yz", "fw", "fs", "fz", "os", "oz"], ["mq"]),
             node("DequantizeLinear", ["mq", "os", "oz"], ["y"])]
    return make_model(path, nodes, {"x": (1, 3, 7, 7)}, ["y"], inits)


def test_qlinear_ops(tmp_path):
    path = _qlinear_model(tmp_path / "ql.onnx")
    graph = compile_model(path).graph
    assert [n.op for n in graph.nodes if n.op != "Reshape"] == \
        ["Quantize", "Transpose", "Conv2D", "FullyConnected", "Dequantize"]
    x = random_inputs(graph, 20, RNG)
    ours, theirs = run_ref(graph, x)[0], ort_run(path, x)[0]
    # 1 LSB of the output, plus what 1 LSB of the conv's output can move it
    assert np.abs(ours - theirs).max() <= 0.2 * 1.001 * 2
    np.testing.assert_array_equal(run_c(graph, x, tmp_path / "c", sanitize=True)[0], ours)


# -- errors ---------------------------------------------------------------------------------------

def test_unsupported_ops_listed_at_once(tmp_path):
    nodes = [node("Erf", "x", ["e"], name="erf1"), node("Relu", "e", ["r"]),
             node("TopK", ["r", "k"], ["y", "i"], name="top")]
    path = make_model(tmp_path / "u.onnx", nodes, {"x": (1, 8)}, ["y"],
                      {"k": np.array([2], np.int64)})
    with pytest.raises(UnsupportedError, match=r"Erf \(node 'erf1'\), TopK \(node 'top'\)"):
        load_model(path)


def test_unsupported_attribute_names_node(tmp_path):
    nodes = [node("Pad", "xp", mode="reflect", name="refl")]
    path = make_model(tmp_path / "p.onnx", nodes, {"x": (1, 2, 4, 4)}, ["y"],
                      {"p": np.zeros(8, np.int64)})
    with pytest.raises(UnsupportedError, match="Pad \\(node 'refl': mode reflect"):
        load_model(path)


def test_dynamic_input_needs_input_shape(tmp_path):
    path = make_model(tmp_path / "d.onnx", [node("Relu", "x")], {"x": ("N", 3, 4, 4)}, ["y"])
    with pytest.raises(ShapeError, match="input 'x' has a dynamic shape.*--input-shape"):
        load_model(path)
    graph = load_model(path, {"x": (2, 3, 4, 4)})
    assert graph.tensor("y").shape == (2, 3, 4, 4)
    assert load_model(path, {"": (1, 3, 4, 4)}).tensor("x").shape == (1, 3, 4, 4)
    with pytest.raises(ShapeError, match="does not fit"):
        load_model(path, {"x": (1, 3, 4)})


@pytest.mark.parametrize("content", [b"hello, this is not a model\n" * 3, b"\x08\x07\x12",
                                     "truncated"])
def test_bad_files_are_model_errors(content, tmp_path):
    path = tmp_path / "bad.onnx"
    if content == "truncated":
        good = make_model(tmp_path / "g.onnx", [node("Conv", "xw")], {"x": (1, 3, 8, 8)}, ["y"],
                          {"w": w(16, 3, 3, 3)})
        content = good.read_bytes()[:-40]
    path.write_bytes(content)
    with pytest.raises(ModelError) as info:
        load_model(path)
    assert "\n" not in str(info.value)
