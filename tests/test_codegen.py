"""The generated library: API shape, no mutable globals, report keys, atomic writes."""

import json
import shutil
import subprocess

import numpy as np
import pytest

from test_op_fully_connected import fc_graph
from tinyml.codegen import lower_model, write_library
from tinyml.codegen.render import c_float

REPORT_KEYS = {"target", "model", "dtype", "macs", "params", "flash_bytes", "arena_bytes",
               "arena_lower_bound_bytes", "peak_sram_bytes", "patch_plan", "layers"}


def _two_layer_library(tmp_path, dtype="int8"):
    from tinyml.ir import Graph, Node, Quant
    rng = np.random.default_rng(0)
    g1 = fc_graph(rng, 1, 8, 6, dtype, (0.0, 6.0))
    g2 = fc_graph(rng, 1, 6, 3, dtype, (-np.inf, np.inf))
    rename = {"x": "h", "w": "w2", "b": "b2", "y": "out"}
    tensors = list(g1.tensors.values()) + [t.with_(name=rename[t.name]) for t in g2.tensors.values()
                                           if t.name != "x"]
    tensors = [t for t in tensors if t.name != "y"] + [g1.tensor("y").with_(name="h")]
    if dtype == "int8":
        tensors = [t.with_(quant=Quant.of(0.1, 0)) if t.name == "h" else t for t in tensors]
    nodes = [Node("fc1", "FullyConnected", ("x", "w", "b"), ("h",), g1.nodes[0].attrs),
             Node("fc2", "FullyConnected", ("h", "w2", "b2"), ("out",), g2.nodes[0].attrs)]
    graph = Graph.build("two", nodes, tensors, ["x"], ["out"])
    out = tmp_path / "lib"
    write_library(lower_model(graph, "two"), out, {"target": "host", "dtype": dtype})
    return out


def test_header_api(tmp_path):
    lib = _two_layer_library(tmp_path)
    header = (lib / "two.h").read_text()
    for needle in ("#ifndef TWO_H", 'extern "C"', "#define TWO_ARENA_SIZE", "TWO_INPUT0_SCALE",
                   "TWO_OUTPUT0_ZERO_POINT", "int two_invoke(const int8_t *input, int8_t *output, uint8_t *arena);",
                   "int two_invoke_io(const void *const *inputs, void *const *outputs, uint8_t *arena);"):
        assert needle in header, needle
    from tinyml.resources import data_dir
    headers = {p.name for p in (data_dir("codegen") / "kernels").glob("tm_*.h")}
    kernels = {layer["kernel"] + ".c" for layer in json.loads((lib / "report.json").read_text())["layers"]}
    assert kernels and "tm_nn.h" in headers
    packages = {"library.json", "library.properties", "zephyr/module.yml", "zephyr/CMakeLists.txt",
                "zephyr/Kconfig"}   # docs/packages.md
    assert sorted(str(p.relative_to(lib)) for p in lib.rglob("*") if p.is_file()) == sorted(
        {"two.h", "two.c", "two.mk", "CMakeLists.txt", "report.json"} | packages | headers | kernels)


def test_no_mutable_globals_and_weights_are_const(tmp_path):
    lib = _two_layer_library(tmp_path)
    obj = tmp_path / "two.o"
    subprocess.run(["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-c", str(lib / "two.c"),
                    "-o", str(obj)], check=True)
    symbols = subprocess.run(["nm", str(obj)], capture_output=True, text=True, check=True).stdout
    kinds = {line.split()[-2] for line in symbols.splitlines() if len(line.split()) == 3}
    assert not kinds & {"D", "d", "B", "b", "C"}, symbols
    assert "r" in kinds or "R" in kinds


def test_report_has_the_design_keys(tmp_path):
    report = json.loads((_two_layer_library(tmp_path) / "report.json").read_text())
    assert REPORT_KEYS <= set(report)
    assert report["macs"] == 8 * 6 + 6 * 3
    assert [l["op"] for l in report["layers"]] == ["FullyConnected", "FullyConnected"]
    # h (6 bytes) is live at both layers, beside each layer's kernel scratch; each buffer
    # takes its size rounded up to the arena's 16-byte alignment
    scratch = max(layer["scratch_bytes"] for layer in report["layers"])
    assert report["arena_bytes"] >= report["arena_lower_bound_bytes"] == 16 + -(-scratch // 16) * 16
    live = [layer["live_bytes"] for layer in report["layers"]]
    assert max(live) == report["arena_lower_bound_bytes"] == live[report["peak_step"]]
    assert report["schedule_exact"] is True


def test_floats_are_exact_hex_literals():
    for v in (0.1, -3.5e-8, 1.0, 3.4028234663852886e38):
        text = c_float(v)
        assert float.fromhex(text.rstrip("f")) == float(np.float32(v))
    assert c_float(float("inf")) == "FLT_MAX" and c_float(float("nan")) == "NAN"


def test_cmake_builds_the_library(tmp_path):
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    lib = _two_layer_library(tmp_path, "float32")
    subprocess.run(["cmake", "-S", str(lib), "-B", str(tmp_path / "b")], check=True,
                   capture_output=True)
    subprocess.run(["cmake", "--build", str(tmp_path / "b")], check=True, capture_output=True)
    assert (tmp_path / "b" / "libtwo.a").is_file()


def test_make_fragment_builds(tmp_path):
    lib = _two_layer_library(tmp_path, "float32")
    (tmp_path / "app.mk").write_text(
        f"include {lib}/two.mk\n"
        "objs: $(TWO_SRCS)\n\t$(CC) $(TWO_INCLUDES) -std=c99 -Wall -Wextra -Werror -c $(TWO_SRCS)\n")
    subprocess.run(["make", "-s", "-f", str(tmp_path / "app.mk"), "objs"], cwd=tmp_path, check=True)
    assert (tmp_path / "two.o").exists()
