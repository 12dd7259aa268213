"""DepthwiseConv2D: one filter per input channel and multiplier (TFLite DEPTHWISE_CONV_2D).

Inputs: x [N, H, W, Cin], weights [1, kh, kw, Cin * multiplier] (TFLite layout; output
channel c * multiplier + m reads input channel c), bias [Cin * multiplier] (optional).
int8 follows TFLM's DepthwiseConvPerChannel: window points outside the image are skipped,
accumulation in int32, bias, per-channel requantization. Geometry as Conv2D's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import NO_CLAMP, Arg, float_bounds, io_dtype, register, tensor_args, unsupported_dtype
from .conv2d import (WindowedConv, bias_arg, geometry_params, int8_consts, int8_fields,
                     kernel_call, prepare_int8, windows)


@dataclass(frozen=True)
class DepthwiseConv2DAttrs:
    strides: tuple[int, int] = (1, 1)
    dilations: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)   # top, left, bottom, right
    depth_multiplier: int = 1
    act: tuple[float, float] = NO_CLAMP


@register
class DepthwiseConv2D(WindowedConv):
    name = "DepthwiseConv2D"
    weight_axes = {1: 3}
    ternary_weights = True
    channel_axis = 3

    @staticmethod
    def out_channels(w_shape):
        return w_shape[3]

    def check_channels(self, c, x_shape, w_shape):
        multiplier = c.node.attrs.depth_multiplier
        c.positive((multiplier,), "the depth multiplier")
        c.require(w_shape[0] == 1 and w_shape[3] == x_shape[3] * multiplier,
                  f"weights {w_shape} do not fit {x_shape[3]} input channels times depth "
                  f"multiplier {multiplier}")

    def macs(self, node, graph):
        w = graph.tensor(node.inputs[1])
        return graph.tensor(node.outputs[0]).size * w.shape[1] * w.shape[2]

    @staticmethod
    def _correlate(x, w, out_shape, a: DepthwiseConv2DAttrs) -> np.ndarray:
        _, kh, kw, channels = w.shape
        patches = windows(x, (kh, kw), out_shape[1:3], a.strides, a.dilations, a.pads)
        wm = w.reshape(kh, kw, channels // a.depth_multiplier, a.depth_multiplier)
        return np.einsum("nyxhwc,hwcm->nyxcm", patches, wm).reshape(out_shape)

    def lower(self, node, graph):
        w = graph.tensor(node.inputs[1])
        dtype = io_dtype(node, graph)
        geometry = (*geometry_params(node, graph, w.shape[1:3]),
                    ("depth_multiplier", node.attrs.depth_multiplier))
        args = (Arg("params"), *tensor_args(node.inputs[0], node.inputs[1]), *bias_arg(node))
        out = tensor_args(node.outputs[0])
        if dtype == "float32":
            lo, hi = float_bounds(node.attrs.act)
            return kernel_call("tm_depthwise_conv2d_generic_f32", (*args, *out),
                               "tm_depthwise_conv2d_f32_params",
                               (*geometry, ("act_min", lo), ("act_max", hi)))
        if dtype == "int8":
            p = prepare_int8(node, graph, w.shape[3])
            return kernel_call("tm_depthwise_conv2d_generic_s8",
                               (*args, Arg("const", "multiplier"), Arg("const", "shift"), *out),
                               "tm_depthwise_conv2d_s8_params", (*geometry, *int8_fields(p)),
                               int8_consts(p))
        raise unsupported_dtype(node, graph, dtype)
