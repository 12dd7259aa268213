"""Gradients of the ops a training step passes through, in real units (float64): the numpy
twins of codegen/kernels/tm_train.c.

An int8 op computes, in real units, y = f(x) up to rounding, then saturates or clips to its
output range; its gradient is f's where the int8 output lies strictly inside that range and
0 where it sits on a bound (the straight-through estimator of the requantization). Inputs
are int8 values with their (scale, zero point); `dy` the gradient of the output with the
mask applied (the accumulator's gradient).
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node


def real(q: np.ndarray, t) -> np.ndarray:
    """Dequantized int8 values of tensor t."""
    return (q.astype(np.float64) - t.quant.zero_point[0]) * t.quant.scale[0]


def weight_scales(graph: Graph, node: Node) -> np.ndarray:
    """Per output channel (broadcast from per-tensor)."""
    w = graph.tensor(node.inputs[1])
    channels = graph.tensor(node.outputs[0]).shape[-1]
    return np.broadcast_to(np.asarray(w.quant.scale, np.float64), (channels,))


def mask(dy: np.ndarray, y: np.ndarray, bounds: tuple[int, int]) -> np.ndarray:
    lo, hi = bounds
    return np.where((y > lo) & (y < hi), dy, 0.0)


def softmax_xent(logits: np.ndarray, t, label: int, beta: float) -> tuple[float, np.ndarray]:
    """Cross-entropy of softmax(beta * logits) against `label`, and its gradient in the
    logits' real units."""
    z = beta * real(logits, t).reshape(-1)
    e = np.exp(z - z.max())
    total = e.sum()
    grad = e / total
    grad[label] -= 1.0
    loss = -(z[label] - z.max() - np.log(total))   # log-softmax: no underflow
    return float(loss), (beta * grad).reshape(logits.shape)


def _padded(x: np.ndarray, pads) -> np.ndarray:
    top, left, bottom, right = pads
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))


def _taps(node: Node, graph: Graph):
    """(kh, kw, rows, cols) of every kernel tap: the padded input's rows and columns each
    output position reads there."""
    a = node.attrs
    kh, kw = graph.tensor(node.inputs[1]).shape[1:3]
    oh, ow = graph.tensor(node.outputs[0]).shape[1:3]
    for i in range(kh):
        for j in range(kw):
            rows = i * a.dilations[0] + a.strides[0] * np.arange(oh)
            cols = j * a.dilations[1] + a.strides[1] * np.arange(ow)
            yield i, j, rows, cols


def _crop(dxp: np.ndarray, pads, shape) -> np.ndarray:
    top, left = pads[0], pads[1]
    return dxp[:, top:top + shape[1], left:left + shape[2], :]


def fully_connected(node: Node, graph: Graph, dy: np.ndarray, x_q: np.ndarray, w_q: np.ndarray):
    """(dx, dW, db) of y = x W^T + b."""
    x = graph.tensor(node.inputs[0])
    n, k = w_q.shape
    d = dy.reshape(-1, n)
    xr = real(x_q, x).reshape(-1, k)
    wr = w_q.astype(np.float64) * weight_scales(graph, node)[:, None]
    return (d @ wr).reshape(x.shape), d.T @ xr, d.sum(axis=0)


def conv2d(node: Node, graph: Graph, dy: np.ndarray, x_q: np.ndarray, w_q: np.ndarray):
    x = graph.tensor(node.inputs[0])
    pads = node.attrs.pads
    xp = _padded(real(x_q, x), pads)
    wr = w_q.astype(np.float64) * weight_scales(graph, node)[:, None, None, None]
    dxp = np.zeros_like(xp)
    dw = np.zeros(w_q.shape)
    for i, j, rows, cols in _taps(node, graph):
        patch = xp[:, rows][:, :, cols]
        dw[:, i, j, :] = np.einsum("bhwo,bhwc->oc", dy, patch)
        dxp[:, rows[:, None], cols[None, :], :] += np.einsum("bhwo,oc->bhwc", dy, wr[:, i, j, :])
    return _crop(dxp, pads, x.shape), dw, dy.sum(axis=(0, 1, 2))


def depthwise_conv2d(node: Node, graph: Graph, dy: np.ndarray, x_q: np.ndarray,
                     w_q: np.ndarray):
    x = graph.tensor(node.inputs[0])
    pads, mult = node.attrs.pads, node.attrs.depth_multiplier
    xp = _padded(real(x_q, x), pads)
    wr = w_q.astype(np.float64) * weight_scales(graph, node)[None, None, None, :]
    dxp = np.zeros_like(xp)
    dw = np.zeros(w_q.shape)
    b, oh, ow, _ = dy.shape
    for i, j, rows, cols in _taps(node, graph):
        patch = np.repeat(xp[:, rows][:, :, cols], mult, axis=-1)
        dw[0, i, j, :] = (dy * patch).sum(axis=(0, 1, 2))
        back = (dy * wr[0, i, j, :]).reshape(b, oh, ow, -1, mult).sum(axis=-1)
        dxp[:, rows[:, None], cols[None, :], :] += back
    return _crop(dxp, pads, x.shape), dw, dy.sum(axis=(0, 1, 2))


def average_pool(node: Node, graph: Graph, dy: np.ndarray) -> np.ndarray:
    """Each output spreads its gradient over the inputs its window covers (padding not
    counted, as the int8 kernel divides)."""
    a = node.attrs
    x = graph.tensor(node.inputs[0])
    _, h, w, _ = x.shape
    _, oh, ow, _ = dy.shape
    dx = np.zeros(x.shape)
    for oy in range(oh):
        y0 = oy * a.strides[0] - a.pads[0]
        ys = slice(max(y0, 0), min(y0 + a.kernel[0], h))
        for ox in range(ow):
            x0 = ox * a.strides[1] - a.pads[1]
            xs = slice(max(x0, 0), min(x0 + a.kernel[1], w))
            count = (ys.stop - ys.start) * (xs.stop - xs.start)
            dx[:, ys, xs, :] += dy[:, oy:oy + 1, ox:ox + 1, :] / count
    return dx


def mean(node: Node, graph: Graph, dy: np.ndarray) -> np.ndarray:
    x = graph.tensor(node.inputs[0])
    axes = node.attrs.axes
    kept = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
    count = int(np.prod([x.shape[i] for i in axes]))
    return np.broadcast_to(dy.reshape(kept), x.shape) / count
