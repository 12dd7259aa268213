"""Region by region equals whole: one conv-like layer's chosen kernel computes its output
whole, then as a grid of rectangles (tinyml/kernels/regions.py), each from its own input
window with its own padding; both runs on the host under ASan/UBSan must agree exactly and
every element of the output must be written."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import jinja2
import numpy as np

from tinyml.codegen.lower import CTYPES
from tinyml.codegen.render import c_literal, c_values
from tinyml.ir import Graph
from tinyml.kernels import select
from tinyml.kernels.regions import grid, region_call
from tinyml.resources import data_dir
from tinyml.targets.cores import Core

KERNELS = data_dir("codegen") / "kernels"
FIXTURES = Path(__file__).parent / "kernel_fixtures"


def _render(graph: Graph, node_name: str, core: Core, cuts: tuple[int, int]):
    node = next(n for n in graph.nodes if n.name == node_name)
    call = select(graph, core)[node_name].call
    x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    consts, arrays = [], {}
    for a in call.args:
        if a.kind == "tensor" and graph.tensor(a.ref).is_const and a.ref not in arrays:
            arrays[a.ref] = f"t{len(arrays)}"
            t = graph.tensor(a.ref)
            consts.append({"symbol": arrays[a.ref], "ctype": CTYPES[t.dtype],
                           "count": t.data.size, "body": c_values(t.data)})
    for c in call.consts:
        consts.append({"symbol": f"k_{c.suffix}", "ctype": c.ctype, "count": c.values.size,
                       "body": c_values(c.values)})
    _, out_h, out_w, _ = y.shape
    whole = region_call(call.params, grid(out_h, out_w, 1, 1)[0])
    pieces = [region_call(call.params, r) for r in grid(out_h, out_w, *cuts)]

    def args(rc, index, target):
        out = []
        for a in call.args:
            if a.kind == "params":
                out.append(f"&params{index}")
            elif a.kind == "tensor" and a.ref == node.inputs[0]:
                out.append(f"input + {rc.input_offset}")
            elif a.kind == "tensor" and a.ref == node.outputs[0]:
                out.append(f"{target} + {rc.output_offset}")
            elif a.kind == "tensor":
                out.append(arrays[a.ref])
            elif a.kind == "const":
                out.append(f"k_{a.ref}")
            elif a.kind == "scratch":
                out.append("scratch")
            elif a.kind == "null":
                out.append("NULL")
            elif a.kind == "int":
                out.append(c_literal(a.value))
            else:
                raise AssertionError(f"argument kind {a.kind} in a region test")
        return ", ".join(out)

    calls = [{"params": whole.params, "args": args(whole, 0, "whole")}]
    calls += [{"params": rc.params, "args": args(rc, i + 1, "regions")}
              for i, rc in enumerate(pieces)]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(FIXTURES)),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["c_literal"] = c_literal
    source = env.get_template("region_main.c.j2").render(
        consts=consts, calls=calls, kernel=call.kernel, params_type=call.params_type,
        in_ctype=CTYPES[x.dtype], in_count=x.size, out_ctype=CTYPES[y.dtype], out_count=y.size,
        scratch_bytes=call.scratch_bytes)
    return call, source, x, y, len(pieces)


def assert_regions_match_whole(graph: Graph, node_name: str, core: Core, workdir: Path,
                               rng: np.random.Generator, cuts: tuple[int, int] = (2, 3)) -> str:
    """Returns the kernel that ran, so a test can also assert which variant it checked."""
    call, source, x, y, count = _render(graph, node_name, core, cuts)
    assert count > 1, "the grid must cut the output"
    main = workdir / "region_main.c"
    main.write_text(source)
    exe = workdir / "region_main"
    sources = [str(KERNELS / s) for s in call.sources]
    subprocess.run([os.environ.get("CC", "cc"), "-std=c11", "-O1", "-Wall", "-Wextra", "-Werror",
                    "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                    f"-I{KERNELS}", str(main), *sources, "-lm", "-o", str(exe)], check=True)
    dtype = np.dtype(x.dtype)
    if dtype.kind == "f":
        data = rng.standard_normal(x.shape).astype(dtype)
    else:
        info = np.iinfo(dtype)
        data = rng.integers(info.min, info.max + 1, x.shape).astype(dtype)
    (workdir / "in.bin").write_bytes(data.tobytes())
    subprocess.run([str(exe), str(workdir / "in.bin"), str(workdir / "out.bin")], check=True)
    out = np.frombuffer((workdir / "out.bin").read_bytes(), dtype=np.dtype(y.dtype))
    whole, regions = out[:y.size], out[y.size:]
    np.testing.assert_array_equal(regions, whole)
    return call.kernel
