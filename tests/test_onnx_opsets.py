"""ONNX opsets: every opset the installed onnx defines is read; an op whose schema version in
force has no converter is refused by op and version; Clip with min > max as ONNX defines it."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper
from onnx.reference import ReferenceEvaluator

from helpers import random_inputs, run_c, run_ref
from onnx_models import make_model, ort_run
from tinyml.compiler import compile_model
from tinyml.errors import UnsupportedError
from tinyml.frontends import load_model
from tinyml.passes import run_pipeline

RNG = np.random.default_rng(3)
NEWEST = onnx.defs.onnx_opset_version()


def node(op, inputs, outputs=("y",), **attrs):
    return helper.make_node(op, list(inputs), list(outputs), **attrs)


def _cnn(path, opset: int):
    nodes = [node("Conv", "xw", ["c"], pads=[1, 1, 1, 1]), node("Relu", ["c"], ["r"]),
             node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             node("Flatten", ["p"], ["f"]), node("Gemm", ["f", "g", "b"], ["s"], transB=1),
             node("Softmax", ["s"], ["y"], axis=1)]
    inits = {"w": RNG.standard_normal((4, 2, 3, 3)).astype(np.float32),
             "g": RNG.standard_normal((3, 16)).astype(np.float32),
             "b": RNG.standard_normal(3).astype(np.float32)}
    return make_model(path, nodes, {"x": (1, 2, 4, 4)}, ["y"], inits, opset=opset)


@pytest.mark.parametrize("opset", range(7, NEWEST + 1))
def test_every_opset_reads_and_matches_onnx_reference(opset, tmp_path):
    path = _cnn(tmp_path / f"cnn{opset}.onnx", opset)
    graph = run_pipeline(load_model(path), check=True)
    x = random_inputs(graph, 2, RNG)
    evaluator = ReferenceEvaluator(str(path))
    want = np.stack([evaluator.run(None, {"x": x[0][k]})[0] for k in range(2)])
    np.testing.assert_allclose(run_ref(graph, x)[0], want, rtol=1e-5, atol=1e-6)


def test_newest_opset_compiles_to_c(tmp_path):
    path = _cnn(tmp_path / "cnn.onnx", NEWEST)
    graph = compile_model(path).graph
    x = random_inputs(graph, 3, RNG)
    np.testing.assert_allclose(run_c(graph, x, tmp_path / "c", sanitize=False)[0],
                               run_ref(graph, x)[0], rtol=1e-5, atol=1e-6)


def test_unimplemented_schema_versions_named_at_once(tmp_path):
    """Pad-1 (its `paddings` attribute) and BatchNormalization-6 (`is_test`) are versions no
    converter declares; both are listed with their node."""
    nodes = [node("Pad", "x", ["p"], paddings=[0, 0, 1, 1, 0, 0, 1, 1], name="pad"),
             node("BatchNormalization", ["p", "s", "b", "m", "v"], name="bn", is_test=1)]
    ones = np.ones(2, np.float32)
    path = make_model(tmp_path / "old.onnx", nodes, {"x": (1, 2, 3, 3)}, ["y"],
                      {"s": ones, "b": ones, "m": ones, "v": ones}, opset=1)
    with pytest.raises(UnsupportedError, match=r"Pad-1 is not supported \(node 'pad'\), "
                                               r"BatchNormalization-1 is not supported "
                                               r"\(node 'bn'\)"):
        load_model(path)


def test_op_missing_from_the_opset_named(tmp_path):
    path = make_model(tmp_path / "hs.onnx", [node("HardSwish", "x", name="hs")], {"x": (1, 4)},
                      ["y"], opset=13)
    with pytest.raises(UnsupportedError, match=r"HardSwish \(node 'hs'\): not an op of ONNX "
                                               r"opset 13"):
        load_model(path)


def test_opset_newer_than_onnx_refused(tmp_path):
    path = make_model(tmp_path / "new.onnx", [node("Relu", "x")], {"x": (1, 4)}, ["y"],
                      opset=NEWEST + 1)
    with pytest.raises(UnsupportedError, match=f"opset {NEWEST + 1} is not supported .*1-{NEWEST}"):
        load_model(path)


@pytest.mark.parametrize("dtype", ["float32", "int8"])
def test_clip_min_above_max_gives_max_as_onnxruntime(dtype, tmp_path):
    """ONNX Clip is min(max(x, min), max): with min > max every output is max."""
    nodes = [node("Clip", ["x", "lo", "hi"])]
    inits = {"lo": np.float32(1.0), "hi": np.float32(-0.5)}
    if dtype == "int8":
        nodes = [node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
                 node("DequantizeLinear", ["xq", "s", "z"], ["xd"]),
                 node("Clip", ["xd", "lo", "hi"], ["c"]),
                 node("QuantizeLinear", ["c", "s", "z"], ["cq"]),
                 node("DequantizeLinear", ["cq", "s", "z"])]
        inits |= {"s": np.float32(0.05), "z": np.int8(3)}
    path = make_model(tmp_path / "clip.onnx", nodes, {"x": (2, 5, 7)}, ["y"], inits)
    graph = compile_model(path).graph
    assert any(n.op == "Clip" and graph.tensor(n.outputs[0]).dtype == dtype
               for n in graph.nodes)
    x = [RNG.uniform(-3, 3, (8, 2, 5, 7)).astype(np.float32)]
    got = run_c(graph, x, tmp_path / "c", sanitize=True)[0]
    want = ort_run(path, x)[0]
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(want, np.full_like(want, -0.5))


def test_converters_declare_real_schema_versions_up_to_the_newest():
    """Each converter's versions are since_versions of its op in onnx's schemas, and the
    newest one is among them: an onnx upgrade that adds a version makes this fail until the
    converter is checked against the new schema."""
    from tinyml.frontends.onnx import CONVERTERS
    for op, conv in CONVERTERS.items():
        history = {s.since_version for s in onnx.defs.get_all_schemas_with_history()
                   if s.name == op and s.domain == ""}
        assert conv.versions <= history, (op, sorted(conv.versions - history))
        assert max(history) in conv.versions, (op, max(history))
