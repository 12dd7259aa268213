"""Names from a model file never become code: the same models with hostile and with plain
tensor and node names compile to the same C apart from comments, no hostile byte sequence
appears in any generated file, and both run alike on the host (under ASan/UBSan) and in QEMU."""

import json
import re

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from tflite_builder import TFLiteBuilder
from tinyml.cli import main
from tinyml.harness.host import run_host

HOSTILE = [
    'a*/ int pwned = system("echo pwned"); /*',
    "line one\nline two",
    "splice\\\nnext",
    "#include <stdio.h>",
    "nul\x00byte",
    "??=trigraph??/",
    "// rest of line",
    "x" * 10_000,
]
#: bytes that would end a C comment early or splice lines: never inside a comment
COMMENT_BREAKERS = [b"*/", b"/*", b"\\\n", b"??", b"\x00"]
#: and none of a hostile name's code outside comments
DANGEROUS = [*COMMENT_BREAKERS, b"system(", b"pwned", b"#include <stdio.h>", b"x" * 200]


def tflite_model(path, names):
    b = TFLiteBuilder()
    x = b.tensor(names[0], (1, 4), "int8", scale=0.1, zero_point=0)
    w = b.tensor(names[1], (3, 4), "int8", data=np.arange(12).reshape(3, 4) - 6, scale=0.02)
    bias = b.tensor(names[2], (3,), "int32", data=[10, -20, 30])
    h = b.tensor(names[3], (1, 3), "int8", scale=0.05, zero_point=-3)
    y = b.tensor(names[4], (1, 3), "int8", scale=0.05, zero_point=-3)
    b.op("FULLY_CONNECTED", [x, w, bias], [h])
    b.op("RELU", [h], [y])
    path.write_bytes(b.build([x], [y]))
    return path


def onnx_model(path, names):
    x = helper.make_tensor_value_info(names[0], TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info(names[4], TensorProto.FLOAT, [1, 3])
    w = helper.make_tensor(names[1], TensorProto.FLOAT, [4, 3],
                           np.linspace(-1, 1, 12, dtype=np.float32))
    b = helper.make_tensor(names[2], TensorProto.FLOAT, [3], np.array([0.1, -0.2, 0.3], np.float32))
    nodes = [helper.make_node("MatMul", [names[0], names[1]], [names[3]], name=names[5]),
             helper.make_node("Add", [names[3], names[2]], [names[6]], name=names[6] + "n"),
             helper.make_node("Relu", [names[6]], [names[4]], name=names[7])]
    g = helper.make_graph(nodes, "g", [x], [y], [w, b])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def hostile_names(count):
    """`count` distinct hostile names (an index keeps them apart)."""
    return [f"{HOSTILE[i % len(HOSTILE)]}{i}" for i in range(count)]


def plain_names(count):
    return [f"t{i}" for i in range(count)]


def compile_to(model, out):
    assert main(["compile", str(model), "--name", "m", "-o", str(out)]) == 0
    return out


def without_comments(text: str) -> str:
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


@pytest.mark.parametrize("frontend", ["tflite", "onnx"])
def test_hostile_names_change_only_comments(frontend, tmp_path):
    build = tflite_model if frontend == "tflite" else onnx_model
    suffix = "." + frontend
    hostile = compile_to(build(tmp_path / f"hostile{suffix}", hostile_names(8)), tmp_path / "h")
    plain = compile_to(build(tmp_path / f"plain{suffix}", plain_names(8)), tmp_path / "p")

    files = sorted(str(p.relative_to(hostile)) for p in hostile.rglob("*") if p.is_file())
    assert files == sorted(str(p.relative_to(plain)) for p in plain.rglob("*") if p.is_file())
    for name in files:
        raw = (hostile / name).read_bytes()
        assert all(c in b"\n" or 0x20 <= c < 0x7F for c in raw), f"{name}: not printable ASCII"
        if name.startswith("tm_"):     # the kernel library, copied as it is
            assert raw == (plain / name).read_bytes(), name
        elif name.endswith((".c", ".h")):
            assert not any(seq in without_comments(raw.decode()).encode() for seq in DANGEROUS)
            for comment in re.findall(r"/\*(.*?)\*/", raw.decode(), flags=re.S):
                assert not any(seq in comment.encode() for seq in COMMENT_BREAKERS), comment
            assert without_comments(raw.decode()) == without_comments((plain / name).read_text())
        elif name == "report.json":
            report = json.loads(raw)
            assert {layer["name"] for layer in report["layers"]} <= set(hostile_names(8))
        else:
            assert (hostile / name).read_bytes() == (plain / name).read_bytes(), name

    x = np.random.default_rng(0).integers(-128, 128, (5, 1, 4)).astype(
        np.int8 if frontend == "tflite" else np.float32)
    got = run_host(hostile, [x], sanitize=True)
    want = run_host(plain, [x], sanitize=True)
    np.testing.assert_array_equal(got[0], want[0])


def test_invalid_utf8_names(tmp_path, capsys):
    names = [b"\xff\xfe" + bytes([65 + i]) for i in range(5)]
    model = tflite_model(tmp_path / "bytes.tflite", names)
    out = compile_to(model, tmp_path / "out")
    capsys.readouterr()
    assert all(b"\xff" not in p.read_bytes() for p in out.rglob("*") if p.is_file())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "staging left behind"


def test_messages_with_hostile_names_are_one_line(tmp_path, capsys):
    b = TFLiteBuilder()
    x = b.tensor("in\nput", (1, 4), "float32")
    y = b.tensor("out\r\x1b[2Jput", (1, 4), "float32")
    b.op("SIN", [x], [y])
    (tmp_path / "sin.tflite").write_bytes(b.build([x], [y]))
    assert main(["compile", str(tmp_path / "sin.tflite"), "-o", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err and "\r" not in err, repr(err)
    assert "SIN" in err and "\\x1b" in err


@pytest.mark.emulator
def test_hostile_names_build_and_run_in_qemu(tmp_path, capsys):
    out = compile_to(tflite_model(tmp_path / "hostile.tflite", hostile_names(5)), tmp_path / "h")
    x = np.random.default_rng(1).integers(-128, 128, (3, 1, 4)).astype(np.int8)
    np.save(tmp_path / "x.npy", x)
    rc = main(["run", str(out), "--board", "mps2-an386", "--input", str(tmp_path / "x.npy"),
               "--output", str(tmp_path / "y.npy")])
    assert rc == 0, capsys.readouterr().err
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), run_host(out, [x])[0])


def test_a_tensor_named_like_a_scratch_buffer_gets_its_own_bytes(tmp_path):
    """The planner names a layer's scratch `<node>#scratch`; a model may name a tensor so,
    and the two buffers must still be two (else the overlap checker would refuse the plan, or
    worse)."""
    import dataclasses

    from helpers import assert_c_matches_ref, random_inputs
    from net_builder import Net
    from tinyml.codegen import lower_model
    from tinyml.ir import Graph
    from tinyml.targets.cores import CORES
    net = Net((1, 8, 8, 4), "int8", 1)
    a = net.conv(net.input, 8)
    g = net.graph(net.relu(net.conv(a, 8)))
    clash = g.nodes[1].name + "#scratch"   # the second conv's scratch buffer's name

    def rename(names):
        return tuple(clash if n == a else n for n in names)
    g = Graph.build("clash", [dataclasses.replace(n, inputs=rename(n.inputs), outputs=rename(n.outputs))
                              for n in g.nodes],
                    [t.with_(name=clash) if t.name == a else t for t in g.tensors.values()],
                    g.inputs, g.outputs)
    code = lower_model(g, "m", CORES["cortex-m4"])
    names = [r.name for r in code.requests]
    assert clash in names and len(set(names)) == len(names)
    assert_c_matches_ref(g, random_inputs(g, 2, np.random.default_rng(0)), tmp_path)
