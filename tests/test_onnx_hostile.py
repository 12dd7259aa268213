"""Hostile ONNX graphs: every malformation the ONNX frontend reads (missing inputs, attributes
of the wrong type or length, zero strides, bad perms and pads, Q/DQ nodes without inputs,
scales of 0, NaN or inf, names that are not UTF-8 or hold newlines) is one clean TinymlError
line naming the file, the node and the op; through the CLI, exit 1 and nothing written."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import helper

from onnx_models import make_model
from tinyml.compiler import compile_model
from tinyml.errors import TinymlError

W = np.ones((4, 3, 3, 3), np.float32)
X = {"x": (1, 3, 8, 8)}


def evil(op, inputs, outputs=("y",), **attrs):
    """The malformed node, always named 'evil'."""
    return helper.make_node(op, list(inputs), list(outputs), name="evil", **attrs)


def _q(scale, zero_point=np.int8(0), **attrs):
    """QuantizeLinear 'evil' -> DequantizeLinear, with the given parameters."""
    return ([evil("QuantizeLinear", ["x", "s", "z"], ["q"], **attrs),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"])], X,
            {"s": scale, "z": zero_point})


CASES = {
    "conv_without_weight": ([evil("Conv", ["x"])], X, {}),
    "conv_empty_weight_name": ([evil("Conv", ["x", ""])], X, {}),
    "strides_of_floats": ([evil("Conv", "xw", strides=[1.0, 1.0])], X, {"w": W}),
    "strides_a_string": ([evil("Conv", "xw", strides="ab")], X, {"w": W}),
    "pads_too_short": ([evil("Conv", "xw", pads=[1, 1])], X, {"w": W}),
    "pads_negative": ([evil("Conv", "xw", pads=[-5, 0, 0, 0])], X, {"w": W}),
    "strides_zero": ([evil("Conv", "xw", strides=[0, 0])], X, {"w": W}),
    "dilations_zero": ([evil("Conv", "xw", dilations=[0, 0])], X, {"w": W}),
    "group_zero": ([evil("Conv", "xw", group=0)], X, {"w": W}),
    "group_1000": ([evil("Conv", "xw", group=1000)], X, {"w": W}),
    "kernel_shape_not_the_weights": ([evil("Conv", "xw", kernel_shape=[9, 9])], X, {"w": W}),
    "auto_pad_unknown": ([evil("Conv", "xw", auto_pad="WHAT")], X, {"w": W}),
    "auto_pad_not_text": ([evil("Conv", "xw", auto_pad=b"\xff\xfe")], X, {"w": W}),
    "gemm_weight_3d": ([evil("Gemm", ["f", "g"])], {"f": (2, 3)},
                       {"g": np.ones((3, 4, 5), np.float32)}),
    "perm_repeats": ([evil("Transpose", "x", perm=[0, 0, 1, 2])], X, {}),
    "perm_too_short": ([evil("Transpose", "x", perm=[0, 1])], X, {}),
    "perm_out_of_range": ([evil("Transpose", "x", perm=[0, 1, 2, 7])], X, {}),
    "quantize_without_inputs": ([evil("QuantizeLinear", [], ["q"]),
                                 helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"])],
                                X, {"s": np.float32(0.1), "z": np.int8(0)}),
    "quantize_without_scale": ([evil("QuantizeLinear", ["x"], ["q"]),
                                helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"])],
                               X, {"s": np.float32(0.1), "z": np.int8(0)}),
    "dequantize_without_inputs": ([helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]),
                                   evil("DequantizeLinear", [])], X,
                                  {"s": np.float32(0.1), "z": np.int8(0)}),
    "scale_zero": _q(np.float32(0.0)),
    "scale_nan": _q(np.float32(np.nan)),
    "scale_inf": _q(np.float32(np.inf)),
    "scale_negative": _q(np.float32(-1.0)),
    "scale_an_integer": _q(np.int32(1)),
    "zero_point_a_float": _q(np.float32(0.1), np.float32(3)),
    "per_channel_axis_out_of_range": _q(np.ones(3, np.float32), np.zeros(3, np.int8), axis=9),
    "axis_of_type_float": _q(np.float32(0.1), axis=1.5),
    "per_channel_scales_not_the_channels": (
        [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["q"]),
         helper.make_node("DequantizeLinear", ["q", "xs", "xz"], ["d"]),
         evil("DequantizeLinear", ["wq", "s", "z"], ["wd"], axis=0),
         helper.make_node("Conv", ["d", "wd"], ["y"])], X,
        {"xs": np.float32(0.1), "xz": np.int8(0), "wq": np.ones((4, 3, 3, 3), np.int8),
         "s": np.ones(7, np.float32), "z": np.zeros(7, np.int8)}),
    "concat_axis_out_of_range": ([evil("Concat", "xx", axis=7)], X, {}),
    "concat_without_axis": ([evil("Concat", "xx")], X, {}),
    "softmax_axis_out_of_range": ([evil("Softmax", "x", axis=9)], X, {}),
    "pool_without_kernel": ([evil("MaxPool", "x")], X, {}),
    "pool_kernel_too_short": ([evil("MaxPool", "x", kernel_shape=[2])], X, {}),
    "pool_strides_zero": ([evil("AveragePool", "x", kernel_shape=[2, 2], strides=[0, 0])], X,
                          {}),
    "pads_odd_count": ([evil("Pad", "xp")], X, {"p": np.array([1, 1, 1], np.int64)}),
    "batchnorm_params_not_the_channels": ([evil("BatchNormalization", "xgggg")], X,
                                          {"g": np.ones(5, np.float32)}),
    "clip_bound_a_vector": ([evil("Clip", "xl")], X, {"l": np.ones(3, np.float32)}),
    "leaky_relu_alpha_an_int": ([evil("LeakyRelu", "x", alpha=3)], X, {}),
    "reduce_mean_axis_out_of_range": ([evil("ReduceMean", "x", axes=[9])], X, {}),
    "matmul_of_vectors_mismatched": ([evil("MatMul", "xm")], {"x": (3,)},
                                     {"m": np.ones(4, np.float32)}),
    "node_without_output": ([helper.make_node("Relu", ["x"], [], name="evil")], X, {}),
    "erf_unsupported": ([evil("Erf", "x")], X, {}),
    "shape_without_input": ([evil("Shape", [], ["s"]), helper.make_node("Reshape", "xs", "y")], X,
                            {}),
    "constant_of_a_terabyte": ([evil("ConstantOfShape", ["n"], ["c"]),
                                helper.make_node("Add", "xc", "y")], X,
                               {"n": np.array([1, 3, 1 << 20, 1 << 20], np.int64)}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_graph_is_one_clean_error(case, tmp_path):
    nodes, inputs, inits = CASES[case]
    path = make_model(tmp_path / f"{case}.onnx", nodes, inputs, ["y"], inits)
    with pytest.raises(TinymlError) as info:
        compile_model(path)
    message = str(info.value)
    assert "\n" not in message and "internal error" not in message
    assert str(path) in message
    op = next(n.op_type for n in nodes if n.name == "evil")
    assert "'evil'" in message and op in message, message


def _renamed(path, old: bytes, new: bytes):
    """The saved model with a name replaced in its bytes (protobuf takes any bytes)."""
    path.write_bytes(path.read_bytes().replace(old, new))
    return path


def test_name_not_utf8_with_newline_and_nul_named_escaped(tmp_path):
    nodes = [helper.make_node("Erf", ["x"], ["y"], name="EVILNAME")]
    path = _renamed(make_model(tmp_path / "n.onnx", nodes, {"x": (1, 4)}, ["y"]), b"EVILNAME",
                    b"EV\xffL\nN\x00E")
    with pytest.raises(TinymlError) as info:
        compile_model(path)
    message = str(info.value)
    assert "\n" not in message and "\x00" not in message
    assert "Erf (node 'EV\\\\xffL\\nN\\x00E')" in message


def test_tensor_names_not_utf8_still_connect_the_graph(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["MIDDLE1"]),
             helper.make_node("Sigmoid", ["MIDDLE1"], ["y"])]
    path = _renamed(make_model(tmp_path / "t.onnx", nodes, {"x": (1, 4)}, ["y"]), b"MIDDLE1",
                    b"MID\xfe\nE1")
    graph = compile_model(path).graph
    assert [n.op for n in graph.nodes] == ["Relu", "Logistic"]
    assert "MID\\xfe\nE1" in graph.tensors


@pytest.mark.parametrize("case", ["scale_nan", "perm_repeats", "quantize_without_inputs"])
def test_cli_exit_1_one_line_nothing_written(case, tmp_path):
    nodes, inputs, inits = CASES[case]
    path = make_model(tmp_path / "m.onnx", nodes, inputs, ["y"], inits)
    proc = subprocess.run([sys.executable, "-m", "tinyml", "compile", "m.onnx", "-o", "out"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("tinyml: error: m.onnx") and "'evil'" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_initializer_whose_bytes_do_not_fit_its_dims(tmp_path):
    nodes = [helper.make_node("Add", ["x", "b"], ["y"])]
    path = make_model(tmp_path / "b.onnx", nodes, {"x": (1, 4)}, ["y"],
                      {"b": np.arange(4, dtype=np.float32)})
    model = onnx.load(path)
    model.graph.initializer[0].raw_data = model.graph.initializer[0].raw_data[:-3]
    onnx.save(model, path)
    with pytest.raises(TinymlError, match="initializer 'b' cannot be read"):
        compile_model(path)


def test_element_type_no_onnx_version_defines(tmp_path):
    path = make_model(tmp_path / "t.onnx", [helper.make_node("Relu", ["x"], ["y"])],
                      {"x": (1, 4)}, ["y"])
    model = onnx.load(path)
    model.graph.input[0].type.tensor_type.elem_type = 106
    onnx.save(model, path)
    with pytest.raises(TinymlError, match="tensor 'x' has unsupported type code 106"):
        compile_model(path)


def test_pool_output_declared_with_another_rank(tmp_path):
    """Found by the long fuzz run: a pool whose graph output says rank 3 for a rank-4 input."""
    path = make_model(tmp_path / "p.onnx", [evil("AveragePool", ["x"], kernel_shape=[2, 2])],
                      X, ["y"])
    model = onnx.load(path)
    del model.graph.output[:]
    model.graph.output.append(helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT,
                                                            [1, 3, 7]))
    onnx.save(model, path)
    with pytest.raises(TinymlError) as info:
        compile_model(path)
    assert "'evil'" in str(info.value) and "AveragePool" in str(info.value), info.value
