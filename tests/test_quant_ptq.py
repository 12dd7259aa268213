"""Post-training quantization of float graphs: traits honoured, accuracy, and the compile path."""

import json
import math

import numpy as np
import pytest

from helpers import run_c, run_ref
from tflite_builder import TFLiteBuilder
from tinyml.compiler import compile_model, write
from tinyml.errors import UnsupportedError, UsageError
from tinyml.ir import Graph, Node, Tensor, check_graph
from tinyml.numerics import dequantize, quantize
from tinyml.ops.base import REGISTRY, Op
from tinyml.ops.fully_connected import FullyConnectedAttrs
from tinyml.quant import CalibrationWarning, convert, quantize_graph
from tinyml.quant.ptq import activation_quants


def mlp_graph(seed=0, sizes=(12, 24, 16, 5)) -> Graph:
    """FullyConnected(ReLU) -> Reshape -> FullyConnected(ReLU6) -> FullyConnected."""
    rng = np.random.default_rng(seed)
    tensors = [Tensor("x", (1, sizes[0]), "float32")]
    nodes, prev = [], "x"
    acts = [(0.0, math.inf), (0.0, 6.0), (-math.inf, math.inf)]
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        w = rng.standard_normal((n_out, n_in)) * (1.5 / math.sqrt(n_in))
        w[n_out // 2] = 0.0                                # an all-zero output channel
        tensors += [Tensor(f"w{i}", (n_out, n_in), "float32", data=w),
                    Tensor(f"b{i}", (n_out,), "float32", data=rng.standard_normal(n_out) * 0.2),
                    Tensor(f"h{i}", (1, n_out), "float32")]
        nodes.append(Node(f"fc{i}", "FullyConnected", (prev, f"w{i}", f"b{i}"), (f"h{i}",),
                          FullyConnectedAttrs(act=acts[i])))
        prev = f"h{i}"
        if i == 0:
            tensors.append(Tensor("r0", (1, 1, n_out), "float32"))
            nodes.append(Node("reshape0", "Reshape", (prev,), ("r0",)))
            tensors.append(Tensor("r1", (1, n_out), "float32"))
            nodes.append(Node("reshape1", "Reshape", ("r0",), ("r1",)))
            prev = "r1"
    return Graph.build("mlp", nodes, tensors, ["x"], [prev])


def _int8_io(graph: Graph, name: str) -> tuple[float, int]:
    t = graph.tensor(name)
    assert t.dtype == "int8"
    return t.quant.scale[0], t.quant.zero_point[0]


def test_mlp_types_and_traits():
    g = mlp_graph()
    q = quantize_graph(g, np.random.default_rng(1).standard_normal((64, 1, 12)))
    check_graph(q)
    assert [n.op for n in q.nodes] == [n.op for n in g.nodes]
    for i in range(3):
        w, b = q.tensor(f"w{i}"), q.tensor(f"b{i}")
        assert w.dtype == "int8" and w.quant.axis == 0 and set(w.quant.zero_point) == {0}
        assert len(w.quant.scale) == w.shape[0] and np.abs(w.data.astype(int)).max() == 127
        assert b.dtype == "int32" and b.quant.zero_point == (0,) * b.shape[0]
        fc = next(n for n in q.nodes if n.name == f"fc{i}")
        in_scale = q.tensor(fc.inputs[0]).quant.scale[0]
        np.testing.assert_array_equal(
            np.float32(b.quant.scale), np.float32(in_scale) * np.float32(w.quant.scale))
    # Reshape keeps its input's quantization, through a chain of two
    assert q.tensor("r0").quant == q.tensor("h0").quant == q.tensor("r1").quant
    # the ReLU6 output: range inside [0, 6], zero point at the bottom
    assert _int8_io(q, "h1")[1] == -128 and _int8_io(q, "h1")[0] <= 6 / 255 + 1e-9
    assert all(float(np.float32(s)) == s for t in q.tensors.values() if t.quant
               for s in t.quant.scale)


def test_mlp_int8_close_to_float_and_c_bit_exact(tmp_path):
    g = mlp_graph()
    rng = np.random.default_rng(2)
    q = quantize_graph(g, rng.standard_normal((128, 1, 12)).astype(np.float32))
    xs = rng.standard_normal((40, 1, 12)).astype(np.float32)
    x_scale, x_zp = _int8_io(q, "x")
    y_scale, y_zp = _int8_io(q, q.outputs[0])
    xq = quantize(xs, x_scale, x_zp)
    want = run_ref(g, [xs])[0]
    got = dequantize(run_ref(q, [xq])[0], y_scale, y_zp)
    span = float(want.max() - want.min())
    assert np.abs(got - want).max() <= 0.03 * span
    assert np.abs(got - want).mean() <= 0.01 * span
    np.testing.assert_array_equal(run_c(q, [xq[:8]], tmp_path, sanitize=True)[0],
                                  run_ref(q, [xq[:8]])[0])


def test_percentile_method_runs():
    g = mlp_graph()
    xs = np.random.default_rng(3).standard_normal((32, 1, 12))
    a = quantize_graph(g, xs, method="percentile", percentile=99.0)
    b = quantize_graph(g, xs)
    assert a.tensor("x").quant.scale[0] < b.tensor("x").quant.scale[0]


class _KeepAll(Op):
    """Test op: like a concatenation, its inputs and output must share one quantization."""
    name = "_TestKeepAll"
    keeps_input_quant = True


class _Fixed(Op):
    """Test op: like a softmax, a fixed int8 output quantization."""
    name = "_TestFixed"
    fixed_output_quant = (1.0 / 256.0, -128)


@pytest.fixture
def test_ops(monkeypatch):
    for cls in (_KeepAll, _Fixed):
        monkeypatch.setitem(REGISTRY, cls.name, cls())


def _chain_graph(*ops: tuple[str, tuple[str, ...], str]) -> Graph:
    names = {n for _, ins, out in ops for n in (*ins, out)}
    nodes = [Node(f"n{i}", op, ins, (out,)) for i, (op, ins, out) in enumerate(ops)]
    produced = {out for _, _, out in ops}
    return Graph.build("g", nodes, [Tensor(n, (1, 4), "float32") for n in names],
                       sorted(names - produced), [ops[-1][2]])


def test_shared_quantization_covers_the_union_of_ranges(test_ops):
    g = _chain_graph(("_TestKeepAll", ("a", "b"), "c"))
    quants = activation_quants(g, {"a": (-1.0, 2.0), "b": (0.0, 5.0), "c": (-0.5, 4.0)}, set())
    assert quants["a"] == quants["b"] == quants["c"]
    assert quants["c"].scale[0] == pytest.approx(6.0 / 255)


def test_fixed_output_quantization_propagates_through_views(test_ops):
    g = _chain_graph(("_TestFixed", ("a",), "b"), ("Reshape", ("b",), "c"))
    quants = activation_quants(g, {"a": (-8.0, 8.0), "b": (0.0, 1.0), "c": (0.0, 1.0)}, set())
    assert quants["b"].scale == quants["c"].scale == (1.0 / 256.0,)
    assert quants["b"].zero_point == quants["c"].zero_point == (-128,)
    assert quants["a"].scale[0] == pytest.approx(16.0 / 255)


def test_conflicting_fixed_quantizations_are_refused(test_ops, monkeypatch):
    class _OtherFixed(Op):
        name = "_TestOtherFixed"
        fixed_output_quant = (1.0 / 128.0, 0)
    monkeypatch.setitem(REGISTRY, _OtherFixed.name, _OtherFixed())
    g = _chain_graph(("_TestFixed", ("a",), "b"), ("_TestOtherFixed", ("a",), "c"),
                     ("_TestKeepAll", ("b", "c"), "d"))
    with pytest.raises(UnsupportedError, match="fixed output"):
        activation_quants(g, {}, set())


def test_convert_quantizes_other_float_constants_per_tensor(test_ops):
    g = _chain_graph(("_TestKeepAll", ("a", "k"), "c"))
    k = Tensor("k", (1, 4), "float32", data=np.float32([[0.5, -1.0, 2.0, 0.0]]))
    g = g.replace(tensors=[k], inputs=["a"])
    q = convert(g, {"a": (-1.0, 1.0), "c": (-1.0, 2.0)})
    kq = q.tensor("k")
    assert kq.dtype == "int8" and kq.is_const and kq.quant == q.tensor("a").quant
    np.testing.assert_allclose(dequantize(kq.data, kq.quant.scale[0], kq.quant.zero_point[0]),
                               k.data, atol=kq.quant.scale[0] / 2 + 1e-7)


def _float_fc_tflite(tmp_path, rng):
    b = TFLiteBuilder()
    x = b.tensor("x", (1, 10), "float32")
    w = b.tensor("w", (3, 10), "float32", data=rng.standard_normal((3, 10)))
    bias = b.tensor("b", (3,), "float32", data=rng.standard_normal(3))
    y = b.tensor("y", (1, 3), "float32")
    b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions", FusedActivationFunction=0)
    path = tmp_path / "fc_float.tflite"
    path.write_bytes(b.build([x], [y]))
    return path


def test_compile_float_model_to_int8(tmp_path):
    rng = np.random.default_rng(4)
    path = _float_fc_tflite(tmp_path, rng)
    with pytest.raises(UsageError, match="--calib"):
        compile_model(path, dtype="int8")
    compiled = compile_model(path, dtype="int8", calib=rng.standard_normal((16, 1, 10)))
    assert compiled.dtype == "int8"
    report = write(compiled, tmp_path / "out", "host")
    on_disk = json.loads((tmp_path / "out" / "report.json").read_text())
    for io in (*report["inputs"], *report["outputs"], *on_disk["inputs"], *on_disk["outputs"]):
        assert io["dtype"] == "int8" and io["scale"] > 0 and -128 <= io["zero_point"] <= 127
    with pytest.warns(CalibrationWarning):
        assert compile_model(path, dtype="int8", calib="random").dtype == "int8"
