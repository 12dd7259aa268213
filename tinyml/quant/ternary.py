"""Ternary ("1.58-bit") weights: {-1, 0, +1} times one scale per output channel.

Three ways in, one representation out (a weight tensor of dtype `ternary`, tinyml/dtypes.py):
- `--dtype ternary`: `ternarize_graph` replaces the chosen float weights by s * t before
  post-training quantization, t = clip(round(w / s), -1, 1), with s per output channel the
  mean of |w| ("absmean", BitNet b1.58) or their median ("BitNet b1.58 Reloaded");
- a float model whose weights already take at most the values {-s, 0, +s} per output channel
  (quantization-aware training, tinyml.qat) quantizes to ternary exactly: `float_ternary`
  gives t and s, and the int32 bias is quantized at input_scale * s;
- an int8 model whose weights take at most {-q, 0, +q} per output channel (a QAT model
  through TFLite's converter: q = 127) becomes ternary by `detect_int8`, keeping its values:
  the kernels multiply each output's sum of +-x by q once, so the outputs are those of the
  int8 model, bit for bit.
The IR keeps the values (t, or +-q), and the numpy reference computes on them as on int8.
"""

from __future__ import annotations

import numpy as np

from ..dtypes import channel_rows, ternary_magnitudes as magnitudes
from ..errors import UsageError
from ..ir import Graph, Node
from ..ops import get_op

SCALES = ("absmean", "median")
#: fewest weights per output channel for weights found ternary: fewer prove nothing (a
#: fully connected layer of one input has one weight per channel)
MIN_CHANNEL_WEIGHTS = 8
#: layers --ternary-layers picks by default: all but the first and the last weighted layer
INNER, ALL = "inner", "all"


def ternarize(w: np.ndarray, axis: int, scale: str = "absmean") -> tuple[np.ndarray, np.ndarray]:
    """Float weights -> (t in {-1, 0, +1} as int8 of w's shape, float32 scale per channel)."""
    if scale not in SCALES:
        raise UsageError(f"--ternary-scale must be one of {', '.join(SCALES)}")
    rows = np.abs(channel_rows(w, axis).astype(np.float64))
    s = rows.mean(axis=1) if scale == "absmean" else np.median(rows, axis=1)
    s = np.where(s > 0, s, rows.max(axis=1, initial=0.0))   # a channel mostly zeros keeps its rest
    s = np.where(s > 0, s, 1.0).astype(np.float32)
    shape = [1] * w.ndim
    shape[axis] = -1
    t = np.clip(np.round(w.astype(np.float64) / s.astype(np.float64).reshape(shape)), -1, 1)
    return t.astype(np.int8), s


def weight_axis(node: Node, graph: Graph) -> int:
    """The output-channel axis of a node's weights (input 1)."""
    return get_op(node, graph).weight_axes[1] % len(graph.tensor(node.inputs[1]).shape)


def weighted_nodes(graph: Graph) -> list[Node]:
    """Nodes whose constant weights may be ternary, in graph order."""
    return [n for n in graph.nodes if get_op(n, graph).ternary_weights
            and graph.tensor(n.inputs[1]).is_const]


def chosen_nodes(graph: Graph, spec: str = INNER) -> list[Node]:
    """--ternary-layers: `inner` (all but the first and the last weighted layer), `all`, or
    layer names separated by commas."""
    nodes = weighted_nodes(graph)
    if spec == ALL:
        return nodes
    if spec == INNER:
        return nodes[1:-1]
    wanted = [s for s in spec.split(",") if s]
    known = {n.name: n for n in nodes}
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise UsageError(f"--ternary-layers: no Conv2D, DepthwiseConv2D or FullyConnected layer "
                         f"named {unknown[0]!r}")
    return [known[s] for s in wanted]


def ternarize_graph(graph: Graph, spec: str = INNER, scale: str = "median") -> Graph:
    """The float graph with the chosen layers' weights replaced by s * t."""
    changed = []
    for node in chosen_nodes(graph, spec):
        w = graph.tensor(node.inputs[1])
        if w.dtype != "float32":
            continue
        axis = weight_axis(node, graph)
        t, s = ternarize(w.data, axis, scale)
        shape = [1] * len(w.shape)
        shape[axis] = -1
        changed.append(w.with_(data=(t.astype(np.float32) * s.reshape(shape)).astype(np.float32)))
    return graph.replace(tensors=changed)


def float_ternary(w: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(t, float32 scale per channel) of float weights that take at most {-s, 0, +s} per
    output channel and whose s is a float32 value, else None."""
    top = magnitudes(w, axis) if w.size >= MIN_CHANNEL_WEIGHTS * w.shape[axis] else None
    if top is None:
        return None
    s = top.astype(np.float32)
    if not np.array_equal(s.astype(top.dtype), top):
        return None
    return np.sign(w).astype(np.int8), np.where(s > 0, s, np.float32(1.0)).astype(np.float32)


def detect_int8(graph: Graph) -> Graph:
    """int8 weights of at most {-q, 0, +q} per output channel become ternary, values kept."""
    changed = []
    for node in weighted_nodes(graph):
        w = graph.tensor(node.inputs[1])
        if w.dtype != "int8" or w.quant is None or any(w.quant.zero_point):
            continue
        axis = weight_axis(node, graph)
        if len(w.quant.scale) > 1 and w.quant.axis != axis:
            continue
        if w.size >= MIN_CHANNEL_WEIGHTS * w.shape[axis] and magnitudes(w.data, axis) is not None:
            changed.append(w.with_(dtype="ternary"))
    return graph.replace(tensors=changed)

