"""Hostile TFLite files built here: each is one clean line naming file, node and op (exit 1,
no "internal error", nothing written), and a merely unsupported model is never "corrupt"."""

import numpy as np
import pytest

from tflite_builder import TFLiteBuilder
from tinyml.cli import main
from tinyml.errors import ModelError, UnsupportedError
from tinyml.frontends.tflite import load_tflite


def _conv(*, name=lambda n: n, x_shape=(1, 5, 5, 2), w_shape=(3, 3, 3, 2), opname="CONV_2D",
          options="Conv2DOptions", fields=None, y_shape=(1, 5, 5, 3), **op_kw):
    b = TFLiteBuilder()
    x = b.tensor(name("x"), x_shape, "float32")
    w = b.tensor(name("w"), w_shape, "float32", data=np.ones(w_shape))
    y = b.tensor(name("y"), y_shape, "float32")
    opts = dict(Padding=0, StrideH=1, StrideW=1, DilationHFactor=1, DilationWFactor=1)
    if options not in ("Conv2DOptions", "DepthwiseConv2DOptions"):   # only the given fields
        opts = {}
    if opname == "DEPTHWISE_CONV_2D":
        opts["DepthMultiplier"] = 1
    opts.update(fields or {})
    b.op(opname, [x, w, -1], [y], options, **(opts if options else {}), **op_kw)
    return b.build([x], [y])


def _with_axis_operand(opname, values, options=None, x_shape=(1, 2, 3, 4), y_shape=None,
                       **fields):
    b = TFLiteBuilder()
    x = b.tensor("x", x_shape, "float32")
    a = b.tensor("a", (len(values),), "int32", data=values)
    y = b.tensor("y", y_shape or x_shape, "float32")
    b.op(opname, [x, a], [y], options, **fields)
    return b.build([x], [y])


def _compile_error(tmp_path, capsys, data: bytes) -> str:
    model = tmp_path / "hostile.tflite"
    model.write_bytes(data)
    rc = main(["compile", str(model), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert rc == 1, err
    assert len(lines) == 1 and lines[0].startswith("tinyml: error: "), err
    assert "internal error" not in err and "Traceback" not in err
    assert "hostile.tflite" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostile.tflite"]
    return lines[0]


def _two_ops(twice=False, reversed_order=False):
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4), "float32")
    h = b.tensor("h", (1, 4), "float32")
    y = b.tensor("y", (1, 4), "float32")
    ops = [([x], [y]), ([x], [y])] if twice else [([x], [h]), ([h], [y])]
    for ins, outs in reversed(ops) if reversed_order else ops:
        b.op("RELU", ins, outs)
    return b.build([x], [y])


def _quantized_fc(scales, zero_points):
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4), "int8", scale=0.1, zero_point=0)
    w = b.tensor("w", (2, 4), "int8", data=np.ones((2, 4)), scale=scales, zero_point=zero_points)
    y = b.tensor("y", (1, 2), "int8", scale=0.1, zero_point=0)
    b.op("FULLY_CONNECTED", [x, w, -1], [y])
    return b.build([x], [y])


def _unsupported_with_unnamed_tensors():
    b = TFLiteBuilder()
    x = b.tensor(None, (1, 4), "float32")
    y = b.tensor(None, (1, 4), "float32")
    b.op("SQRT", [x], [y])
    return b.build([x], [y])


def _custom(code: bytes):
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4), "float32")
    y = b.tensor("y", (1, 4), "float32")
    b.op("CUSTOM", [x], [y], custom_code=code)
    return b.build([x], [y])


def _buffer_index(index):
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4), "float32")
    w = b.tensor("w", (2, 4), "float32", data=np.ones((2, 4)))
    b.tensor("other", (3,), "float32", data=np.ones(3))
    y = b.tensor("y", (1, 2), "float32")
    b.op("FULLY_CONNECTED", [x, w, -1], [y])
    data = b.build([x], [y])
    b._tensors[w] = b._tensors[w][:3] + (index,) + b._tensors[w][4:]
    return b.build([x], [y]) if index is not None else data


def _fc(inputs, outputs=(3,), graph_inputs=(0,), opcode_index=None):
    b = TFLiteBuilder()
    b.tensor("x", (1, 4), "float32")
    b.tensor("w", (2, 4), "float32", data=np.ones((2, 4)))
    b.tensor("unused", (2,), "float32")
    b.tensor("y", (1, 2), "float32")
    b.op("FULLY_CONNECTED", list(inputs), list(outputs), opcode_index=opcode_index)
    return b.build(list(graph_inputs), [3])


CASES = {
    # (model bytes, error class, fragments of the message)
    "unnamed tensors, unsupported op": (_unsupported_with_unnamed_tensors, UnsupportedError,
                                        ["unsupported ops: SQRT", "tensor_1"]),
    "custom op": (lambda: _custom(b"TFLite_Detection_PostProcess"), UnsupportedError,
                  ["custom op TFLite_Detection_PostProcess"]),
    "custom op with invalid UTF-8 and newline": (lambda: _custom(b"bad\xff*/\nname"),
                                                 UnsupportedError, ["custom op bad"]),
    "custom op without code": (lambda: _custom(b""), UnsupportedError, ["custom op without"]),
    "input index out of range": (lambda: _fc([0, 99, -1]), ModelError,
                                 ["input 1 is tensor index 99", "FULLY_CONNECTED"]),
    "negative input index": (lambda: _fc([-5, 1, -1]), ModelError, ["tensor index -5"]),
    "output index out of range": (lambda: _fc([0, 1, -1], outputs=[7]), ModelError,
                                  ["output 0 is tensor index 7"]),
    "graph input index out of range": (lambda: _fc([0, 1, -1], graph_inputs=[42]), ModelError,
                                       ["graph input 0 is tensor index 42"]),
    "opcode index out of range": (lambda: _fc([0, 1, -1], opcode_index=9), ModelError,
                                  ["names opcode 9"]),
    "no outputs": (lambda: _fc([0, 1, -1], outputs=[]), ModelError, ["no outputs"]),
    "missing operand": (lambda: _fc([0]), ModelError, ["input 1 is missing", "FULLY_CONNECTED"]),
    "buffer index out of range": (lambda: _buffer_index(77), ModelError, ["names buffer 77"]),
    "buffer of the wrong size": (lambda: _buffer_index(2), ModelError,
                                 ["needs 32 bytes", "holds 12"]),
    "missing options": (lambda: _conv(options=None), ModelError, ["no Conv2DOptions", "CONV_2D"]),
    "options of another op": (lambda: _conv(options="Pool2DOptions",
                                            fields=dict(Padding=0, StrideH=1, StrideW=1,
                                                        FilterHeight=1, FilterWidth=1)),
                              ModelError, ["Pool2DOptions", "expected Conv2DOptions"]),
    "stride 0": (lambda: _conv(fields=dict(StrideW=0)), ModelError, ["strides (1, 0)"]),
    "dilation 0": (lambda: _conv(fields=dict(DilationHFactor=0)), ModelError,
                   ["dilations (0, 1)"]),
    "bad padding code": (lambda: _conv(fields=dict(Padding=7)), ModelError,
                         ["invalid padding code 7"]),
    "bad activation code": (lambda: _conv(fields=dict(FusedActivationFunction=42)), ModelError,
                            ["invalid fused activation code 42"]),
    "weights with 0 input channels": (lambda: _conv(w_shape=(3, 3, 3, 0)), ModelError,
                                      ["not a multiple of the weights' 0 input channels"]),
    "input channels not a multiple": (lambda: _conv(x_shape=(1, 5, 5, 3)), ModelError,
                                      ["input channels 3"]),
    "depthwise input with 0 channels": (lambda: _conv(opname="DEPTHWISE_CONV_2D",
                                                      options="DepthwiseConv2DOptions",
                                                      x_shape=(1, 5, 5, 0), w_shape=(1, 3, 3, 2)),
                                        ModelError, ["input's 0 channels"]),
    "conv weights of rank 2": (lambda: _conv(w_shape=(3, 2)), ModelError, ["expected rank 4"]),
    "pool filter 0": (lambda: _pool(FilterHeight=0), ModelError, ["filter size (0, 2)"]),
    "pool without options": (lambda: _pool(options=None), ModelError, ["no Pool2DOptions"]),
    "perm of the wrong length": (lambda: _with_axis_operand("TRANSPOSE", [0, 2, 1]), ModelError,
                                 ["permutation (0, 2, 1)"]),
    "perm with a repeat": (lambda: _with_axis_operand("TRANSPOSE", [0, 0, 1, 2]), ModelError,
                           ["not a permutation"]),
    "pads of the wrong length": (lambda: _with_axis_operand("PAD", [1, 1, 2]), ModelError,
                                 ["paddings [1, 1, 2]"]),
    "negative pads": (lambda: _with_axis_operand("PAD", [0, 0, -1, 0, 0, 0, 0, 0]), ModelError,
                      ["non-negative"]),
    "mean axis out of range": (lambda: _with_axis_operand("MEAN", [9], "ReducerOptions",
                                                          KeepDims=1), ModelError,
                               ["axis 9 is out of range"]),
    "concat axis out of range": (lambda: _concat(axis=5), ModelError, ["axis 5 is out of range"]),
    "concat without options": (lambda: _concat(axis=None), ModelError,
                               ["no ConcatenationOptions"]),
    "tensor written twice": (lambda: _two_ops(twice=True), ModelError,
                             ["writes tensor 'y', which is already defined"]),
    "operators out of order": (lambda: _two_ops(reversed_order=True), ModelError,
                               ["reads tensor 'h', which no earlier operator computes"]),
    "scales and zero points disagree": (lambda: _quantized_fc([0.1, 0.2], [0, 1, 2]), ModelError,
                                        ["2 scales but 3 zero points"]),
    "negative dimension": (lambda: _conv(y_shape=(1, -5, 5, 3)), ModelError,
                           ["negative dimension"]),
    "truncated": (lambda: _conv()[:200], ModelError, ["corrupt TFLite file"]),
}


def _pool(options="Pool2DOptions", **fields):
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4, 4, 2), "float32")
    y = b.tensor("y", (1, 2, 2, 2), "float32")
    opts = dict(Padding=1, StrideH=2, StrideW=2, FilterHeight=2, FilterWidth=2)
    opts.update(fields)
    b.op("MAX_POOL_2D", [x], [y], options, **(opts if options else {}))
    return b.build([x], [y])


def _concat(axis):
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 4), "float32")
    y = b.tensor("y", (1, 8), "float32")
    if axis is None:
        b.op("CONCATENATION", [x, x], [y])
    else:
        b.op("CONCATENATION", [x, x], [y], "ConcatenationOptions", Axis=axis)
    return b.build([x], [y])


@pytest.mark.parametrize("case", CASES)
def test_hostile_tflite_is_one_clean_line(case, tmp_path, capsys):
    build, error, fragments = CASES[case]
    data = build()
    with pytest.raises(error) as info:
        load_tflite(tmp_path / "hostile.tflite", data)
    if error is UnsupportedError:
        assert "corrupt" not in str(info.value)
    line = _compile_error(tmp_path, capsys, data)
    for fragment in fragments:
        assert fragment in line, line


def test_op_level_errors_name_node_and_op(tmp_path):
    with pytest.raises(ModelError) as info:
        load_tflite(tmp_path / "m.tflite", _conv(fields=dict(StrideW=0)))
    assert (info.value.node, info.value.op) == ("y", "CONV_2D")


def test_unnamed_tensors_get_positional_names_and_compile(tmp_path):
    b = TFLiteBuilder()
    x = b.tensor(None, (1, 4), "float32")
    w = b.tensor(None, (2, 4), "float32", data=np.ones((2, 4)))
    y = b.tensor(None, (1, 2), "float32")
    b.op("FULLY_CONNECTED", [x, w, -1], [y])
    graph = load_tflite(tmp_path / "m.tflite", b.build([x], [y]))
    assert (graph.inputs, graph.outputs) == (("tensor_0",), ("tensor_2",))
    assert [n.inputs for n in graph.nodes] == [("tensor_0", "tensor_1", "")]


def test_repeated_names_stay_distinct_from_other_names(tmp_path):
    b = TFLiteBuilder()
    x = b.tensor("a", (1, 4), "float32")
    h = b.tensor("a", (1, 4), "float32")
    y = b.tensor("a_1", (1, 4), "float32")
    b.op("RELU", [x], [h])
    b.op("RELU", [h], [y])
    graph = load_tflite(tmp_path / "m.tflite", b.build([x], [y]))
    assert [(n.inputs, n.outputs) for n in graph.nodes] == [(("a",), ("a_2",)),
                                                             (("a_2",), ("a_1",))]
