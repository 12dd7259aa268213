"""Hostile models that each break one rule of validation: one clean line naming file, node and
op, exit code 1, no internal error, nothing written. Each model is built here, so each test
fails if its rule is not checked (the C would then read out of bounds, divide by zero or
shift by more than its width)."""

import re

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from tflite_builder import TFLiteBuilder
from tinyml.cli import main
from tinyml.errors import ModelError, UnsupportedError
from tinyml.ir import Graph, Node, Quant, Tensor
from tinyml.numerics import quantize_multiplier
from tinyml.ops.clamp import ClipAttrs
from tinyml.ops.concatenation import ConcatAttrs
from tinyml.ops.conv2d import Conv2DAttrs
from tinyml.ops.depthwise_conv2d import DepthwiseConv2DAttrs
from tinyml.ops.fully_connected import FullyConnectedAttrs
from tinyml.ops.leaky_relu import LeakyReluAttrs
from tinyml.ops.mean import MeanAttrs
from tinyml.ops.pad import PadAttrs
from tinyml.ops.pool2d import Pool2DAttrs
from tinyml.ops.softmax import SoftmaxAttrs
from tinyml.ops.transpose import TransposeAttrs
from tinyml.validate import MAX_TENSOR_BYTES, validate_graph


def compile_error(model, tmp_path, capsys, *extra) -> str:
    rc = main(["compile", str(model), "-o", str(tmp_path / "out"), *extra])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert rc == 1, err
    assert len(lines) == 1 and lines[0].startswith("tinyml: error: "), err
    assert "internal error" not in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [model.name], "something was written"
    return lines[0]


Q = dict(scale=0.05, zero_point=0)


def conv_model(path, *, x_shape=(1, 8, 8, 4), w_shape=(6, 3, 3, 4), y_shape=(1, 6, 6, 6),
               bias_len=6, strides=(1, 1), dilations=(1, 1), opname="CONV_2D",
               options="Conv2DOptions", dtype="int8", x_q=Q, y_q=Q, **fields):
    b = TFLiteBuilder()
    wq = dict(scale=0.02, zero_point=0) if dtype == "int8" else {}
    x = b.tensor("x", x_shape, dtype, **(x_q if dtype == "int8" else {}))
    w = b.tensor("w", w_shape, dtype, data=np.ones(w_shape), **wq)
    bias_dtype = "int32" if dtype == "int8" else dtype
    bias = b.tensor("b", (bias_len,), bias_dtype, data=np.zeros(bias_len)) if bias_len else -1
    y = b.tensor("y", y_shape, dtype, **(y_q if dtype == "int8" else {}))
    b.op(opname, [x, w, bias], [y], options, Padding=1, StrideH=strides[0],
         StrideW=strides[1], DilationHFactor=dilations[0], DilationWFactor=dilations[1],
         **fields)
    path.write_bytes(b.build([x], [y]))
    return path


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(dilations=(0, 1)), r"dilations (\(0, 1\) )?must be at least 1"),
    (dict(strides=(1, 0)), r"strides (\(1, 0\) )?must be at least 1"),
    (dict(w_shape=(6, 3, 3, 3)), "input channels"),
    (dict(bias_len=5), r"the bias has shape \(5,\)"),
    (dict(w_shape=(6, 9, 3, 4), y_shape=(1, 1, 6, 6)), "does not fit the padded input height"),
    (dict(y_shape=(1, 6, 6, 7)), r"the op computes shape \(1, 6, 6, 6\)"),
    (dict(x_q=dict(scale=1e38, zero_point=0)), "requantization factor"),
    (dict(x_q=dict(scale=0.0, zero_point=0)), "quantization scale 0.0"),
    (dict(x_q=dict(scale=float("nan"), zero_point=0)), "quantization scale nan"),
    (dict(y_q=dict(scale=float("inf"), zero_point=0)), "quantization scale inf"),
    (dict(y_q=dict(scale=0.1, zero_point=300)), r"zero point outside \[-128, 127\]"),
    (dict(y_shape=(1, -45, -45, 6)), "every dimension must be at least 1|negative dimension"),
])
def test_conv2d_rules(kwargs, fragment, tmp_path, capsys):
    line = compile_error(conv_model(tmp_path / "conv.tflite", **kwargs), tmp_path, capsys)
    assert re.search(fragment, line) and "conv.tflite" in line, line
    if "dimension" not in fragment and "scale" not in fragment and "zero point" not in fragment:
        assert "node 'y'" in line and re.search("op '(Conv2D|CONV_2D)'", line), line


def test_depthwise_channels_against_weights(tmp_path, capsys):
    model = conv_model(tmp_path / "dw.tflite", w_shape=(1, 3, 3, 6), y_shape=(1, 6, 6, 6),
                       opname="DEPTHWISE_CONV_2D", options="DepthwiseConv2DOptions",
                       DepthMultiplier=1)
    line = compile_error(model, tmp_path, capsys)
    assert "4 input channels" in line or "input's 4 channels" in line, line


def test_huge_tensor_is_refused_before_anything_is_computed(tmp_path, capsys):
    side = 1 << 15      # 1 x 32768 x 32768 x 4 int8: 4 GiB, as an arena of terabytes begins
    model = conv_model(tmp_path / "big.tflite", x_shape=(1, side, side, 4),
                       y_shape=(1, side - 2, side - 2, 6))
    line = compile_error(model, tmp_path, capsys)
    assert f"exceeds the limit of {MAX_TENSOR_BYTES:,} bytes" in line, line


def fc_model(path, *, x_shape=(1, 4), w_shape=(2, 4), y_shape=(1, 2), bias_len=2,
             x_dtype="int8", w_data=None):
    b = TFLiteBuilder()
    xq = Q if x_dtype == "int8" else {}
    x = b.tensor("x", x_shape, x_dtype, **xq)
    w = b.tensor("w", w_shape, "int8", data=np.ones(w_shape) if w_data is None else w_data,
                 scale=0.02, zero_point=0)
    bias = b.tensor("b", (bias_len,), "int32", data=np.zeros(bias_len)) if bias_len else -1
    y = b.tensor("y", y_shape, "int8", **Q)
    b.op("FULLY_CONNECTED", [x, w, bias], [y])
    path.write_bytes(b.build([x], [y]))
    return path


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(x_shape=(1, 5)), "is not rows of the weights' 4 features"),
    (dict(y_shape=(1, 3)), "is not 1 rows of 2 features"),
    (dict(bias_len=3), "expected 2 values"),
    (dict(x_dtype="float32"), "operands of different dtypes"),
    (dict(w_shape=(0, 4), y_shape=(1, 1), bias_len=0, w_data=np.ones((0, 4))),
     "'w' has shape (0, 4): every dimension must be at least 1"),
])
def test_fully_connected_rules(kwargs, fragment, tmp_path, capsys):
    line = compile_error(fc_model(tmp_path / "fc.tflite", **kwargs), tmp_path, capsys)
    assert fragment in line, line


def unary_model(path, opname, *, x_shape=(1, 4, 4, 2), y_shape=None, dtype="float32",
                inputs_extra=(), options=None, **fields):
    b = TFLiteBuilder()
    x = b.tensor("x", x_shape, dtype)
    extra = [b.tensor(f"c{i}", np.shape(v), "int32", data=v) for i, v in enumerate(inputs_extra)]
    y = b.tensor("y", y_shape or x_shape, dtype)
    b.op(opname, [x, *extra], [y], options, **fields)
    path.write_bytes(b.build([x], [y]))
    return path


@pytest.mark.parametrize("opname, kwargs, fragment", [
    ("RESHAPE", dict(y_shape=(1, 33)), "has 32 elements but 'y' has 33"),
    ("TRANSPOSE", dict(inputs_extra=(np.array([0, 1, 1, 3]),), y_shape=(1, 4, 4, 2)),
     "is not a permutation"),
    ("PAD", dict(inputs_extra=(np.array([[0, 0], [1, 1]]),), y_shape=(1, 6, 4, 2)),
     r"\(before, after\)"),
    ("PAD", dict(inputs_extra=(np.array([[0, 0], [-1, 0], [0, 0], [0, 0]]),),
                 y_shape=(1, 3, 4, 2)), "must not be negative|non-negative"),
    ("AVERAGE_POOL_2D", dict(options="Pool2DOptions", Padding=1, FilterHeight=0,
                             FilterWidth=2, StrideH=1, StrideW=1, y_shape=(1, 4, 3, 2)),
     r"(the kernel|filter) size (\(0, 2\) )?must be at least 1"),
    ("RELU", dict(y_shape=(1, 4, 4, 3)), r"has shape \(1, 4, 4, 2\) but 'y' has \(1, 4, 4, 3\)"),
])
def test_shape_rules_of_other_ops(opname, kwargs, fragment, tmp_path, capsys):
    line = compile_error(unary_model(tmp_path / "m.tflite", opname, **kwargs), tmp_path, capsys)
    assert re.search(fragment, line) and "node 'y'" in line, line


def test_elementwise_operands_must_broadcast_to_the_output(tmp_path, capsys):
    b = TFLiteBuilder()
    x1 = b.tensor("x1", (1, 4, 3), "float32")
    x2 = b.tensor("x2", (1, 2, 3), "float32")
    y = b.tensor("y", (1, 4, 3), "float32")
    b.op("ADD", [x1, x2], [y])
    (tmp_path / "add.tflite").write_bytes(b.build([x1, x2], [y]))
    line = compile_error(tmp_path / "add.tflite", tmp_path, capsys)
    assert "do not broadcast" in line and "op 'Add'" in line, line


def onnx_model(path, nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]), path)
    return path


def test_onnx_conv_groups_that_do_not_divide(tmp_path, capsys):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = helper.make_tensor("w", TensorProto.FLOAT, [1000, 1, 3, 3], np.ones(9000, np.float32))
    node = helper.make_node("Conv", ["x", "w"], ["y"], group=1000, name="conv")
    model = onnx_model(tmp_path / "g.onnx", [node], [x], [y], [w])
    line = compile_error(model, tmp_path, capsys)
    assert "g.onnx" in line, line


def test_graph_output_that_no_node_computes(tmp_path, capsys):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    model = onnx_model(tmp_path / "id.onnx", [helper.make_node("Relu", ["x"], ["y"])], [x],
                       [y, helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])])
    line = compile_error(model, tmp_path, capsys)
    assert "graph output 'x' is not computed by any node" in line, line


def test_zero_size_constant(tmp_path, capsys):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 0], [])
    model = onnx_model(tmp_path / "z.onnx", [helper.make_node("MatMul", ["x", "w"], ["y"])],
                       [x], [y], [w])
    line = compile_error(model, tmp_path, capsys)
    assert "z.onnx" in line and ("at least 1" in line or "zero" in line), line


# Rules no frontend lets through today are checked on the IR directly.

def ir_graph(op, attrs, x_shape, y_shape, extra_inputs=()):
    xs = [Tensor(f"x{i}", s, "float32") for i, s in enumerate((x_shape, *extra_inputs))]
    y = Tensor("y", y_shape, "float32")
    node = Node("n", op, tuple(t.name for t in xs), ("y",), attrs)
    return Graph.build("g", [node], [*xs, y], [t.name for t in xs], ["y"], "g.ir")


@pytest.mark.parametrize("graph, fragment", [
    (ir_graph("Mean", MeanAttrs((7,), True), (1, 4, 4, 2), (1, 4, 4, 2)), "axes (7,)"),
    (ir_graph("Mean", MeanAttrs((1, 3), True), (1, 4, 4, 2), (1, 1, 4, 1)), "not neighbours"),
    (ir_graph("Concatenation", ConcatAttrs(4), (1, 2), (1, 4), [(1, 2)]), "axis 4 is outside"),
    (ir_graph("Concatenation", ConcatAttrs(1), (1, 2), (1, 5), [(2, 3)]), "does not concatenate"),
    (ir_graph("Softmax", SoftmaxAttrs(float("nan")), (1, 4), (1, 4)), "beta nan"),
    (ir_graph("LeakyRelu", LeakyReluAttrs(float("inf")), (1, 4), (1, 4)), "alpha inf"),
    (ir_graph("Clip", ClipAttrs(float("nan"), 1.0), (1, 4), (1, 4)), "are not numbers"),
    (ir_graph("Pad", PadAttrs(((0, 0), (1, 1)), float("nan")), (1, 4), (1, 6)), "pad value"),
    (ir_graph("MaxPool2D", Pool2DAttrs((2, 2), (1, 1), (2, 0, 0, 0)), (1, 4, 4, 1),
              (1, 5, 3, 1)), "smaller than the kernel"),
    (ir_graph("Transpose", TransposeAttrs((0, 5)), (1, 4), (1, 4)), "not a permutation"),
])
def test_ir_rules(graph, fragment):
    with pytest.raises(ModelError) as info:
        validate_graph(graph)
    assert fragment in str(info.value) and "node 'n'" in str(info.value), info.value


def conv_ir(op="Conv2D", x_shape=(1, 6, 6, 4), w_shape=(8, 3, 3, 4), y_shape=(1, 4, 4, 8),
            bias_len=8, **attrs):
    x = Tensor("x", x_shape, "float32")
    w = Tensor("w", w_shape, "float32", data=np.ones(w_shape))
    b = Tensor("b", (bias_len,), "float32", data=np.zeros(bias_len))
    y = Tensor("y", y_shape, "float32")
    cls = Conv2DAttrs if op == "Conv2D" else DepthwiseConv2DAttrs
    node = Node("n", op, ("x", "w", "b"), ("y",), cls(**attrs))
    return Graph.build("g", [node], [x, w, b, y], ["x"], ["y"], "g.ir")


@pytest.mark.parametrize("graph, fragment", [
    (conv_ir(dilations=(0, 1)), "dilations must be at least 1"),
    (conv_ir(strides=(1, 0)), "strides must be at least 1"),
    (conv_ir(groups=0), "groups must be at least 1"),
    (conv_ir(groups=3), "input channels do not fit weights"),
    (conv_ir(w_shape=(8, 3, 3, 3)), "input channels do not fit weights"),
    (conv_ir(w_shape=(8, 9, 3, 4)), "does not fit the padded input height"),
    (conv_ir(pads=(0, 0, -1, 0)), "pads must not be negative"),
    # found by the long fuzz run: SAME padding of a dilation of 2^31 - 1 overflowed the
    # kernel's window arithmetic
    (conv_ir(dilations=(2**31 - 1, 1), pads=(2**32 - 2, 1, 2**32 - 2, 1)), "must be at most"),
    (conv_ir(bias_len=7), "expected 8 values"),
    (conv_ir(y_shape=(1, 4, 4, 9), bias_len=8), "computes shape (1, 4, 4, 8)"),
    (conv_ir("DepthwiseConv2D", w_shape=(1, 3, 3, 6), y_shape=(1, 4, 4, 6), bias_len=6),
     "do not fit 4 input channels"),
    (conv_ir("DepthwiseConv2D", w_shape=(1, 3, 3, 8), depth_multiplier=0), "at least 1"),
])
def test_conv_rules_on_the_ir(graph, fragment):
    with pytest.raises(ModelError) as info:
        validate_graph(graph)
    assert fragment in str(info.value) and "node 'n'" in str(info.value), info.value


def test_requantization_factor_range():
    with pytest.raises(UnsupportedError, match="requantization factor"):
        quantize_multiplier(2.0 ** 40)
    assert quantize_multiplier(2.0 ** 29)[1] == 30


def int8_fc_ir(bias, weights):
    q = Quant.of(0.1, 0)
    x = Tensor("x", (1, weights.shape[1]), "int8", q)
    w = Tensor("w", weights.shape, "int8", Quant.of(0.01, 0), data=weights)
    b = Tensor("b", (weights.shape[0],), "int32", Quant.of(0.001, 0), data=bias)
    y = Tensor("y", (1, weights.shape[0]), "int8", q)
    node = Node("n", "FullyConnected", ("x", "w", "b"), ("y",), FullyConnectedAttrs())
    return Graph.build("g", [node], [x, w, b, y], ["x"], ["y"], "g.ir")


def test_int8_accumulators_that_could_overflow_are_refused():
    weights = np.full((2, 16), 127, np.int8)
    reach = 255 * 127 * 16
    validate_graph(int8_fc_ir(np.array([0, 2**31 - 1 - reach], np.int32), weights))
    with pytest.raises(ModelError, match="accumulator of output channel 1 can overflow"):
        validate_graph(int8_fc_ir(np.array([0, 2**31 - reach], np.int32), weights))


def int8_ir(op, attrs, x_shape, y_shape):
    q = Quant.of(0.1, 0)
    x, y = Tensor("x", x_shape, "int8", q), Tensor("y", y_shape, "int8", q)
    return Graph.build("g", [Node("n", op, ("x",), ("y",), attrs)], [x, y], ["x"], ["y"], "g.ir")


def test_int8_sums_that_could_overflow_are_refused():
    validate_graph(int8_ir("AveragePool2D", Pool2DAttrs((4096, 4095)), (1, 4096, 4095, 1),
                           (1, 1, 1, 1)))
    with pytest.raises(ModelError, match="too many for an int32 sum"):
        validate_graph(int8_ir("AveragePool2D", Pool2DAttrs((4096, 4097)), (1, 4096, 4097, 1),
                               (1, 1, 1, 1)))
    with pytest.raises(ModelError, match="too many for an int32 sum"):
        validate_graph(int8_ir("Mean", MeanAttrs((1, 2)), (1, 4096, 2049, 1), (1, 1, 1, 1)))


def _add_tanh_chain(path, length):
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 8), "float32")
    c = b.tensor("c", (1, 8), "float32", data=np.full((1, 8), 0.5))
    prev = x
    for i in range(length):
        h = b.tensor(f"h{i}", (1, 8), "float32")
        b.op("ADD" if i % 2 else "TANH", [prev, c] if i % 2 else [prev], [h])
        prev = h
    path.write_bytes(b.build([x], [prev]))
    return path


def test_compile_time_grows_linearly_with_the_graph(tmp_path):
    """Validation, the passes and lowering together: ten times the nodes costs well under a
    hundred times the time (a quadratic stage's ratio)."""
    import time

    from tinyml.compiler import compile_model

    def seconds(length):
        path = _add_tanh_chain(tmp_path / f"chain{length}.tflite", length)
        start = time.perf_counter()
        compiled = compile_model(path)
        assert len(compiled.graph.nodes) == length
        return time.perf_counter() - start

    seconds(20)    # imports
    small, large = min(seconds(300) for _ in range(2)), seconds(3000)
    assert large < 30 * small + 1.0, f"300 nodes {small:.2f} s, 3,000 nodes {large:.2f} s"
