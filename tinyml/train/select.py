"""`--train sparse` with no config: the subset to update, chosen as Tiny Training Engine
chooses it, by contribution per byte of memory under the RAM budget.

Candidates: the bias of each layer with weights, and its weights at 1/8, 1/4, 1/2 or all of
its output channels. A greedy adds, one at a time, the candidate of most contribution per
byte of training memory it adds (state, saved tensors and gradients, each candidate priced
with the rest of the subset, since the backward's buffers depend on the earliest trained
layer), among those that keep the whole within the budget, until none fits or helps.

Contribution:
- measured (`--train-data`, labelled samples of the new domain): each layer's bias alone,
  and each layer's weights alone, are fine-tuned with the numpy reference of the step for one
  pass over the samples; the drop of their mean loss is the candidate's contribution (weights
  on a fraction of the channels: that fraction of it). Only the last MEASURED layers are
  measured (the reference runs the whole forward per step); earlier ones contribute nothing.
- otherwise a proxy, from what Tiny Training Engine measured on MobileNets: updates count
  more the nearer the layer is to the loss (position (i + 1) / n), biases are the best
  value per byte, and a depthwise layer's weights bring a tenth of a pointwise or fully
  connected layer's; weights on a fraction of the channels bring that fraction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UsageError
from ..ir import Graph
from ..plan.arena import aligned, lower_bound
from . import reference as ref
from .lower import ALIGN, gradient_requests, saved_layout, state_layout
from .plan import build_plan, trainable_nodes
from .spec import TrainSpec

FRACTIONS = (0.125, 0.25, 0.5, 1.0)
MEASURED = 8          # layers measured with --train-data, from the last
MEASURE_SAMPLES = 32
MEASURE_LR = 0.01
DEPTHWISE_WEIGHT = 0.1
#: RAM the greedy leaves to the application's own static data (the eval firmware's frame
#: buffers and counters take about 2.3 KB besides the model's)
APPLICATION_BYTES = 4 * 1024


def read_train_data(path: str, graph: Graph) -> tuple[np.ndarray, np.ndarray]:
    """--train-data: an .npz of samples x (float, quantized with the model's input scale, or
    int8) and labels y; (int8 samples of the input's shape, labels)."""
    from ..numerics import quantize
    where = f"--train-data {path}"
    try:
        with np.load(path) as data:
            x, y = np.asarray(data["x"]), np.asarray(data["y"])
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(f"{where}: not an .npz with samples x and labels y ({exc})") from None
    spec = graph.tensor(graph.inputs[0])
    if x.size % spec.size or x.size == 0 or y.size != x.size // spec.size:
        raise UsageError(f"{where}: x of shape {list(x.shape)} is not samples of the model's "
                         f"{list(spec.shape)} with one label each in y")
    x = x.reshape(-1, *spec.shape)
    if x.dtype.kind == "f":
        if not np.isfinite(x).all():
            raise UsageError(f"{where}: x holds NaN or infinite values")
        x = quantize(x, spec.quant.scale[0], spec.quant.zero_point[0])
    elif x.dtype != np.int8:
        raise UsageError(f"{where}: x is {x.dtype}; give float or int8 samples")
    classes = graph.tensor(graph.outputs[0]).size
    y = y.reshape(-1)
    if y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= classes:
        raise UsageError(f"{where}: labels y must be integers in [0, {classes})")
    return x.astype(np.int8), y.astype(np.int64)


@dataclass(frozen=True)
class Candidate:
    layer: str
    role: str          # bias | weights
    fraction: float


def _spec(selection: dict[str, dict[str, float]], qas: bool) -> TrainSpec:
    biases = tuple(l for l, r in selection.items() if "bias" in r)
    weights = tuple((l, r["weights"]) for l, r in selection.items() if "weights" in r)
    return TrainSpec("sparse", bias_layers=biases, weights=weights, qas=qas)


def memory_bytes(graph: Graph, spec: TrainSpec, arena_size: int) -> int:
    """State + train arena of a subset, with the gradient buffers at their lower bound (the
    planner reaches it or comes close): fast enough for the greedy's many tries."""
    plan = build_plan(graph, spec)
    grads = lower_bound(gradient_requests(plan), ALIGN)
    base = aligned(max(arena_size, grads), ALIGN)
    return state_layout(plan, lambda t: "")[1] + saved_layout(plan, base)[2]


def proxy_contributions(graph: Graph) -> dict[tuple[str, str], float]:
    nodes = trainable_nodes(graph)
    out = {}
    for i, node in enumerate(nodes):
        position = (i + 1) / len(nodes)
        out[(node.name, "bias")] = position
        out[(node.name, "weights")] = position * (DEPTHWISE_WEIGHT if node.op == "DepthwiseConv2D"
                                                  else 1.0)
    return out


def measured_contributions(graph: Graph, inputs: np.ndarray, labels: np.ndarray, lr: float,
                           qas: bool = True) -> dict[tuple[str, str], float]:
    """The drop of the mean loss over the samples when one candidate alone is fine-tuned for
    one pass over them (fraction 1)."""
    inputs, labels = inputs[:MEASURE_SAMPLES], labels[:MEASURE_SAMPLES]
    nodes = trainable_nodes(graph)
    out = {(n.name, r): 0.0 for n in nodes for r in ("bias", "weights")}
    before = None
    for node in nodes[-MEASURED:]:
        for role in ("bias", "weights"):
            spec = (TrainSpec("sparse", bias_layers=(node.name,), qas=qas) if role == "bias"
                    else TrainSpec("sparse", weights=((node.name, 1.0),), qas=qas))
            plan = build_plan(graph, spec)
            state = ref.init_state(plan)
            if before is None:   # the model's own loss: the same whatever the candidate
                before = np.mean([ref.loss(plan, state, x, y) for x, y in zip(inputs, labels)])
            for x, y in zip(inputs, labels):
                state = ref.train_step(plan, state, x, int(y), lr).state
            after = np.mean([ref.loss(plan, state, x, y) for x, y in zip(inputs, labels)])
            out[(node.name, role)] = max(0.0, float(before - after))
    return out


def choose(graph: Graph, budget: int, arena_size: int,
           contributions: dict[tuple[str, str], float], qas: bool = True) -> TrainSpec:
    """The subset of most contribution per byte whose state + train arena fit `budget`."""
    selection: dict[str, dict[str, float]] = {}
    used = 0
    while True:
        best, best_ratio, best_cost = None, 0.0, 0
        for node in trainable_nodes(graph):
            have = selection.get(node.name, {})
            options = [] if "bias" in have else [Candidate(node.name, "bias", 1.0)]
            options += [Candidate(node.name, "weights", f) for f in FRACTIONS
                        if f > have.get("weights", 0.0)]
            for c in options:
                gain = contributions.get((c.layer, c.role), 0.0) * (
                    c.fraction - (have.get("weights", 0.0) if c.role == "weights" else 0.0))
                if gain <= 0:
                    continue
                trial = {k: dict(v) for k, v in selection.items()}
                trial.setdefault(c.layer, {})[c.role] = c.fraction
                cost = memory_bytes(graph, _spec(trial, qas), arena_size)
                if cost > budget:
                    continue
                ratio = gain / max(cost - used, 1)
                if ratio > best_ratio:
                    best, best_ratio, best_cost = c, ratio, cost
        if best is None:
            break
        selection.setdefault(best.layer, {})[best.role] = best.fraction
        used = best_cost
    if not selection:
        raise UsageError(f"--train sparse: nothing fits the training budget ({budget:,} bytes "
                         "for the train arena and the state); raise --train-sram")
    return _spec(selection, qas)
