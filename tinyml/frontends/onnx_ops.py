"""Converters from ONNX ops to IR nodes, one function per op type (see onnx.py).

Shapes come from ONNX shape inference, so shape-only ops (Reshape, Flatten, Squeeze, ...)
become an IR Reshape to the inferred shape. NHWC-only IR ops are wrapped in Transposes.
QLinearConv / QLinearMatMul are written as Dequantize -> float op -> Quantize, which is their
definition; the QDQ pass then turns them into int8 ops like any QDQ group.
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import Quant
from ..ops.base import NO_CLAMP
from ..ops.binary import BinaryAttrs
from ..ops.clamp import ClipAttrs
from ..ops.concatenation import ConcatAttrs
from ..ops.conv2d import Conv2DAttrs, same_padding
from ..ops.depthwise_conv2d import DepthwiseConv2DAttrs
from ..ops.fully_connected import FullyConnectedAttrs
from ..ops.leaky_relu import LeakyReluAttrs
from ..ops.mean import MeanAttrs
from ..ops.pad import PadAttrs
from ..ops.pool2d import Pool2DAttrs
from ..ops.softmax import SoftmaxAttrs
from .onnx import NodeReader, converter


def _spatial_2d(r: NodeReader, x: str) -> None:
    if len(r.shape(x)) != 4:
        raise r.unsupported(f"only 2-D spatial inputs (rank 4) are supported, not rank "
                            f"{len(r.shape(x))}")


def _window_pads(r: NodeReader, in_hw, kernel_hw, strides, dilations) -> tuple[int, int, int, int]:
    """Explicit (top, left, bottom, right) pads from auto_pad / pads."""
    auto_pad = r.attr("auto_pad", "NOTSET")
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        return same_padding(in_hw, kernel_hw, strides, dilations, upper=auto_pad == "SAME_UPPER")
    if auto_pad == "VALID":
        return (0, 0, 0, 0)
    if auto_pad != "NOTSET":
        raise r.unsupported(f"auto_pad {auto_pad} is not supported")
    pads = tuple(r.attr("pads", (0, 0, 0, 0)))
    return pads[0], pads[1], pads[2], pads[3]


# -- convolutions and dense layers --------------------------------------------------------

def _conv(r: NodeReader, x: str, w: str, bias: str, y: str) -> None:
    """Conv on NCHW x with an OIHW weight: Conv2D (OHWI) or DepthwiseConv2D ([1,kh,kw,C*m])."""
    _spatial_2d(r, x)
    w_shape = r.shape(w)
    if len(w_shape) != 4:
        raise r.unsupported(f"only 2-D convolutions are supported (weight rank {len(w_shape)})")
    if bias and not (r.is_const(bias) or r.is_quantized_const(bias)):
        raise r.unsupported("the bias must be a constant")
    c_in, (c_out, _, kh, kw) = r.shape(x)[1], w_shape
    group = r.attr("group", 1)
    strides = tuple(r.attr("strides", (1, 1)))
    dilations = tuple(r.attr("dilations", (1, 1)))
    pads = _window_pads(r, r.shape(x)[2:], (kh, kw), strides, dilations)
    x_nhwc, y_nhwc = r.to_nhwc(x), r.nhwc_output(y)
    if group == c_in and group > 1:
        attrs = DepthwiseConv2DAttrs(strides, dilations, pads, c_out // c_in, NO_CLAMP)
        r.emit("DepthwiseConv2D", [x_nhwc, r.weight(w, (1, 2, 3, 0)), _bias(r, bias)], [y_nhwc],
               attrs)
    else:
        r.emit("Conv2D", [x_nhwc, r.weight(w, (0, 2, 3, 1)), _bias(r, bias)], [y_nhwc],
               Conv2DAttrs(strides, dilations, pads, group, NO_CLAMP))
    r.from_nhwc(y_nhwc, y)


def _bias(r: NodeReader, bias: str, scale: float = 1.0) -> str:
    if not bias:
        return ""
    if r.is_quantized_const(bias):
        return r.weight(bias)
    b = r.const(bias, "the bias").astype(np.float32).reshape(-1)
    return r.tensor(f"{bias}_b", b.shape, "float32", data=b * np.float32(scale))


@converter("Conv")
def conv(r: NodeReader):
    _conv(r, r.input(0), r.input(1), r.input(2), r.outputs[0])


def _qlinear_inputs(r: NodeReader, a: str, b: str) -> tuple[str, str]:
    for name in (a, b):
        if r.quant_of(name) is None:
            raise r.unsupported(f"the scale and zero point of {name!r} must be constants")
    if not r.is_const(b):
        raise r.unsupported("the weight must be a constant")
    return r.dequantize(a), b


def _qlinear_bias(r: NodeReader, bias: str, a: str, b: str) -> str:
    """The int32 bias of QLinearConv, at scale a_scale * b_scale (per channel)."""
    if not bias:
        return ""
    scale = np.asarray(r.quant_of(a).scale) * np.asarray(r.quant_of(b).scale)
    data = r.const(bias, "the bias").reshape(-1)
    return r.tensor(f"{bias}_q", data.shape, "int32", data=data,
                    quant=Quant.of(np.broadcast_to(scale, data.shape), 0))


def _requantized_output(r: NodeReader) -> str:
    """A float tensor for the op's result, quantized into the ONNX output."""
    y = r.outputs[0]
    return r.tensor(f"{y}_float", r.shape(y), "float32")


@converter("QLinearConv")
def qlinear_conv(r: NodeReader):
    x, w = _qlinear_inputs(r, r.input(0), r.input(3))
    bias = _qlinear_bias(r, r.input(8), r.input(0), r.input(3))
    y_float = _requantized_output(r)
    _conv(r, x, w, bias, y_float)
    r.quantize(y_float, r.outputs[0])


def _fully_connected(r: NodeReader, a: str, w: str, bias: str, y: str) -> None:
    r.emit("FullyConnected", [a, w, bias], [y], FullyConnectedAttrs(NO_CLAMP))


@converter("MatMul")
def matmul(r: NodeReader):
    b = r.input(1)
    if len(r.shape(b)) != 2 or not (r.is_const(b) or r.is_quantized_const(b)):
        raise r.unsupported("only MatMul by a constant 2-D matrix is supported")
    _fully_connected(r, r.input(0), r.weight(b, (1, 0)), "", r.outputs[0])


@converter("QLinearMatMul")
def qlinear_matmul(r: NodeReader):
    a, b = _qlinear_inputs(r, r.input(0), r.input(3))
    if len(r.shape(b)) != 2:
        raise r.unsupported("only QLinearMatMul by a constant 2-D matrix is supported")
    y_float = _requantized_output(r)
    _fully_connected(r, a, r.weight(b, (1, 0)), "", y_float)
    r.quantize(y_float, r.outputs[0])


@converter("Gemm")
def gemm(r: NodeReader):
    a, b, c = r.input(0), r.input(1), r.input(2)
    alpha, beta = r.attr("alpha", 1.0), r.attr("beta", 1.0)
    if r.attr("transA", 0):
        a = r.transpose(a, (1, 0))
    perm = None if r.attr("transB", 0) else (1, 0)
    if r.is_quantized_const(b) and alpha == 1.0:
        w = r.weight(b, perm)
    else:
        w = r.weight(b, perm, scale=np.float32(alpha) if alpha != 1.0 else None)
    y = r.outputs[0]
    n_out = r.shape(y)[1]
    c_shape = r.shape(c) if c else ()
    if not c or r.is_quantized_const(c) or int(np.prod(c_shape)) in (1, n_out) and (
            len(c_shape) < 2 or c_shape[0] == 1):
        bias = _gemm_bias(r, c, beta, n_out)
        _fully_connected(r, a, w, bias, y)
        return
    # a bias per row and column: a separate Add
    y_fc = r.tensor(f"{y}_fc", r.shape(y), "float32")
    _fully_connected(r, a, w, "", y_fc)
    c_full = r.const(c, "C").astype(np.float32) * np.float32(beta)
    r.emit("Add", [y_fc, r.tensor(f"{c}_c", c_full.shape, data=c_full)], [y], BinaryAttrs(),
           suffix="_add")


def _gemm_bias(r: NodeReader, c: str, beta: float, n_out: int) -> str:
    if not c:
        return ""
    if r.is_quantized_const(c):
        if beta != 1.0:
            raise r.unsupported("a quantized bias with beta != 1 is not supported")
        return r.weight(c)
    b = np.broadcast_to(r.const(c, "C").astype(np.float32).reshape(-1), (n_out,)) * np.float32(beta)
    return r.tensor(f"{c}_b", b.shape, "float32", data=b)


# -- elementwise ------------------------------------------------------------------------------

def _operand(r: NodeReader, name: str) -> str:
    """A constant operand as float32 (ONNX allows any float type for constants)."""
    if r.is_const(name) and not r.is_quantized_const(name):
        value = r.const(name).astype(np.float32)
        return r.tensor(f"{name}_f", value.shape, "float32", data=value)
    if r.is_quantized_const(name):
        return r.weight(name)
    return name


@converter("Add", "Sub", "Mul")
def binary(r: NodeReader):
    inputs = [_operand(r, r.input(0)), _operand(r, r.input(1))]
    r.emit(r.op_type, inputs, r.outputs[:1], BinaryAttrs())


@converter("Div")
def div(r: NodeReader):
    """x / c with a constant c: a Mul by 1 / c."""
    c = r.input(1)
    if not r.is_const(c):
        raise r.unsupported("only division by a constant is supported")
    inv = (np.float32(1) / r.const(c).astype(np.float32)).astype(np.float32)
    r.emit("Mul", [r.input(0), r.tensor(f"{c}_reciprocal", inv.shape, data=inv)], r.outputs[:1],
           BinaryAttrs())


@converter("Relu")
def relu(r: NodeReader):
    r.emit("Relu", r.inputs[:1], r.outputs[:1])


@converter("Clip")
def clip(r: NodeReader):
    if r.opset < 11:
        lo, hi = r.attr("min", -math.inf), r.attr("max", math.inf)
    else:
        lo = float(r.const(r.input(1), "min")) if r.input(1) else -math.inf
        hi = float(r.const(r.input(2), "max")) if r.input(2) else math.inf
    _clamp(r, float(lo), float(hi))


def _clamp(r: NodeReader, lo: float, hi: float) -> None:
    if (lo, hi) == (0.0, 6.0):
        r.emit("Relu6", r.inputs[:1], r.outputs[:1])
    elif (lo, hi) == (0.0, math.inf):
        r.emit("Relu", r.inputs[:1], r.outputs[:1])
    else:
        r.emit("Clip", r.inputs[:1], r.outputs[:1], ClipAttrs(lo, hi))


@converter("Sigmoid")
def sigmoid(r: NodeReader):
    r.emit("Logistic", r.inputs[:1], r.outputs[:1])


@converter("Tanh")
def tanh(r: NodeReader):
    r.emit("Tanh", r.inputs[:1], r.outputs[:1])


@converter("HardSwish")
def hard_swish(r: NodeReader):
    r.emit("HardSwish", r.inputs[:1], r.outputs[:1])


@converter("LeakyRelu")
def leaky_relu(r: NodeReader):
    r.emit("LeakyRelu", r.inputs[:1], r.outputs[:1], LeakyReluAttrs(float(r.attr("alpha", 0.01))))


@converter("BatchNormalization")
def batch_normalization(r: NodeReader):
    """Inference-mode BN as x * s + t per channel (axis 1); fold_batchnorm merges it into the
    producing Conv / Gemm, otherwise it runs as a Mul and an Add."""
    if len([o for o in r.outputs if o]) > 1:
        raise r.unsupported("training-mode BatchNormalization is not supported")
    x = r.input(0)
    gamma, beta, mean, var = (r.const(r.input(i), "the BN parameters").astype(np.float64)
                              for i in (1, 2, 3, 4))
    scale = gamma / np.sqrt(var + r.attr("epsilon", 1e-5))
    shift = beta - mean * scale
    channel = (-1,) + (1,) * (len(r.shape(x)) - 2)
    s = r.tensor(f"{r.name}_scale", scale.reshape(channel).shape, data=scale.reshape(channel))
    t = r.tensor(f"{r.name}_shift", shift.reshape(channel).shape, data=shift.reshape(channel))
    y = r.outputs[0]
    scaled = r.tensor(f"{y}_scaled", r.shape(y))
    r.emit("Mul", [x, s], [scaled], BinaryAttrs(), suffix="_mul")
    r.emit("Add", [scaled, t], [y], BinaryAttrs(), suffix="_add")


# -- pooling and reductions --------------------------------------------------------------------

def _pool(r: NodeReader, op: str) -> None:
    x, y = r.input(0), r.outputs[0]
    _spatial_2d(r, x)
    kernel = tuple(r.attr("kernel_shape"))
    strides = tuple(r.attr("strides", (1, 1)))
    if any(d != 1 for d in r.attr("dilations", (1, 1))):
        raise r.unsupported("dilated pooling is not supported")
    if len([o for o in r.outputs if o]) > 1:
        raise r.unsupported("the Indices output of MaxPool is not supported")
    pads = _window_pads(r, r.shape(x)[2:], kernel, strides, (1, 1))
    if op == "AveragePool2D" and r.attr("count_include_pad", 0) and any(pads):
        raise r.unsupported("count_include_pad=1 with padding is not supported")
    if r.attr("ceil_mode", 0):
        # ceil_mode only matters where it adds an output row/column; then pad the end
        out_hw = r.shape(y)[2:]
        pads = list(pads)
        for i, (size, k, s) in enumerate(zip(r.shape(x)[2:], kernel, strides)):
            floor_out = (size + pads[i] + pads[i + 2] - k) // s + 1
            pads[i + 2] += (out_hw[i] - floor_out) * s
        pads = tuple(pads)
    x_nhwc, y_nhwc = r.to_nhwc(x), r.nhwc_output(y)
    r.emit(op, [x_nhwc], [y_nhwc], Pool2DAttrs(kernel, strides, pads, NO_CLAMP))
    r.from_nhwc(y_nhwc, y)


@converter("MaxPool")
def max_pool(r: NodeReader):
    _pool(r, "MaxPool2D")


@converter("AveragePool")
def average_pool(r: NodeReader):
    _pool(r, "AveragePool2D")


def _mean_hw(r: NodeReader, x: str, y: str) -> None:
    x_nhwc = r.to_nhwc(x)
    n, c = r.shape(x)[:2]
    y_nhwc = r.tensor(f"{y}_nhwc", (n, 1, 1, c))
    r.emit("Mean", [x_nhwc], [y_nhwc], MeanAttrs((1, 2), True))
    if len(r.shape(y)) == 4:
        r.from_nhwc(y_nhwc, y)
    else:
        r.emit("Reshape", [y_nhwc], [y], suffix="_reshape")


@converter("GlobalAveragePool")
def global_average_pool(r: NodeReader):
    _spatial_2d(r, r.input(0))
    _mean_hw(r, r.input(0), r.outputs[0])


@converter("ReduceMean")
def reduce_mean(r: NodeReader):
    x = r.input(0)
    rank = len(r.shape(x))
    if r.opset >= 18 and r.input(1):
        axes = r.const(r.input(1), "axes").tolist()
    else:
        axes = r.attr("axes", list(range(rank)))
    if rank != 4 or sorted(a % rank for a in axes) != [2, 3]:
        raise r.unsupported("ReduceMean is supported over H and W of a rank-4 tensor only")
    _mean_hw(r, x, r.outputs[0])


# -- shapes and data movement ------------------------------------------------------------------

@converter("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout")
def reshape(r: NodeReader):
    if r.op_type == "Dropout" and len([o for o in r.outputs if o]) > 1:
        raise r.unsupported("the mask output of Dropout is not supported")
    r.emit("Reshape", r.inputs[:1], r.outputs[:1])


@converter("Transpose")
def transpose(r: NodeReader):
    x = r.input(0)
    perm = r.attr("perm", list(reversed(range(len(r.shape(x))))))
    r.transpose(x, tuple(perm), out=r.outputs[0])


@converter("Concat")
def concat(r: NodeReader):
    rank = len(r.shape(r.outputs[0]))
    inputs = [_operand(r, n) for n in r.inputs if n]
    r.emit("Concatenation", inputs, r.outputs[:1], ConcatAttrs(r.attr("axis") % rank))


@converter("Softmax")
def softmax(r: NodeReader):
    x, y = r.input(0), r.outputs[0]
    shape = r.shape(x)
    rank = len(shape)
    axis = r.attr("axis", -1 if r.opset >= 13 else 1) % rank
    if r.opset < 13 and axis != rank - 1:
        # before opset 13, Softmax normalises over all axes from `axis` on: a 2-D view
        rows = r.tensor(f"{x}_2d", (int(np.prod(shape[:axis])), int(np.prod(shape[axis:]))))
        out = r.tensor(f"{y}_2d", r._ctx.tensor(rows).shape)
        r.emit("Reshape", [x], [rows], suffix="_flatten")
        r.emit("Softmax", [rows], [out], SoftmaxAttrs(1.0))
        r.emit("Reshape", [out], [y], suffix="_unflatten")
    elif axis == rank - 1:
        r.emit("Softmax", [x], [y], SoftmaxAttrs(1.0))
    else:
        # the IR normalises the last axis: move `axis` there and back
        perm = tuple(a for a in range(rank) if a != axis) + (axis,)
        y_t = r.tensor(f"{y}_t", tuple(shape[p] for p in perm))
        r.emit("Softmax", [r.transpose(x, perm)], [y_t], SoftmaxAttrs(1.0))
        r.transpose(y_t, tuple(int(i) for i in np.argsort(perm)), out=y)


@converter("Pad")
def pad(r: NodeReader):
    x = r.input(0)
    rank = len(r.shape(x))
    if r.attr("mode", "constant") != "constant":
        raise r.unsupported(f"mode {r.attr('mode')} is not supported (constant only)")
    if r.opset < 11:
        pads, value = list(r.attr("pads")), float(r.attr("value", 0.0))
    else:
        pads = r.const(r.input(1), "pads").tolist()
        value = float(r.const(r.input(2), "the pad value")) if r.input(2) else 0.0
    axes = list(range(rank))
    if r.input(3):
        axes = [a % rank for a in r.const(r.input(3), "axes").tolist()]
    begin, end = [0] * rank, [0] * rank
    for i, a in enumerate(axes):
        begin[a], end[a] = pads[i], pads[i + len(axes)]
    if min(begin + end) < 0:
        raise r.unsupported("negative pads (cropping) are not supported")
    r.emit("Pad", [x], r.outputs[:1], PadAttrs(tuple(zip(begin, end)), value))


# -- quantization -------------------------------------------------------------------------------

@converter("QuantizeLinear")
def quantize_linear(r: NodeReader):
    if r.quant_of(r.outputs[0]) is None:
        raise r.unsupported("the scale and zero point must be constants")
    r.quantize(r.input(0), r.outputs[0])


@converter("DequantizeLinear")
def dequantize_linear(r: NodeReader):
    x = r.input(0)
    if r.quant_of(x) is None:
        raise r.unsupported("the scale and zero point must be constants")
    # a dequantized weight is read by converters through `weight`; this node then stays unused
    if r.quant_of(x).per_channel and not r.is_const(x):
        raise r.unsupported("per-channel dequantization of activations is not supported")
    r.emit("Dequantize", [x], r.outputs[:1])
