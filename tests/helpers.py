"""Shared test machinery: compile a graph to C, run it on the host, run TFLite Micro."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from tinyml.codegen import lower_model, write_library
from tinyml.harness.host import run_host
from tinyml.ir import Graph, check_graph
from tinyml.ref import run as ref_run


def run_c(graph: Graph, inputs: list[np.ndarray], outdir: Path, *, sanitize: bool = True,
          name: str = "model") -> list[np.ndarray]:
    """Generate C for `graph`, build it with the host compiler and run a batch ([N, ...])."""
    check_graph(graph)
    write_library(lower_model(graph, name), outdir)
    return run_host(outdir, inputs, sanitize=sanitize)


def run_ref(graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The numpy reference over a batch ([N, ...] per input)."""
    per_sample = [ref_run(graph, [x[n] for x in inputs]) for n in range(inputs[0].shape[0])]
    return [np.stack([s[i] for s in per_sample]) for i in range(len(graph.outputs))]


def assert_c_matches_ref(graph: Graph, inputs: list[np.ndarray], outdir: Path, *,
                         atol: float = 0.0, sanitize: bool = True) -> None:
    got = run_c(graph, inputs, outdir, sanitize=sanitize)
    want = run_ref(graph, inputs)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        if atol == 0.0:
            np.testing.assert_array_equal(g, w)
        else:
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=atol)


def random_inputs(graph: Graph, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    out = []
    for name in graph.inputs:
        t = graph.tensor(name)
        if t.dtype == "float32":
            out.append(rng.standard_normal((count, *t.shape)).astype(np.float32))
        else:
            info = np.iinfo(t.dtype)
            out.append(rng.integers(info.min, info.max + 1, (count, *t.shape)).astype(t.dtype))
    return out


@contextlib.contextmanager
def _capture_fd2():
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            yield tmp
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def tflm_interpreter(model: bytes | Path, arena_size: int = 2_000_000):
    from tflite_micro import runtime
    if isinstance(model, (bytes, bytearray)):
        return runtime.Interpreter.from_bytes(bytes(model), arena_size=arena_size)
    return runtime.Interpreter.from_file(str(model), arena_size=arena_size)


def tflm_run(model: bytes | Path, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """TFLite Micro over a batch ([N, ...] per input); returns [N, ...] per output."""
    interp = tflm_interpreter(model)
    results: list[list[np.ndarray]] = []
    for n in range(inputs[0].shape[0]):
        for i, x in enumerate(inputs):
            interp.set_input(x[n], i)
        interp.invoke()
        k = 0
        outs = []
        while True:
            try:
                outs.append(np.array(interp.get_output(k)))
            except Exception:
                break
            k += 1
        results.append(outs)
    return [np.stack([r[i] for r in results]) for i in range(len(results[0]))]


def tflm_arena_bytes(model: bytes | Path) -> int:
    """TFLite Micro's arena total, parsed from print_allocations() on the C-level stderr."""
    interp = tflm_interpreter(model)
    with _capture_fd2() as tmp:
        interp.print_allocations()
        tmp.seek(0)
        text = tmp.read().decode(errors="replace")
    match = re.search(r"Arena allocation total (\d+) bytes", text)
    if not match:
        raise RuntimeError("print_allocations() printed no arena total")
    return int(match.group(1))
