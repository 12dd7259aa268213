"""Shared test machinery: compile a graph to C, run it on the host, run TFLite Micro."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyml.codegen import lower_model, write_library
from tinyml.harness.host import run_host
from tinyml.ir import Graph, check_graph
from tinyml.ref import run as ref_run
from tinyml.references import tflm_arena_bytes, tflm_interpreter, tflm_run  # noqa: F401


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
