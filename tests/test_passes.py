"""Graph passes: each keeps the graph valid (check_graph) and its function (reference executor)."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from helpers import random_inputs, run_ref
from onnx_models import make_model
from tinyml.frontends import load_model
from tinyml.ir import Graph, Node, Quant, Tensor, check_graph
from tinyml.ops.binary import BinaryAttrs
from tinyml.ops.clamp import ClipAttrs
from tinyml.ops.conv2d import Conv2DAttrs
from tinyml.ops.fully_connected import FullyConnectedAttrs
from tinyml.ops.transpose import TransposeAttrs
from tinyml.passes import (PIPELINE, collapse_reshapes, eliminate_dead, fold_batchnorm,
                           fold_constants, fuse_activations, remove_transposes, run_pipeline)

RNG = np.random.default_rng(11)


def w(*shape):
    return (RNG.standard_normal(shape) * 0.5).astype(np.float32)


def _same_function(before: Graph, after: Graph, rtol=1e-5, atol=1e-5):
    check_graph(after)
    x = random_inputs(before, 3, RNG)
    np.testing.assert_allclose(run_ref(after, x)[0], run_ref(before, x)[0], rtol=rtol, atol=atol)


def _imported(tmp_path, nodes, inputs, inits, upto):
    """The ONNX model imported and run through the pipeline up to (excluding) pass `upto`."""
    path = make_model(tmp_path / "m.onnx", nodes, inputs, ["y"], inits)
    return run_pipeline(load_model(path), PIPELINE[:PIPELINE.index(upto)], check=True)


def test_mnist8_pipeline_removes_every_transpose(shared_models):
    graph = load_model(shared_models / "onnx" / "mnist-8" / "model.onnx")
    assert [n.op for n in graph.nodes].count("Transpose") == 8
    after = run_pipeline(graph, check=True)
    assert [n.op for n in after.nodes] == ["Reshape", "Conv2D", "MaxPool2D", "Conv2D",
                                           "MaxPool2D", "Reshape", "FullyConnected"]
    _same_function(graph, after, rtol=1e-4, atol=1e-3)


def test_batchnorm_folds_into_conv_and_gemm(tmp_path):
    bn = lambda x, y, p: helper.make_node("BatchNormalization", [x, f"{p}g", f"{p}b", f"{p}m",
                                                                 f"{p}v"], [y], epsilon=1e-3)
    nodes = [helper.make_node("Conv", ["x", "w", "cb"], ["c"], pads=[1, 1, 1, 1]),
             bn("c", "n", "a"), helper.make_node("Relu", ["n"], ["r"]),
             bn("r", "s", "s"),                     # after a Relu: stays a Mul and an Add
             helper.make_node("Flatten", ["s"], ["f"]),
             helper.make_node("Gemm", ["f", "fw"], ["g"], transB=1), bn("g", "y", "f")]
    inits = {"w": w(4, 3, 3, 3), "cb": w(4), "fw": w(6, 64)}
    for p, c in (("a", 4), ("s", 4), ("f", 6)):
        inits.update({f"{p}g": w(c), f"{p}b": w(c), f"{p}m": w(c),
                      f"{p}v": np.abs(w(c)) + 0.2})
    before = _imported(tmp_path, nodes, {"x": (1, 3, 4, 4)}, inits, fold_batchnorm)
    after = fold_batchnorm(before)
    ops = [n.op for n in after.nodes]
    assert ops.count("Mul") == 1 and ops.count("Add") == 1
    assert ops.index("Conv2D") + 1 == ops.index("Relu")
    assert ops[-1] == "FullyConnected"
    _same_function(before, after)


def _conv_act_graph(act_op, attrs=None, quant=None) -> Graph:
    dtype = "int8" if quant else "float32"
    q_in = Quant.of(0.05, 3) if quant else None
    x = Tensor("x", (1, 5, 5, 2), dtype, q_in)
    if quant:
        wt = Tensor("w", (3, 3, 3, 2), "int8", Quant.of([0.01] * 3, 0),
                    RNG.integers(-127, 128, (3, 3, 3, 2)))
    else:
        wt = Tensor("w", (3, 3, 3, 2), "float32", data=w(3, 3, 3, 2))
    c = Tensor("c", (1, 3, 3, 3), dtype, quant)
    y = Tensor("y", (1, 3, 3, 3), dtype, quant)
    nodes = [Node("conv", "Conv2D", ("x", "w", ""), ("c",), Conv2DAttrs(act=(-1.0, 4.0))),
             Node("act", act_op, ("c",), ("y",), attrs)]
    return Graph.build("g", nodes, [x, wt, c, y], ["x"], ["y"])


@pytest.mark.parametrize("act_op,attrs,fused", [("Relu", None, (0.0, 4.0)),
                                                ("Relu6", None, (0.0, 4.0)),
                                                ("Clip", ClipAttrs(-2.0, 3.0), (-1.0, 3.0))])
def test_activation_fusion(act_op, attrs, fused):
    before = _conv_act_graph(act_op, attrs)
    after = fuse_activations(before)
    assert [n.op for n in after.nodes] == ["Conv2D"]
    assert after.nodes[0].attrs.act == fused and after.nodes[0].outputs == ("y",)
    _same_function(before, after)


def test_activation_fusion_int8_needs_equal_quantization():
    same = _conv_act_graph("Relu", quant=Quant.of(0.1, -5))
    after = fuse_activations(same)
    assert [n.op for n in after.nodes] == ["Conv2D"]
    x = random_inputs(same, 4, RNG)
    np.testing.assert_array_equal(run_ref(after, x)[0], run_ref(same, x)[0])
    other = same.replace(tensors=[same.tensor("y").with_(quant=Quant.of(0.2, -128))])
    assert [n.op for n in fuse_activations(other).nodes] == ["Conv2D", "Relu"]


def test_fold_constants_and_dead_nodes():
    x = Tensor("x", (1, 4), "float32")
    a = Tensor("a", (1, 4), "float32", data=w(1, 4))
    b = Tensor("b", (1, 4), "float32", data=w(1, 4))
    ab, dead, y = (Tensor(n, (1, 4), "float32") for n in ("ab", "dead", "y"))
    nodes = [Node("const_add", "Add", ("a", "b"), ("ab",), BinaryAttrs()),
             Node("unused", "Relu", ("x",), ("dead",)),
             Node("out", "Mul", ("x", "ab"), ("y",), BinaryAttrs())]
    before = Graph.build("g", nodes, [x, a, b, ab, dead, y], ["x"], ["y"])
    folded = fold_constants(before)
    assert [n.name for n in folded.nodes] == ["unused", "out"]
    np.testing.assert_allclose(folded.tensor("ab").data, a.data + b.data)
    after = eliminate_dead(folded)
    assert [n.name for n in after.nodes] == ["out"]
    _same_function(before, after)


@pytest.mark.parametrize("binary", ["Add", "Sub", "Mul", "Div"])
def test_transposes_push_through_elementwise_and_fold_into_fc(binary):
    """T(NHWC->NCHW) -> Add(const [C,1,1]) -> Relu -> T(NCHW->NHWC) -> ... -> Flatten -> FC."""
    x = Tensor("x", (1, 3, 2, 4), "float32")
    shapes = {"t": (1, 4, 3, 2), "a": (1, 4, 3, 2), "r": (1, 4, 3, 2), "back": (1, 3, 2, 4),
              "m": (1, 3, 2, 4), "t2": (1, 4, 3, 2), "f": (1, 24), "y": (1, 5)}
    tensors = [x, Tensor("c", (4, 1, 1), "float32", data=w(4, 1, 1)),
               Tensor("fw", (5, 24), "float32", data=w(5, 24)),
               *(Tensor(n, s, "float32") for n, s in shapes.items())]
    to_nchw, to_nhwc = TransposeAttrs((0, 3, 1, 2)), TransposeAttrs((0, 2, 3, 1))
    nodes = [Node("t", "Transpose", ("x",), ("t",), to_nchw),
             Node("a", binary, ("t", "c"), ("a",), BinaryAttrs()),
             Node("r", "Relu", ("a",), ("r",)),
             Node("back", "Transpose", ("r",), ("back",), to_nhwc),
             Node("m", "Clip", ("back",), ("m",), ClipAttrs(-1.0, 1.0)),
             Node("t2", "Transpose", ("m",), ("t2",), to_nchw),
             Node("f", "Reshape", ("t2",), ("f",)),
             Node("y", "FullyConnected", ("f", "fw", ""), ("y",), FullyConnectedAttrs())]
    before = Graph.build("g", nodes, tensors, ["x"], ["y"])
    after = remove_transposes(before)
    assert [n.op for n in after.nodes] == [binary, "Relu", "Clip", "Reshape", "FullyConnected"]
    _same_function(before, after)


def test_size_one_transpose_is_a_view_and_reshapes_collapse():
    x = Tensor("x", (1, 1, 3, 5), "float32")
    tensors = [x, Tensor("t", (1, 3, 5, 1), "float32"), Tensor("r", (1, 15), "float32"),
               Tensor("y", (15,), "float32")]
    nodes = [Node("t", "Transpose", ("x",), ("t",), TransposeAttrs((0, 2, 3, 1))),
             Node("r", "Reshape", ("t",), ("r",)), Node("y", "Reshape", ("r",), ("y",))]
    before = Graph.build("g", nodes, tensors, ["x"], ["y"])
    after = collapse_reshapes(remove_transposes(before))
    assert [(n.op, n.inputs) for n in after.nodes] == [("Reshape", ("x",))]
    _same_function(before, after)


def test_graph_output_transpose_stays():
    x = Tensor("x", (1, 2, 3, 4), "float32")
    tensors = [x, Tensor("y", (1, 4, 2, 3), "float32")]
    nodes = [Node("t", "Transpose", ("x",), ("y",), TransposeAttrs((0, 3, 1, 2)))]
    graph = Graph.build("g", nodes, tensors, ["x"], ["y"])
    assert [n.op for n in remove_transposes(graph).nodes] == ["Transpose"]
