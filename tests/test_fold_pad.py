"""tinyml/passes/fold_pad.py: a zero Pad of height and width feeding one conv-like layer
becomes that layer's padding, with outputs bit-identical to the graph with the Pad (numpy
reference and generated C, int8 and float32, Conv2D and DepthwiseConv2D, asymmetric pads);
a Pad of another value, of the channels, or read twice stays."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from conv_cases import NONE, RELU
from helpers import random_inputs, run_c, run_ref
from test_op_conv2d import conv_graph
from test_op_depthwise_conv2d import depthwise_graph
from tinyml.codegen import lower_model
from tinyml.ir import Graph, Node
from tinyml.ops.binary import BinaryAttrs
from tinyml.ops.pad import PadAttrs
from tinyml.passes import fold_pad


def _padded(layer: Graph, pads, value=None) -> Graph:
    """x -> Pad(pads) -> xp -> the layer, whose input (built VALID) is the padded shape."""
    xp = layer.tensor("x").with_(name="xp")
    n, h, w, c = xp.shape
    x = xp.with_(name="x", shape=(n, h - sum(pads[1]), w - sum(pads[2]), c - sum(pads[3])))
    if value is None:
        value = 0.0   # a real 0: the zero point in int8
    conv = layer.nodes[0]
    nodes = [Node("pad", "Pad", ("x",), ("xp",), PadAttrs(tuple(pads), value)),
             Node(conv.name, conv.op, ("xp", *conv.inputs[1:]), conv.outputs, conv.attrs)]
    tensors = [t for t in layer.tensors.values() if t.name != "x"]
    return Graph.build("padded", nodes, [*tensors, x, xp], ["x"], layer.outputs)


CONV = (1, 8, 7, 3, 5, (3, 3), (2, 2), (1, 1), "valid", 1, RELU)
DW = (1, 9, 6, 4, 1, (3, 3), (2, 1), (1, 1), "valid", NONE)
PADS = ((0, 0), (1, 2), (0, 1), (0, 0))


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("kind", ["conv", "depthwise"])
def test_folded_and_bit_identical(kind, dtype, tmp_path):
    rng = np.random.default_rng(11)
    shape = CONV if kind == "conv" else DW
    layer = conv_graph(rng, shape, dtype) if kind == "conv" else depthwise_graph(rng, shape, dtype)
    g = _padded(layer, PADS)
    folded = fold_pad(g)
    assert [n.op for n in folded.nodes] == [layer.nodes[0].op]
    assert folded.nodes[0].inputs[0] == "x" and folded.nodes[0].attrs.pads == (1, 0, 2, 1)
    xs = random_inputs(g, 3, rng)
    # the generated C of both graphs, bit for bit (int8: also the reference's integers)
    want = run_c(g, xs, tmp_path / "padded")[0]
    np.testing.assert_array_equal(run_c(folded, xs, tmp_path / "folded")[0], want)
    if dtype == "int8":
        np.testing.assert_array_equal(run_ref(folded, xs)[0], want)
    assert lower_model(folded, "m").plan.size <= lower_model(g, "m").plan.size


def test_other_pads_stay():
    rng = np.random.default_rng(12)
    layer = conv_graph(rng, CONV, "int8")
    q = layer.tensor("x").quant
    nonzero = _padded(layer, PADS, value=5 * q.scale[0])
    assert any(n.op == "Pad" for n in fold_pad(nonzero).nodes)
    float_layer = conv_graph(rng, (1, 8, 7, 3, 5, (3, 3), (1, 1), (1, 1), "valid", 1, NONE),
                             "float32")
    channels = _padded(float_layer, ((0, 0), (1, 1), (1, 1), (1, 1)))
    assert any(n.op == "Pad" for n in fold_pad(channels).nodes)
    twice = _padded(float_layer, ((0, 0), (1, 1), (1, 1), (0, 0)))
    xp = twice.tensor("xp")
    extra = Node("add", "Add", ("xp", "xp"), ("z",), BinaryAttrs())
    twice = Graph.build("twice", [*twice.nodes, extra],
                        [*twice.tensors.values(), xp.with_(name="z")], ["x"], ["y", "z"])
    assert any(n.op == "Pad" for n in fold_pad(twice).nodes)
