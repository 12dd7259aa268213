"""The compile job: model file -> graph -> passes -> (quantization) -> C library folder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .codegen import lower_model, write_library
from .codegen.lower import ModelCode
from .errors import UnsupportedError, UsageError
from .frontends import load_model
from .ir import Graph, check_graph
from .passes import run_pipeline
from .targets.cores import get_core

DTYPES = ("int8", "float32")
RESERVED_PREFIX = "tm_"


@dataclass(frozen=True)
class Compiled:
    graph: Graph
    code: ModelCode
    dtype: str


def default_name(model_path: str | Path) -> str:
    stem = Path(model_path).stem if Path(model_path).suffix else Path(model_path).name
    name = re.sub(r"[^0-9a-zA-Z_]", "_", stem).lower().strip("_") or "model"
    if name[0].isdigit() or name.startswith(RESERVED_PREFIX):
        name = "model_" + name
    return name


def check_supported(graph: Graph) -> None:
    """Every op known and on a dtype it computes on; all problems reported at once."""
    from .ops import REGISTRY
    problems = []
    for tensor in graph.tensors.values():
        if tensor.dtype in ("int8", "uint8", "int16") and tensor.quant is None:
            problems.append(f"{tensor.dtype} tensor {tensor.name!r} without quantization "
                            "parameters")
    for node in graph.nodes:
        op = REGISTRY.get(node.op)
        dtype = graph.tensor(node.inputs[0]).dtype if node.inputs and node.inputs[0] else None
        if op is None:
            problems.append(f"{node.op} (node {node.name!r})")
        elif dtype is not None and dtype not in op.dtypes:
            problems.append(f"{node.op} on {dtype} (node {node.name!r})")
    if problems:
        raise UnsupportedError("unsupported: " + ", ".join(problems), model=graph.source)


def graph_dtype(graph: Graph) -> str:
    """int8 when any op computes on quantized tensors, else float32."""
    kinds = {graph.tensor(n.outputs[0]).dtype for n in graph.nodes}
    return "int8" if "int8" in kinds else "float32"


def compile_model(model_path: str | Path, *, name: str | None = None, target: str = "host",
                  dtype: str | None = None, calib=None, calib_method: str = "minmax",
                  calib_percentile: float = 99.99, input_shapes=None,
                  progress: bool = False) -> Compiled:
    get_core(target)
    name = name or default_name(model_path)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise UsageError(f"--name {name!r} is not a C identifier")
    if name.lower().startswith(RESERVED_PREFIX):
        raise UsageError(f"--name {name!r}: names starting with {RESERVED_PREFIX!r} belong to the "
                         "kernel library")
    if dtype is not None and dtype not in DTYPES:
        raise UsageError(f"--dtype must be one of {', '.join(DTYPES)}")
    graph = run_pipeline(load_model(model_path, input_shapes))
    check_graph(graph)
    check_supported(graph)
    native = graph_dtype(graph)
    if dtype == "int8" and native == "float32":
        from .quant import quantize_graph
        graph = quantize_graph(graph, calib, progress=progress, method=calib_method,
                               percentile=calib_percentile)
        check_graph(graph)
    elif dtype == "float32" and native == "int8":
        raise UnsupportedError("the model is already quantized to int8; compile it with --dtype int8",
                               model=str(model_path))
    return Compiled(graph, lower_model(graph, name), dtype or native)


def write(compiled: Compiled, outdir: str | Path, target: str) -> dict:
    return write_library(compiled.code, Path(outdir), {"target": target, "dtype": compiled.dtype})
