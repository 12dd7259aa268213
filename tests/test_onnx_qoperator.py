"""Quantized ONNX models as onnxruntime writes them: QOperator ops (quantize_static with
QuantFormat.QOperator, the com.microsoft ones included) and QDQ groups with an activation
or a float bias between DequantizeLinear and QuantizeLinear. Each compiles to int8 ops and
its C output is within 1 LSB of onnxruntime's (graph optimizations off)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

from helpers import random_inputs, run_c
from onnx_models import make_model, ort_run
from tinyml.compiler import compile_model
from tinyml.errors import UnsupportedError
from tinyml.frontends import load_model

RNG = np.random.default_rng(11)
X = (1, 3, 8, 8)


def node(op, inputs, outputs=("y",), **attrs):
    return helper.make_node(op, list(inputs), list(outputs), **attrs)


def w(*shape, scale=0.3):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def _quantize_qoperator(float_path, path, inputs: dict):
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)

    class Samples(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(5)
            self.batches = iter([{k: rng.standard_normal(s).astype(np.float32)
                                  for k, s in inputs.items()} for _ in range(16)])

        def get_next(self):
            return next(self.batches, None)

    quantize_static(str(float_path), str(path), Samples(), quant_format=QuantFormat.QOperator,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return path


#: case -> (float nodes, inputs, initializers, the QOperator op onnxruntime writes, the ops
#: tinyml computes in int8). AveragePool's int8 keeps its input's quantization (TFLite) where
#: onnxruntime's rescales, and Sigmoid's int8 output scale is fixed: both run in float
#: between the int8 tensors.
QOPERATOR_CASES = {
    "conv": ([node("Conv", "xwb", pads=[1, 1, 1, 1])], {"x": X},
             {"w": w(4, 3, 3, 3), "b": w(4, scale=0.1)}, "QLinearConv", {"Conv2D"}),
    "matmul": ([node("MatMul", "xm")], {"x": X}, {"m": w(8, 5)}, "QLinearMatMul",
               {"FullyConnected"}),
    "add": ([node("Add", "xz")], {"x": X, "z": X}, {}, "QLinearAdd", {"Add"}),
    "mul": ([node("Mul", "xz")], {"x": X, "z": X}, {}, "QLinearMul", {"Mul"}),
    "average_pool": ([node("AveragePool", "x", kernel_shape=[2, 2], strides=[2, 2])], {"x": X},
                     {}, "QLinearAveragePool", set()),
    "global_average_pool": ([node("Conv", "xw", ["c"]), node("GlobalAveragePool", ["c"])],
                            {"x": X}, {"w": w(4, 3, 1, 1)}, "QLinearGlobalAveragePool",
                            {"Conv2D", "Mean"}),
    "concat": ([node("Concat", "xz", axis=1)], {"x": X, "z": X}, {}, "QLinearConcat",
               {"Concatenation"}),
    "sigmoid": ([node("Sigmoid", "x")], {"x": X}, {}, "QLinearSigmoid", set()),
    "leaky_relu": ([node("LeakyRelu", "x", alpha=0.1)], {"x": X}, {}, "QLinearLeakyRelu",
                   {"LeakyRelu"}),
}


def _output_scale(path) -> float:
    model = onnx.load(str(path))
    dq = next(n for n in model.graph.node if n.op_type == "DequantizeLinear")
    scale = next(t for t in model.graph.initializer if t.name == dq.input[1])
    return float(onnx.numpy_helper.to_array(scale))


@pytest.mark.parametrize("case", sorted(QOPERATOR_CASES))
def test_qoperator_model_within_1_lsb_of_onnxruntime(case, tmp_path):
    nodes, inputs, inits, qop, int8_ops = QOPERATOR_CASES[case]
    f = make_model(tmp_path / "f.onnx", nodes, inputs, ["y"], inits)
    path = _quantize_qoperator(f, tmp_path / "q.onnx", inputs)
    assert qop in [n.op_type for n in onnx.load(str(path)).graph.node]
    graph = compile_model(path).graph
    computed = {n.op for n in graph.nodes if graph.tensor(n.outputs[0]).dtype == "int8"}
    assert int8_ops <= computed, computed
    x = random_inputs(graph, 10, RNG)
    ours = run_c(graph, x, tmp_path / "c", sanitize=False)[0]
    theirs = ort_run(path, x)[0]
    lsb = _output_scale(path)
    layers = 2 if case == "global_average_pool" else 1
    assert np.abs(ours.reshape(theirs.shape) - theirs).max() <= lsb * layers * 1.001


def _qdq_conv(path, bias: str, activation: str):
    """Q -> DQ -> Conv (per-channel int8 weight, int32 or float bias) -> activation -> Q -> DQ."""
    ws = RNG.uniform(0.01, 0.02, 4).astype(np.float32)
    inits = {"xs": np.float32(0.05), "xz": np.uint8(128),
             "wq": RNG.integers(-60, 61, (4, 3, 3, 3)).astype(np.int8), "ws": ws,
             "wz": np.zeros(4, np.int8),
             "bq": RNG.integers(-300, 300, 4).astype(np.int32), "bs": ws * np.float32(0.05),
             "bz": np.zeros(4, np.int32), "bf": w(4, scale=0.2),
             "ys": np.float32(0.04), "yz": np.uint8(0), "lo": np.float32(0), "hi": np.float32(3)}
    act = {"Relu": node("Relu", ["c"], ["r"]),
           "Clip": node("Clip", ["c", "lo", "hi"], ["r"])}[activation]
    nodes = [node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
             node("DequantizeLinear", ["wq", "ws", "wz"], ["wd"], axis=0),
             node("DequantizeLinear", ["bq", "bs", "bz"], ["bd"], axis=0),
             node("Conv", ["xd", "wd", bias], ["c"], pads=[1, 1, 1, 1]), act,
             node("QuantizeLinear", ["r", "ys", "yz"], ["rq"]),
             node("DequantizeLinear", ["rq", "ys", "yz"], ["y"])]
    return make_model(path, nodes, {"x": X}, ["y"], inits)


@pytest.mark.parametrize("bias,activation", [("bd", "Relu"), ("bf", "Relu"), ("bd", "Clip")])
def test_qdq_conv_activation_and_float_bias(bias, activation, tmp_path):
    """DequantizeLinear -> Conv -> Relu -> QuantizeLinear, per-channel weights, an int32 or a
    float bias: one int8 Conv2D with the clamp fused, within 1 LSB of onnxruntime."""
    path = _qdq_conv(tmp_path / "qdq.onnx", bias, activation)
    graph = compile_model(path).graph
    assert [n.op for n in graph.nodes if n.op != "Transpose"] == \
        ["Quantize", "Conv2D", "Dequantize"]
    conv = next(n for n in graph.nodes if n.op == "Conv2D")
    assert graph.tensor(conv.outputs[0]).dtype == "int8"
    assert graph.tensor(conv.inputs[2]).dtype == "int32"
    x = random_inputs(graph, 20, RNG)
    ours = run_c(graph, x, tmp_path / "c", sanitize=True)[0]
    theirs = ort_run(path, x)[0]
    assert np.abs(ours - theirs).max() <= 0.04 * 1.001


def test_unknown_microsoft_op_refused_by_name(tmp_path):
    nodes = [node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
             helper.make_node("QGemm", ["xq", "s", "z"], ["g"], domain="com.microsoft",
                              name="qgemm"),
             node("DequantizeLinear", ["g", "s", "z"])]
    path = make_model(tmp_path / "m.onnx", nodes, {"x": (1, 4)}, ["y"],
                      {"s": np.float32(0.1), "z": np.uint8(128)})
    model = onnx.load(str(path))
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, str(path))
    with pytest.raises(UnsupportedError, match=r"com\.microsoft\.QGemm \(node 'qgemm'\)"):
        load_model(path)
