"""Ternary versions of the test networks of net_builder: every weight of a Conv2D,
DepthwiseConv2D or FullyConnected becomes random signs times q per output channel (q = 1, or
random as in an int8 model found ternary), its scales raised so that the real weights keep
about the int8 ones' size (and the outputs their spread)."""

from __future__ import annotations

import numpy as np

from tinyml.ir import Graph, Quant
from tinyml.ops import get_op

#: about the mean |w| of the random int8 weights net_builder draws
INT8_MEAN_ABS = 64


def ternary_graph(graph: Graph, rng: np.random.Generator, random_gain: bool = False,
                  zeros: float = 0.35, keep_scales: bool = False) -> Graph:
    """`keep_scales`: the weights' scales as they are (a test of a requantization the int8
    scales were chosen for)."""
    changed = []
    for node in graph.nodes:
        if not get_op(node, graph).ternary_weights:
            continue
        w = graph.tensor(node.inputs[1])
        axis = get_op(node, graph).weight_axes[1] % len(w.shape)
        signs = rng.choice([-1, 0, 1], size=w.shape, p=[(1 - zeros) / 2, zeros, (1 - zeros) / 2])
        shape = [1] * len(w.shape)
        shape[axis] = -1
        q = rng.integers(1, 128, w.shape[axis]) if random_gain else np.ones(w.shape[axis], int)
        scales = np.broadcast_to(np.asarray(w.quant.scale), q.shape) * (
            1 if keep_scales else INT8_MEAN_ABS / q)
        changed.append(w.with_(dtype="ternary", data=signs * q.reshape(shape),
                               quant=Quant.of(scales, 0, axis)))
    return graph.replace(tensors=changed)
