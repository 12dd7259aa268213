"""Conv2D: 2-D convolution over NHWC activations (TFLite CONV_2D, ONNX Conv).

Inputs: x [N, H, W, Cin], weights OHWI [Cout, kh, kw, Cin / groups] (constant), bias [Cout]
(optional, int32 for int8). Padding is explicit (top, left, bottom, right); frontends resolve
SAME/VALID with `same_padding`. int8 follows TFLM's ConvPerChannel: window points outside the
image are skipped (as if the input there were its zero point), accumulation in int32, bias,
then per-channel requantization. The window geometry helpers here are shared with
DepthwiseConv2D.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import UnsupportedError
from ..ir import Graph, Node
from ..numerics import activation_range, multiply_by_quantized_multiplier, quantize_multipliers
from .base import (NO_CLAMP, Arg, ConstArray, KernelCall, Op, clamp_float, float_bounds,
                   io_dtype, per_tensor, register, tensor_args, unsupported_dtype)
from .checks import NodeCheck, accumulators_fit, window_output


@dataclass(frozen=True)
class Conv2DAttrs:
    strides: tuple[int, int] = (1, 1)
    dilations: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)   # top, left, bottom, right
    groups: int = 1
    act: tuple[float, float] = NO_CLAMP


# -- window geometry (shared with DepthwiseConv2D) -----------------------------------------

def same_padding(in_hw, kernel_hw, strides, dilations, upper: bool = True
                 ) -> tuple[int, int, int, int]:
    """Pads (top, left, bottom, right) giving out = ceil(in / stride), as TFLite's SAME.

    The odd pixel goes to the bottom/right (TFLite SAME, ONNX SAME_UPPER) or, with
    `upper=False`, to the top/left (ONNX SAME_LOWER).
    """
    before, after = [], []
    for size, k, s, d in zip(in_hw, kernel_hw, strides, dilations):
        out = -(-size // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
        small = total // 2
        before.append(small if upper else total - small)
        after.append(total - before[-1])
    return before[0], before[1], after[0], after[1]


def conv_output_hw(in_hw, kernel_hw, strides, dilations, pads) -> tuple[int, int]:
    top, left, bottom, right = pads
    return tuple((size + lo + hi - (k - 1) * d - 1) // s + 1
                 for size, k, s, d, lo, hi in zip(in_hw, kernel_hw, strides, dilations,
                                                  (top, left), (bottom, right)))


def windows(x: np.ndarray, kernel_hw, out_hw, strides, dilations, pads) -> np.ndarray:
    """[N, H, W, C] -> [N, OH, OW, kh, kw, C]: each output pixel's input window, zero outside."""
    (kh, kw), (oh, ow), (sh, sw), (dh, dw) = kernel_hw, out_hw, strides, dilations
    top, left = pads[0], pads[1]
    rows = np.arange(oh)[:, None] * sh + np.arange(kh)[None, :] * dh        # [OH, kh]
    cols = np.arange(ow)[:, None] * sw + np.arange(kw)[None, :] * dw        # [OW, kw]
    bottom = max(int(rows.max()) + 1 - top - x.shape[1], 0)
    right = max(int(cols.max()) + 1 - left - x.shape[2], 0)
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    return xp[:, rows[:, None, :, None], cols[None, :, None, :], :]


def geometry_params(node: Node, graph: Graph, kernel_hw) -> tuple[tuple[str, int], ...]:
    """The tm_conv_geometry every conv-like params struct starts with (tm_nn.h)."""
    x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    a = node.attrs
    fields = (("batches", x.shape[0]), ("in_h", x.shape[1]), ("in_w", x.shape[2]),
              ("in_c", x.shape[3]), ("out_h", y.shape[1]), ("out_w", y.shape[2]),
              ("out_c", y.shape[3]), ("kernel_h", kernel_hw[0]), ("kernel_w", kernel_hw[1]),
              ("stride_h", a.strides[0]), ("stride_w", a.strides[1]),
              ("dilation_h", a.dilations[0]), ("dilation_w", a.dilations[1]),
              ("pad_top", a.pads[0]), ("pad_left", a.pads[1]),
              ("in_pitch", x.shape[2] * x.shape[3]), ("out_pitch", y.shape[2] * y.shape[3]))
    return tuple((f"geometry.{name}", value) for name, value in fields)


def bias_values(node: Node, graph: Graph, channels: int, dtype) -> np.ndarray:
    if len(node.inputs) > 2 and node.inputs[2]:
        return graph.tensor(node.inputs[2]).data
    return np.zeros(channels, dtype=dtype)


def bias_arg(node: Node) -> tuple[Arg, ...]:
    has_bias = len(node.inputs) > 2 and bool(node.inputs[2])
    return tensor_args(node.inputs[2]) if has_bias else (Arg("null"),)


def kernel_call(kernel: str, args, params_type: str, params, consts=()) -> KernelCall:
    return KernelCall(kernel=kernel, sources=(kernel + ".c",), args=tuple(args),
                      params_type=params_type, params=tuple(params), consts=tuple(consts))


# -- int8 requantization (shared with DepthwiseConv2D) --------------------------------------

@dataclass(frozen=True)
class Int8Params:
    input_offset: int
    output_offset: int
    multiplier: np.ndarray
    shift: np.ndarray
    act_min: int
    act_max: int


def prepare_int8(node: Node, graph: Graph, channels: int) -> Int8Params:
    """TFLite's PopulateConvolutionQuantizationParams: one multiplier per output channel."""
    x, w = (graph.tensor(n) for n in node.inputs[:2])
    y = graph.tensor(node.outputs[0])
    if w.quant is None or any(w.quant.zero_point):
        raise UnsupportedError("int8 weights must be quantized symmetrically (zero point 0)",
                               model=graph.source, node=node.name, op=node.op)
    in_scale, in_zp = per_tensor(x)
    out_scale, out_zp = per_tensor(y)
    w_scales = np.broadcast_to(np.asarray(w.quant.scale, dtype=np.float64), (channels,))
    multiplier, shift = quantize_multipliers(in_scale * w_scales / out_scale)
    act_min, act_max = activation_range(*node.attrs.act, out_scale, out_zp)
    return Int8Params(-in_zp, out_zp, multiplier, shift, act_min, act_max)


def requantize(acc: np.ndarray, p: Int8Params) -> np.ndarray:
    out = multiply_by_quantized_multiplier(acc, p.multiplier, p.shift) + p.output_offset
    return np.clip(out, p.act_min, p.act_max).astype(np.int8)


def int8_consts(p: Int8Params) -> tuple[ConstArray, ...]:
    return (ConstArray("multiplier", "int32_t", p.multiplier),
            ConstArray("shift", "int32_t", p.shift))


def int8_fields(p: Int8Params) -> tuple[tuple[str, int], ...]:
    return (("input_offset", p.input_offset), ("output_offset", p.output_offset),
            ("act_min", p.act_min), ("act_max", p.act_max))


def conv2d_geometry(node: Node, graph: Graph) -> tuple[tuple[str, int], ...]:
    """The geometry and groups fields every Conv2D params struct starts with."""
    w = graph.tensor(node.inputs[1])
    return (*geometry_params(node, graph, w.shape[1:3]), ("groups", node.attrs.groups))


def conv2d_params(node: Node, graph: Graph, p: Int8Params) -> tuple[tuple[str, int], ...]:
    """The fields of tm_conv2d_s8_params, shared by the int8 Conv2D variants."""
    return (*conv2d_geometry(node, graph), *int8_fields(p))


# -- the op ----------------------------------------------------------------------------------

def is_pointwise(node: Node, graph: Graph) -> bool:
    """1x1 kernel, stride 1, no padding, one group: a plain GEMM over the pixels."""
    w = graph.tensor(node.inputs[1])
    a = node.attrs
    return (w.shape[1:3] == (1, 1) and a.strides == (1, 1) and a.pads == (0, 0, 0, 0)
            and a.groups == 1)


def input_offset_terms(node: Node, graph: Graph, p: Int8Params) -> np.ndarray | None:
    """bias + input_offset * sum(weights) per output channel, None if it leaves int32.

    Without padding every window point is inside the image, so sum((x + offset) * w) + bias =
    sum(x * w) + (bias + offset * sum(w)) exactly: one constant add per output, not per MAC.
    """
    w = graph.tensor(node.inputs[1])
    terms = p.input_offset * w.data.astype(np.int64).reshape(w.shape[0], -1).sum(axis=1)
    terms = terms + bias_values(node, graph, w.shape[0], np.int32)
    info = np.iinfo(np.int32)
    if terms.min() < info.min or terms.max() > info.max:
        return None
    return terms.astype(np.int32)


class WindowedConv(Op):
    """What Conv2D and DepthwiseConv2D share: the output shape, the dtype dispatch and the int8
    arithmetic around the window correlation, which each subclass gives (`_correlate`)."""

    bias_input = 2
    num_inputs = (2, 3)
    #: the weights' output-channel axis
    channel_axis: ClassVar[int]

    @staticmethod
    def out_channels(w_shape: tuple[int, ...]) -> int:
        raise NotImplementedError

    def check_channels(self, c: NodeCheck, x_shape, w_shape) -> None:
        """The weights' channels against the input's (and the attributes that link them)."""
        raise NotImplementedError

    def check(self, node, graph):
        c = NodeCheck(node, graph)
        x, w, y = c.input(0), c.const(1, "weights"), c.output()
        c.rank(x, 4, "input")
        c.rank(w, 4, "weights")
        dtype = c.dtypes((x, y), self.dtypes)
        c.weights(w, dtype, self.channel_axis)
        self.check_channels(c, x.shape, w.shape)
        a = node.attrs
        window_output(c, x.shape[1:3], w.shape[1:3], a.strides, a.dilations, a.pads)
        c.bias(2, self.out_channels(w.shape), "int32" if dtype == "int8" else dtype)
        if dtype == "int8":
            accumulators_fit(c, w, 2, self.channel_axis)

    @staticmethod
    def _correlate(x, w, out_shape, attrs) -> np.ndarray:
        raise NotImplementedError

    def output_shapes(self, node, graph):
        x, w = (graph.tensor(n) for n in node.inputs[:2])
        a = node.attrs
        oh, ow = conv_output_hw(x.shape[1:3], w.shape[1:3], a.strides, a.dilations, a.pads)
        return [(x.shape[0], oh, ow, self.out_channels(w.shape))]

    def evaluate(self, node, graph, inputs):
        w = graph.tensor(node.inputs[1]).data
        y = graph.tensor(node.outputs[0])
        a = node.attrs
        channels = self.out_channels(w.shape)
        dtype = io_dtype(node, graph)
        if dtype == "float32":
            acc = self._correlate(inputs[0].astype(np.float64), w.astype(np.float64), y.shape, a)
            acc = acc + bias_values(node, graph, channels, np.float32)
            return [clamp_float(acc.astype(np.float32), a.act)]
        if dtype == "int8":
            p = prepare_int8(node, graph, channels)
            # offset before padding: padded points then add exactly 0, as TFLM skips them
            x = inputs[0].astype(np.int64) + p.input_offset
            acc = self._correlate(x, w.astype(np.int64), y.shape, a)
            acc = acc + bias_values(node, graph, channels, np.int32)
            return [requantize(acc, p)]
        raise unsupported_dtype(node, graph, dtype)


@register
class Conv2D(WindowedConv):
    name = "Conv2D"
    weight_axes = {1: 0}
    ternary_weights = True
    channel_axis = 0

    @staticmethod
    def out_channels(w_shape):
        return w_shape[0]

    def check_channels(self, c, x_shape, w_shape):
        groups = c.node.attrs.groups
        c.positive((groups,), "groups")
        c.require(x_shape[3] == groups * w_shape[3] and w_shape[0] % groups == 0,
                  f"{x_shape[3]} input channels do not fit weights {w_shape} in {groups} groups")

    def macs(self, node, graph):
        w = graph.tensor(node.inputs[1])
        return graph.tensor(node.outputs[0]).size * int(np.prod(w.shape[1:]))

    @staticmethod
    def _correlate(x, w, out_shape, a: Conv2DAttrs) -> np.ndarray:
        cout, kh, kw, cin_g = w.shape
        patches = windows(x, (kh, kw), out_shape[1:3], a.strides, a.dilations, a.pads)
        patches = patches.reshape(*patches.shape[:5], a.groups, cin_g)
        wg = w.reshape(a.groups, cout // a.groups, kh, kw, cin_g)
        acc = np.einsum("nyxhwgc,gohwc->nyxgo", patches, wg)
        return acc.reshape(out_shape)

    def lower(self, node, graph):
        """The portable kernels; tinyml/kernels holds the specialised ones (1x1 int8)."""
        dtype = io_dtype(node, graph)
        x_w = tensor_args(node.inputs[0], node.inputs[1])
        out = tensor_args(node.outputs[0])
        if dtype == "float32":
            lo, hi = float_bounds(node.attrs.act)
            return kernel_call("tm_conv2d_generic_f32",
                               (Arg("params"), *x_w, *bias_arg(node), *out),
                               "tm_conv2d_f32_params",
                               (*conv2d_geometry(node, graph), ("act_min", lo), ("act_max", hi)))
        if dtype != "int8":
            raise unsupported_dtype(node, graph, dtype)
        p = prepare_int8(node, graph, graph.tensor(node.inputs[1]).shape[0])
        requant = (Arg("const", "multiplier"), Arg("const", "shift"))
        return kernel_call("tm_conv2d_generic_s8",
                           (Arg("params"), *x_w, *bias_arg(node), *requant, *out),
                           "tm_conv2d_s8_params", conv2d_params(node, graph, p), int8_consts(p))
