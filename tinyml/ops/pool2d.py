"""What AveragePool2D and MaxPool2D share: attributes, window geometry and the lowering.

Activations NHWC; padding is explicit (top, left, bottom, right): frontends resolve SAME/VALID
with conv2d.same_padding. As in TFLM, window cells outside the image are skipped (never
counted, never compared), and int8 input and output share one quantization. Dilations space
the window's cells as a dilated convolution's (ONNX pools have them, TFLite's do not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import UnsupportedError
from ..ir import Graph, Node
from ..numerics import activation_range
from .base import (NO_CLAMP, Arg, KernelCall, Op, clamp_float, dtype_suffix, float_bounds,
                   io_dtype, per_tensor, tensor_args, unsupported_dtype)
from .checks import NodeCheck, sum_fits, window_output
from .conv2d import conv_output_hw, windows


@dataclass(frozen=True)
class Pool2DAttrs:
    kernel: tuple[int, int]
    strides: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)   # top, left, bottom, right
    act: tuple[float, float] = NO_CLAMP
    dilations: tuple[int, int] = (1, 1)


def pool_output_shape(node: Node, graph: Graph) -> tuple[int, ...]:
    x = graph.tensor(node.inputs[0])
    a = node.attrs
    oh, ow = conv_output_hw(x.shape[1:3], a.kernel, a.strides, a.dilations, a.pads)
    return (x.shape[0], oh, ow, x.shape[3])


def pool_windows(x: np.ndarray, node: Node, graph: Graph) -> tuple[np.ndarray, np.ndarray]:
    """([N, OH, OW, kh, kw, C] windows, zero outside; [1, OH, OW, kh, kw, 1] inside mask)."""
    a = node.attrs
    out_hw = graph.tensor(node.outputs[0]).shape[1:3]
    cells = windows(x, a.kernel, out_hw, a.strides, a.dilations, a.pads)
    inside = windows(np.ones((1, *x.shape[1:3], 1), dtype=bool), a.kernel, out_hw, a.strides,
                     a.dilations, a.pads)
    return cells, inside


def int8_act_range(node: Node, graph: Graph) -> tuple[int, int]:
    """The clamp of an int8 pool, after checking TFLM's shared-quantization rule."""
    x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    (in_scale, in_zp), (out_scale, out_zp) = per_tensor(x), per_tensor(y)
    if abs(in_scale - out_scale) > 1e-6 or in_zp != out_zp:
        raise UnsupportedError("int8 pooling needs the same input and output quantization",
                               model=graph.source, node=node.name, op=node.op)
    return activation_range(*node.attrs.act, out_scale, out_zp)


def lower_pool(kernel: str, node: Node, graph: Graph, dtype: str) -> KernelCall:
    x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
    a = node.attrs
    shape = (("batches", x.shape[0]), ("in_h", x.shape[1]), ("in_w", x.shape[2]),
             ("channels", x.shape[3]), ("out_h", y.shape[1]), ("out_w", y.shape[2]),
             ("kernel_h", a.kernel[0]), ("kernel_w", a.kernel[1]),
             ("stride_h", a.strides[0]), ("stride_w", a.strides[1]),
             ("pad_top", a.pads[0]), ("pad_left", a.pads[1]),
             ("dilation_h", a.dilations[0]), ("dilation_w", a.dilations[1]),
             ("in_pitch", x.shape[2] * x.shape[3]), ("out_pitch", y.shape[2] * y.shape[3]))
    if dtype == "int8":
        params_type, act = "tm_pool2d_s8_params", int8_act_range(node, graph)
    else:
        params_type, act = "tm_pool2d_f32_params", float_bounds(a.act)
    return KernelCall(kernel=kernel, sources=(kernel + ".c",),
                      args=(Arg("params"), *tensor_args(node.inputs[0], node.outputs[0])),
                      params_type=params_type,
                      params=(*(("shape." + k, v) for k, v in shape), ("act_min", act[0]),
                              ("act_max", act[1])))


def _has_empty_window(size: int, kernel: int, stride: int, dilation: int, pad: int,
                      out: int) -> bool:
    """Whether a window along one axis has no tap inside [0, size) (as tm_window_begin/end)."""
    origins = np.arange(out, dtype=np.int64) * stride - pad
    begin = np.where(origins >= 0, 0, (-origins + dilation - 1) // dilation)
    end = np.minimum(np.maximum(size - origins + dilation - 1, 0) // dilation, kernel)
    return bool((end <= begin).any())


class Pool2D(Op):
    """What the two pools share: shape, MACs, dtype dispatch, lowering. A subclass gives the
    kernel stem and the reduction of the cells inside each window (`inside` masks padding)."""

    kernel_stem: ClassVar[str]
    keeps_input_quant = True

    def check(self, node, graph):
        c = NodeCheck(node, graph)
        x, y = c.input(0), c.output()
        c.rank(x, 4, "input")
        c.dtypes((x, y), self.dtypes)
        a = node.attrs
        window_output(c, x.shape[1:3], a.kernel, a.strides, a.dilations, a.pads)
        # every window must hold a cell of the image (an average never divides by 0): pads
        # smaller than the kernel ensure it, unless a dilated window steps over the image
        c.require(all(p < k for p, k in zip(a.pads, (*a.kernel, *a.kernel))),
                  f"pads {a.pads} must be smaller than the kernel {a.kernel}")
        out_hw = conv_output_hw(x.shape[1:3], a.kernel, a.strides, a.dilations, a.pads)
        for axis, size, k, s, d, lo, out in zip(("height", "width"), x.shape[1:3], a.kernel,
                                                a.strides, a.dilations, a.pads, out_hw):
            c.require(d == 1 or not _has_empty_window(size, k, s, d, lo, out),
                      f"a window of the dilated kernel ({k}, dilation {d}) holds no cell of "
                      f"the input {axis} {size}")
        if x.dtype == "int8":
            sum_fits(c, a.kernel[0] * a.kernel[1], 128, "the window")

    def reduce_float(self, cells: np.ndarray, inside: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def reduce_int8(self, cells: np.ndarray, inside: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def output_shapes(self, node, graph):
        return [pool_output_shape(node, graph)]

    def macs(self, node, graph):
        kh, kw = node.attrs.kernel
        return graph.tensor(node.outputs[0]).size * kh * kw

    def evaluate(self, node, graph, inputs):
        dtype = io_dtype(node, graph)
        if dtype == "float32":
            cells, inside = pool_windows(inputs[0].astype(np.float32), node, graph)
            return [clamp_float(self.reduce_float(cells, inside), node.attrs.act)]
        if dtype == "int8":
            act_min, act_max = int8_act_range(node, graph)
            cells, inside = pool_windows(inputs[0].astype(np.int64), node, graph)
            return [np.clip(self.reduce_int8(cells, inside), act_min, act_max).astype(np.int8)]
        raise unsupported_dtype(node, graph, dtype)

    def lower(self, node, graph):
        dtype = io_dtype(node, graph)
        if dtype not in ("float32", "int8"):
            raise unsupported_dtype(node, graph, dtype)
        return lower_pool(f"{self.kernel_stem}_{dtype_suffix(dtype)}", node, graph, dtype)
