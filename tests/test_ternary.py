"""Ternary weights: the dtype and its packing, the quantizer and the detection of ternary
models, the portable kernels bit-exact with the numpy reference under ASan/UBSan."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpers import assert_c_matches_ref, random_inputs, run_ref
from net_builder import Net
from ternary_nets import ternary_graph
from tinyml.dtypes import (DTYPES, channel_rows, pack_ternary, pack_trits_base3,
                           ternary_magnitudes, unpack_ternary, unpack_trits_base3)
from tinyml.ir import Quant, Tensor
from tinyml.kernels.ternary import gains as ternary_gains
from tinyml.quant import ternary
from tinyml.quant.ptq import convert

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_byte_counts_come_from_bits():
    t = Tensor("w", (10, 3, 3, 7), "ternary", Quant.of(np.ones(10), 0, 0),
               np.zeros((10, 3, 3, 7)))
    assert t.nbytes == -(-630 * 2 // 8) == 158
    assert Tensor("a", (5,), "int8").nbytes == 5 and Tensor("b", (5,), "float32").nbytes == 20
    assert DTYPES["ternary"].suffix == "t2" and DTYPES["ternary"].ctype == "uint8_t"


@pytest.mark.parametrize("count", [1, 4, 5, 13, 100])
def test_packings_round_trip(count):
    rng = np.random.default_rng(count)
    v = rng.integers(-1, 2, count).astype(np.int8)
    packed = pack_ternary(v)
    assert packed.size == -(-count // 4)
    np.testing.assert_array_equal(unpack_ternary(packed, count), v)
    base3 = pack_trits_base3(v)
    assert base3.size == -(-count // 5)
    np.testing.assert_array_equal(unpack_trits_base3(base3, count), v)
    # the codes, by hand: value i of a byte in bits 2i..2i+1, 01 = +1, 11 = -1
    assert pack_ternary(np.array([1, -1, 0, 1])).tolist() == [0b01_00_11_01]


def test_magnitudes_per_channel():
    w = np.array([[0.5, -0.5, 0.0], [0.0, 0.0, 0.0], [2.0, 2.0, -2.0]], np.float32)
    np.testing.assert_array_equal(ternary_magnitudes(w, 0), [0.5, 0.0, 2.0])
    assert ternary_magnitudes(w, 1) is None
    assert ternary_magnitudes(np.array([[1.0, 0.9]]), 0) is None


@pytest.mark.parametrize("scale", ["absmean", "median"])
def test_ternarize_by_hand(scale):
    w = np.array([[0.9, -0.1, 0.4, -1.2], [0.0, 0.0, 0.0, 0.0]], np.float32)
    t, s = ternary.ternarize(w, 0, scale)
    mags = np.abs(w[0].astype(np.float64))
    want_s = mags.mean() if scale == "absmean" else np.median(mags)
    assert s[0] == np.float32(want_s) and s[1] == 1.0
    np.testing.assert_array_equal(t[0], np.clip(np.round(w[0] / want_s), -1, 1))
    np.testing.assert_array_equal(t[1], 0)


def _float_net(seed=0):
    net = Net((1, 8, 8, 4), dtype="float32", seed=seed)
    x = net.conv(net.input, 8)
    x = net.dw(x)
    x = net.conv(x, 8, kernel=(1, 1))
    x = net.fc(net.reshape(x, (1, 8 * 8 * 8)), 6)
    return net.graph(x)


def test_layer_choice():
    g = _float_net()
    names = [n.name for n in ternary.weighted_nodes(g)]
    assert len(names) == 4
    assert [n.name for n in ternary.chosen_nodes(g)] == names[1:-1]
    assert [n.name for n in ternary.chosen_nodes(g, "all")] == names
    assert [n.name for n in ternary.chosen_nodes(g, names[2])] == [names[2]]
    with pytest.raises(Exception, match="no Conv2D"):
        ternary.chosen_nodes(g, "nope")


def _ranges(graph, samples):
    from tinyml.quant import calibrate
    return calibrate(graph, samples)


def test_float_ternary_weights_quantize_exactly():
    """Weights of {-s, 0, s} per channel become ternary with scale s, values kept, and the
    layers left alone stay int8."""
    g = ternary.ternarize_graph(_float_net(), "inner")
    rng = np.random.default_rng(1)
    q = convert(g, _ranges(g, rng.standard_normal((8, 1, 8, 8, 4)).astype(np.float32)))
    kinds = [q.tensor(n.inputs[1]).dtype for n in ternary.weighted_nodes(q)]
    assert kinds == ["int8", "ternary", "ternary", "int8"]
    for fnode, qnode in zip(ternary.weighted_nodes(g)[1:3], ternary.weighted_nodes(q)[1:3]):
        wf, wq = g.tensor(fnode.inputs[1]), q.tensor(qnode.inputs[1])
        axis = wq.quant.axis
        shape = [1] * wf.data.ndim
        shape[axis] = -1
        rebuilt = wq.data.astype(np.float32) * np.float32(wq.quant.scale).reshape(shape)
        np.testing.assert_array_equal(rebuilt, wf.data)


def test_float_ternary_weights_under_a_large_bias_stay_ternary_without_gain():
    """A channel whose scale s is too small for its int32 bias takes the smallest scale that
    fits (floor), its +-s rounded to it as int8 rounds: +-1 where s >= floor / 2, else 0;
    every other channel stays exact, and no channel needs a gain."""
    g = ternary.ternarize_graph(_float_net(), "inner")
    node = ternary.weighted_nodes(g)[2]                                 # the 1x1 conv
    w, b = g.tensor(node.inputs[1]), g.tensor(node.inputs[2])
    rng = np.random.default_rng(1)
    samples = rng.standard_normal((8, 1, 8, 8, 4)).astype(np.float32)
    in_scale = convert(g, _ranges(g, samples)).tensor(node.inputs[0]).quant.scale[0]
    axis = ternary.weight_axis(node, g)
    s = np.abs(channel_rows(w.data, axis)).max(axis=1)
    bias = b.data.copy()
    bias[0] = 1.5 * s[0] * in_scale * 2 ** 31                 # floor = 1.5 s: +-1 at floor
    bias[1] = -3.0 * s[1] * in_scale * 2 ** 31                # floor = 3 s: zero
    big = g.replace(tensors=[b.with_(data=bias.astype(np.float32))])
    q = convert(big, _ranges(big, samples))
    wq = q.tensor(node.inputs[1])
    assert wq.dtype == "ternary" and q.tensor(node.inputs[0]).quant.scale[0] == in_scale
    rows = channel_rows(wq.data, axis)
    np.testing.assert_array_equal(ternary_gains(rows), 1)
    assert np.array_equal(np.abs(rows[0]), np.abs(np.sign(channel_rows(w.data, axis)[0])))
    assert wq.quant.scale[0] >= 1.5 * s[0] * (1 - 1e-6) and not rows[1].any()
    for c in range(2, rows.shape[0]):
        np.testing.assert_array_equal(rows[c] * np.float32(wq.quant.scale[c]),
                                      channel_rows(w.data, axis)[c])
    assert np.abs(q.tensor(node.inputs[2]).data.astype(np.int64)).max() < 2 ** 31


def test_int8_weights_of_three_values_become_ternary_with_their_values():
    net = Net((1, 6, 6, 8), seed=3)
    x = net.conv(net.input, 8, kernel=(1, 1))
    g = ternary_graph(net.graph(x), np.random.default_rng(0), random_gain=True)
    w = g.tensor(g.nodes[0].inputs[1])
    as_int8 = g.replace(tensors=[w.with_(dtype="int8")])
    found = ternary.detect_int8(as_int8)
    assert found.tensor(w.name).dtype == "ternary"
    np.testing.assert_array_equal(found.tensor(w.name).data, w.data)
    # one channel with two magnitudes: stays int8
    data = w.data.copy()
    data[0, 0, 0, :2] = (3, 5)
    mixed = as_int8.replace(tensors=[w.with_(dtype="int8", data=data)])
    assert ternary.detect_int8(mixed).tensor(w.name).dtype == "int8"


def _int8_net(seed):
    net = Net((1, 9, 10, 8), seed=seed)
    x = net.conv(net.input, 12)                                   # 3x3, padded
    x = net.dw(x, strides=(2, 2))
    x = net.conv(x, 16, kernel=(1, 1))
    x = net.conv(x, 8, kernel=(3, 3), strides=(2, 2), padding="valid")
    x = net.fc(net.reshape(x, (1, 2 * 2 * 8)), 10)
    return net.graph(x)


@pytest.mark.parametrize("random_gain", [False, True])
def test_portable_kernels_match_the_reference(random_gain, tmp_path):
    rng = np.random.default_rng(5)
    g = ternary_graph(_int8_net(4), rng, random_gain)
    assert_c_matches_ref(g, random_inputs(g, 4, rng), tmp_path)


def test_ternary_outputs_differ_from_int8_ones():
    """The reference computes on the ternary values: a test of C against it can fail."""
    rng = np.random.default_rng(5)
    g = _int8_net(4)
    t = ternary_graph(g, rng)
    x = random_inputs(g, 2, rng)
    assert not np.array_equal(run_ref(g, x)[0], run_ref(t, x)[0])


def test_cli_dtype_ternary(tmp_path):
    """The bundled digits MLP: --dtype ternary with every layer ternary, weights in 2 bits, the
    table and report.json saying so; the default keeps the first and last layers int8."""
    from test_cli import tinyml
    model, calib = EXAMPLES / "digits_mlp.onnx", EXAMPLES / "digits_calib.npz"
    builds = {}
    for label, extra in (("int8", ("--dtype", "int8")),
                         ("all", ("--dtype", "ternary", "--ternary-layers", "all")),
                         ("inner", ("--dtype", "ternary"))):
        done = tinyml("compile", model, *extra, "--calib", calib, "-o", label, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        builds[label] = json.loads((tmp_path / label / "report.json").read_text())
    every = [l for l in builds["all"]["layers"] if l["weights"]]
    assert every and {l["weights"] for l in every} == {"ternary"}
    assert all(2.0 <= l["weight_bits"] < 2.1 for l in every)
    inner = [l["weights"] for l in builds["inner"]["layers"] if l["weights"]]
    assert inner[0] == inner[-1] == "int8" and set(inner[1:-1]) <= {"ternary"}
    assert builds["all"]["flash_bytes"] < builds["int8"]["flash_bytes"] / 2
    done = tinyml("inspect", model, "--dtype", "ternary", "--ternary-layers", "all", "--calib",
                  calib, cwd=tmp_path)
    assert "ternary 2b" in done.stdout and "ternary weights in 2 layers" in done.stdout
