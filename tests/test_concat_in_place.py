"""Concatenation in place: when a concatenation only copies whole blocks (nothing outside
its axis, one quantization), its producers write straight into their slices of its output
and it runs no code. The arena is smaller than with the copy, the outputs bit-exact with the
reference on the host (ASan/UBSan) for the host's and the Cortex-M4's kernels and in QEMU;
the slices are not used when a producer's output is read again, nor when the concatenation
requantizes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from helpers import random_inputs
from net_builder import Net
from tinyml.codegen import lower_model
from tinyml.plan.layout import Decisions, lay_out
from tinyml.kernels import select
from tinyml.targets.cores import CORES
from variant_checks import M4, assert_board_matches_ref, assert_host_matches_ref


def _vectors(read_again: bool = False):
    """x -> fc a (96), fc b (160) -> concat (256) -> relu y: a and b written into the concat."""
    net = Net((1, 24), "int8", 1)
    a = net.fc(net.input, 96)
    b = net.fc(net.input, 160)
    c = net.concat([a, b], 1)
    y = net.relu(c)
    outputs = [y, net.relu(a)] if read_again else [y]
    return net.graph(*outputs), net.nodes[2].name if not read_again else None


def _rows():
    """Two conv branches of one feature map concatenated along the rows (axis 1)."""
    net = Net((1, 10, 6, 4), "int8", 2)
    a = net.conv(net.input, 8)
    b = net.conv(net.input, 8, strides=(2, 1))
    c = net.concat([a, b], 1)
    return net.graph(net.conv(c, 4, kernel=(1, 1))), None


def _without_slices(graph, core, io_in_arena=False):
    """The same plan with the concatenation's copy kept."""
    choices = select(graph, core)
    plain = {n: dataclasses.replace(c, call=dataclasses.replace(c.call, gathers=()))
             for n, c in choices.items()}
    return lay_out(graph, Decisions(plain), io_in_arena, 16)


@pytest.mark.parametrize("core", ["host", "cortex-m4"])
@pytest.mark.parametrize("make", [_vectors, _rows])
def test_producers_write_into_the_slices(make, core, tmp_path):
    graph, _ = make()
    code = lower_model(graph, "m", CORES[core])
    concat = next(l for l in code.layers if l.node.op == "Concatenation")
    assert concat.runs == "slices" and concat.call is None
    assert not any("concat" in s for s in code.kernel_sources)
    out = concat.node.outputs[0]
    starts = [code.locations[t].offset - code.locations[out].offset for t in concat.node.inputs]
    sizes = [graph.tensor(t).nbytes for t in concat.node.inputs]
    assert starts == [0, sizes[0]]
    assert code.plan.size < _without_slices(graph, CORES[core]).plan.size
    assert_host_matches_ref(graph, random_inputs(graph, 3, np.random.default_rng(3)), tmp_path,
                            core=CORES[core])


def test_not_in_place_when_a_slice_is_read_again(tmp_path):
    graph, _ = _vectors(read_again=True)
    code = lower_model(graph, "m", M4)
    concat = next(l for l in code.layers if l.node.op == "Concatenation")
    assert concat.runs == "whole" and concat.call is not None
    assert_host_matches_ref(graph, random_inputs(graph, 2, np.random.default_rng(4)), tmp_path)


def test_not_in_place_when_the_concatenation_requantizes():
    graph, _ = _vectors()
    y = graph.tensor(next(n for n in graph.nodes if n.op == "Concatenation").outputs[0])
    other = graph.replace(tensors=[y.with_(quant=dataclasses.replace(y.quant, scale=(y.quant.scale[0] * 2,)))])
    concat = next(l for l in lower_model(other, "m", M4).layers if l.node.op == "Concatenation")
    assert concat.call.kernel == "tm_concat_requantize_s8" and concat.runs == "whole"


def test_channel_concatenations_keep_their_copy():
    """Along channels each input is many strided pieces of the output: the copy stays."""
    net = Net((1, 6, 6, 4), "int8", 5)
    c = net.concat([net.conv(net.input, 4), net.conv(net.input, 6)], 3)
    graph = net.graph(net.conv(c, 4, kernel=(1, 1)))
    concat = next(l for l in lower_model(graph, "m", M4).layers if l.node.op == "Concatenation")
    assert concat.runs == "whole"


@pytest.mark.emulator
@pytest.mark.slow
def test_concatenation_in_place_on_cortex_m4(tmp_path):
    graph, _ = _rows()
    assert_board_matches_ref(graph, random_inputs(graph, 2, np.random.default_rng(6)), tmp_path)
