"""The compile job: model file -> graph -> passes -> (quantization) -> C library folder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .codegen import lower_model, write_library
from .codegen.lower import ModelCode
from .errors import UnsupportedError, UsageError
from .frontends import load_model
from .ir import Graph
from .passes import run_pipeline
from .plan.planner import PlanOptions
from .quant.ternary import INNER, detect_int8, ternarize_graph
from .targets.budget import arena_budget
from .train.plan import build_plan
from .train.spec import TrainSpec
from .targets.cores import get_core
from .validate import validate_graph

DTYPES = ("int8", "float32", "ternary")
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


def graph_dtype(graph: Graph) -> str:
    """int8 when any op computes on quantized tensors, else float32."""
    kinds = {graph.tensor(n.outputs[0]).dtype for n in graph.nodes}
    return "int8" if "int8" in kinds else "float32"


def compile_model(model_path: str | Path, *, name: str | None = None, target: str = "host",
                  dtype: str | None = None, calib=None, calib_method: str = "minmax",
                  calib_percentile: float = 99.99, input_shapes=None,
                  progress: bool = False, io: str = "caller", optimize: str = "balanced",
                  patch: str | None = None, patch_overhead: float = 0.15,
                  sram: int | None = None, ternary_layers: str = INNER,
                  ternary_scale: str = "median", train: TrainSpec | None = None,
                  train_sram: int = 256 * 1024, train_data: str | None = None) -> Compiled:
    """`io`: "caller" (inputs and outputs in the caller's buffers) or "arena" (planned inside
    the arena, their bytes reused once dead, as TFLite Micro does). `optimize`, `patch` and
    `patch_overhead`: the memory planner's (tinyml/plan/planner.py); `sram`: a RAM budget in
    bytes (arena + inputs and outputs outside it + estimated stack), which the planner tries
    to meet (with patches when needed); whether it did is for the caller to check.
    `dtype` "ternary": int8 with the weights of `ternary_layers` ternary (--ternary-layers,
    tinyml/quant/ternary.py), scaled by `ternary_scale`. Whatever the dtype, int8 weights
    that already take at most three values per output channel compile as ternary.
    `train`: what the generated training step updates (--train, tinyml/train/spec.py);
    with `sparse` alone, the subset is chosen under `train_sram` bytes of RAM, by measured
    contributions on `train_data` (an .npz path) or by a proxy (tinyml/train/select.py)."""
    core = get_core(target)
    name = name or default_name(model_path)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise UsageError(f"--name {name!r} is not a C identifier")
    if name.lower().startswith(RESERVED_PREFIX):
        raise UsageError(f"--name {name!r}: names starting with {RESERVED_PREFIX!r} belong to the "
                         "kernel library")
    if dtype is not None and dtype not in DTYPES:
        raise UsageError(f"--dtype must be one of {', '.join(DTYPES)}")
    graph = load_model(model_path, input_shapes)
    validate_graph(graph, supported=False)   # before any pass computes on what the file says
    graph = run_pipeline(graph)
    validate_graph(graph)
    native = graph_dtype(graph)
    if dtype in ("int8", "ternary") and native == "float32":
        from .quant import quantize_graph
        if dtype == "ternary":
            graph = ternarize_graph(graph, ternary_layers, ternary_scale)
        graph = quantize_graph(graph, calib, progress=progress, method=calib_method,
                               percentile=calib_percentile)
    elif dtype == "float32" and native == "int8":
        raise UnsupportedError("the model is already quantized to int8; compile it with --dtype int8",
                               model=str(model_path))
    elif dtype == "ternary":
        raise UnsupportedError("the model is already quantized to int8: --dtype ternary "
                               "quantizes a float model (int8 weights that are ternary already "
                               "compile as such with --dtype int8)", model=str(model_path))
    if graph_dtype(graph) == "int8":
        graph = detect_int8(graph)
        validate_graph(graph)
    if io not in ("caller", "arena"):
        raise UsageError(f"--io must be caller or arena, not {io!r}")
    budget = None
    if sram is not None:
        outside = 0 if io == "arena" else sum(graph.tensor(t).nbytes
                                              for t in (*graph.inputs, *graph.outputs))
        budget = arena_budget(sram, outside)
    options = PlanOptions(optimize=optimize, patch=patch, patch_overhead=patch_overhead,
                          arena_budget=budget)
    train_plan = None
    if train is not None:
        if io == "arena" or patch not in (None, "off"):
            raise UsageError("--train runs layer by layer with the inputs and outputs in the "
                             "caller's buffers: drop --io arena and --patch")
        if train.auto:
            train = _choose_sparse(graph, name, core, options, train, train_sram, train_data)
        train_plan = build_plan(graph, train)
        graph = train_plan.graph
    return Compiled(graph, lower_model(graph, name, core, io_in_arena=io == "arena",
                                       options=options, train=train_plan), graph_dtype(graph))


def _choose_sparse(graph: Graph, name: str, core, options: PlanOptions, spec: TrainSpec,
                   train_sram: int, train_data: str | None) -> TrainSpec:
    """`--train sparse`: the subset of most contribution per byte that fits `train_sram`
    with the input and output buffers and the stack (tinyml/train/select.py)."""
    from .targets.budget import STACK_BYTES
    from .train import select
    arena = lower_model(graph, name, core, options=options).plan.size
    io = sum(graph.tensor(t).nbytes for t in (*graph.inputs, *graph.outputs))
    if train_data:
        x, y = select.read_train_data(train_data, graph)
        contributions = select.measured_contributions(graph, x, y, select.MEASURE_LR, spec.qas)
    else:
        contributions = select.proxy_contributions(graph)
    return select.choose(graph, train_sram - io - STACK_BYTES - select.APPLICATION_BYTES, arena,
                         contributions, spec.qas)


def write(compiled: Compiled, outdir: str | Path, target: str, sram: int | None = None) -> dict:
    """`sram`: the budget compiled for, kept in report.json: firmware builds link with it."""
    return write_library(compiled.code, Path(outdir), {"target": target, "dtype": compiled.dtype,
                                                         "sram_budget_bytes": sram})
