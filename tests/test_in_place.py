"""In-place execution (issue 8, part): a kernel whose call says `in_place` writes its output
over its first input when that input has no other reader; the lowering gives both one
buffer. The 3x3 depthwise swept down columns does so when one band of columns covers the
width (every group of 4 channels is in scratch before its outputs land on its own bytes):
KWS's four depthwise layers, 8,000 bytes each. Bit-exact on the host under ASan/UBSan and on
the Cortex-M4 in QEMU; not aliased when the input is read again or the bands are several."""

from __future__ import annotations

import numpy as np
import pytest

from conv_cases import NONE, RELU
from helpers import random_inputs
from test_op_depthwise_conv2d import depthwise_graph
from tinyml.codegen import lower_model
from tinyml.ir import Graph, Node
from tinyml.ops.binary import BinaryAttrs
from tinyml.plan.planner import PlanOptions
from variant_checks import M4, assert_board_matches_ref, assert_host_matches_ref


def _relu_then_depthwise(case, read_again=False) -> Graph:
    """x -> Relu -> h -> DepthwiseConv2D -> y (the depthwise input an arena tensor), and with
    `read_again` h also added to y (a second reader)."""
    g = depthwise_graph(np.random.default_rng(3), case, "int8")
    x = g.tensor("x")
    h = x.with_(name="h")
    dw = g.nodes[0]
    nodes = [Node("relu", "Relu", ("x",), ("h",)),
             Node(dw.name, dw.op, ("h", *dw.inputs[1:]), dw.outputs, dw.attrs)]
    tensors = [*g.tensors.values(), h]
    outputs = ["y"]
    if read_again:
        z = g.tensor("y").with_(name="z")
        nodes.append(Node("add", "Add", ("h", "y"), ("z",), BinaryAttrs()))
        tensors.append(z)
        outputs = ["z"]
    return Graph.build("inplace", nodes, tensors, ["x"], outputs)


KWS = (1, 25, 5, 64, 1, (3, 3), (1, 1), (1, 1), "same", RELU)


def _offsets(code):
    return {name: loc.offset for name, loc in code.locations.items() if loc.kind == "arena"}


def test_a_graph_output_is_never_aliased(tmp_path):
    """The output is the caller's buffer: the kernel may run in place, the planner does not."""
    g = _relu_then_depthwise(KWS)
    code = lower_model(g, "m", M4)
    layer = next(l for l in code.layers if l.node.op == "DepthwiseConv2D")
    assert layer.call.kernel == "tm_depthwise_conv2d_3x3_sweep_dsp_s8" and layer.call.in_place
    assert code.locations["y"].kind == "output" and "h" in _offsets(code)
    assert_host_matches_ref(g, random_inputs(g, 3, np.random.default_rng(4)), tmp_path / "h")


def test_in_place_arena_is_smaller(tmp_path):
    """With y a graph output the alias cannot happen; inside a chain it saves y's bytes."""
    g = _relu_then_depthwise(KWS)
    relu2 = Node("relu2", "Relu", ("y",), ("y2",))
    g2 = Graph.build("chain", [*g.nodes, relu2], [*g.tensors.values(), g.tensor("y").with_(name="y2")],
                     ["x"], ["y2"])
    code = lower_model(g2, "m", M4)
    assert code.locations["h"].offset == code.locations["y"].offset
    scratch = max(l.call.scratch_bytes for l in code.layers if l.call)
    assert code.plan.lower_bound == 25 * 5 * 64 + scratch   # one activation, not two
    assert_host_matches_ref(g2, random_inputs(g2, 2, np.random.default_rng(5)), tmp_path / "h")


def test_not_in_place_when_the_input_is_read_again():
    g = _relu_then_depthwise(KWS, read_again=True)
    code = lower_model(g, "m", M4)
    assert code.locations["h"].offset != code.locations["y"].offset


def test_several_bands_of_columns_run_in_place_by_bands_of_rows(tmp_path):
    """The kernel cannot write over its input when its columns take several bands; the
    planner then runs it by bands of rows through a ring (tinyml/plan/bands.py), unless
    --optimize speed."""
    tall = (1, 300, 40, 4, 1, (3, 3), (1, 1), (1, 1), "same", NONE)
    g = _relu_then_depthwise(tall)
    relu2 = Node("relu2", "Relu", ("y",), ("y2",))
    g2 = Graph.build("chain", [*g.nodes, relu2], [*g.tensors.values(), g.tensor("y").with_(name="y2")],
                     ["x"], ["y2"])
    fast = lower_model(g2, "m", M4, options=PlanOptions(optimize="speed"))
    layer = next(l for l in fast.layers if l.node.op == "DepthwiseConv2D")
    assert layer.call.kernel == "tm_depthwise_conv2d_3x3_sweep_dsp_s8" and not layer.call.in_place
    assert fast.locations["h"].offset != fast.locations["y"].offset
    code = lower_model(g2, "m", M4)
    layer = next(l for l in code.layers if l.node.op == "DepthwiseConv2D")
    assert layer.runs == "bands" and code.locations["h"].offset == code.locations["y"].offset
    assert code.plan.size < fast.plan.size
    assert_host_matches_ref(g2, random_inputs(g2, 2, np.random.default_rng(7)), tmp_path)


@pytest.mark.slow
def test_in_place_on_cortex_m4(tmp_path):
    g = _relu_then_depthwise(KWS)
    relu2 = Node("relu2", "Relu", ("y",), ("y2",))
    g2 = Graph.build("chain", [*g.nodes, relu2], [*g.tensors.values(), g.tensor("y").with_(name="y2")],
                     ["x"], ["y2"])
    assert_board_matches_ref(g2, random_inputs(g2, 2, np.random.default_rng(6)), tmp_path)


def _fc(name, src, out, rng, n_in, n_out):
    from tinyml.ir import Quant, Tensor
    from tinyml.ops.fully_connected import FullyConnectedAttrs
    w = Tensor(f"{name}_w", (n_out, n_in), "int8", Quant.of(0.01, 0),
               rng.integers(-127, 128, (n_out, n_in)))
    return Node(name, "FullyConnected", (src, w.name), (out,), FullyConnectedAttrs()), w


def _elementwise_chain(op: str) -> Graph:
    """x -> fc -> a -> (Relu a | Add a + b with b = fc(x)) -> c -> fc -> y: c may take a's
    bytes (a has no other reader)."""
    from tinyml.ir import Quant, Tensor
    rng = np.random.default_rng(8)
    q = Quant.of(0.05, -3)
    t = {n: Tensor(n, (1, 32), "int8", q) for n in ("x", "a", "b", "c")}
    t["y"] = Tensor("y", (1, 8), "int8", q)
    fa, wa = _fc("fa", "x", "a", rng, 32, 32)
    fb, wb = _fc("fb", "x", "b", rng, 32, 32)
    fy, wy = _fc("fy", "c", "y", rng, 32, 8)
    if op == "Relu":
        nodes, extra = [fa, Node("relu", "Relu", ("a",), ("c",)), fy], [wa, wy]
    else:
        nodes, extra = [fa, fb, Node("add", "Add", ("a", "b"), ("c",), BinaryAttrs()), fy], [wa, wb, wy]
    used = {n for node in nodes for n in (*node.inputs, *node.outputs)}
    return Graph.build(op, nodes, [v for k, v in t.items() if k in used] + extra, ["x"], ["y"])


@pytest.mark.parametrize("op", ["Relu", "Add"])
@pytest.mark.parametrize("core", ["host", "cortex-m4"])
def test_elementwise_ops_write_over_their_first_input(op, core, tmp_path):
    from tinyml.targets.cores import CORES
    g = _elementwise_chain(op)
    code = lower_model(g, "m", CORES[core])
    assert code.locations["a"].offset == code.locations["c"].offset
    assert_host_matches_ref(g, random_inputs(g, 3, np.random.default_rng(9)), tmp_path,
                            core=CORES[core])
