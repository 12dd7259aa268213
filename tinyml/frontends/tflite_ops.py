"""Converters from TFLite builtin operators to IR nodes, one function per operator."""

from __future__ import annotations

import tflite

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
from ..ops.transpose import TransposeAttrs
from .tflite import ACTIVATIONS, OpReader, converter


@converter("FULLY_CONNECTED")
def fully_connected(r: OpReader, tensors):
    opts = r.options(tflite.FullyConnectedOptions)
    if opts is not None and opts.WeightsFormat() != 0:
        raise r.unsupported("shuffled weights format is not supported")
    return [r.node("FullyConnected", FullyConnectedAttrs(act=r.activation(opts)))]


def _window(r: OpReader, opts, tensors) -> tuple[tuple[int, int], tuple[int, int], tuple]:
    """Strides, dilations and explicit pads of a CONV_2D / DEPTHWISE_CONV_2D (Padding SAME=0)."""
    x, w = tensors[r.inputs[0]], tensors[r.inputs[1]]
    strides = (opts.StrideH(), opts.StrideW())
    dilations = (opts.DilationHFactor(), opts.DilationWFactor())
    if opts.Padding() == tflite.Padding.SAME:
        pads = same_padding(x.shape[1:3], w.shape[1:3], strides, dilations)
    elif opts.Padding() == tflite.Padding.VALID:
        pads = (0, 0, 0, 0)
    else:
        raise r.unsupported(f"padding type {opts.Padding()} is not supported")
    return strides, dilations, pads


@converter("CONV_2D")
def conv_2d(r: OpReader, tensors):
    opts = r.options(tflite.Conv2DOptions)
    strides, dilations, pads = _window(r, opts, tensors)
    groups = tensors[r.inputs[0]].shape[3] // tensors[r.inputs[1]].shape[3]
    return [r.node("Conv2D", Conv2DAttrs(strides, dilations, pads, groups, r.activation(opts)))]


@converter("DEPTHWISE_CONV_2D")
def depthwise_conv_2d(r: OpReader, tensors):
    opts = r.options(tflite.DepthwiseConv2DOptions)
    strides, dilations, pads = _window(r, opts, tensors)
    # the DepthMultiplier option is 0 or stale in some old models: the shapes are the truth
    multiplier = tensors[r.inputs[1]].shape[3] // tensors[r.inputs[0]].shape[3]
    return [r.node("DepthwiseConv2D",
                   DepthwiseConv2DAttrs(strides, dilations, pads, multiplier, r.activation(opts)))]


@converter("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
def reshape(r: OpReader, tensors):
    return [r.node("Reshape", inputs=r.inputs[:1])]


# -- nonlinear activations ------------------------------------------------------------------

@converter("SOFTMAX")
def softmax(r: OpReader, tensors):
    opts = r.options(tflite.SoftmaxOptions)
    return [r.node("Softmax", SoftmaxAttrs(beta=opts.Beta() if opts is not None else 1.0))]


@converter("LOGISTIC")
def logistic(r: OpReader, tensors):
    return [r.node("Logistic")]


@converter("TANH")
def tanh(r: OpReader, tensors):
    return [r.node("Tanh")]


@converter("RELU")
def relu(r: OpReader, tensors):
    return [r.node("Relu")]


@converter("RELU6")
def relu6(r: OpReader, tensors):
    return [r.node("Relu6")]


@converter("RELU_N1_TO_1")
def relu_n1_to_1(r: OpReader, tensors):
    return [r.node("Clip", ClipAttrs(lo=-1.0, hi=1.0))]


@converter("LEAKY_RELU")
def leaky_relu(r: OpReader, tensors):
    opts = r.options(tflite.LeakyReluOptions)
    return [r.node("LeakyRelu", LeakyReluAttrs(alpha=opts.Alpha() if opts is not None else 0.0))]


@converter("HARD_SWISH")
def hard_swish(r: OpReader, tensors):
    return [r.node("HardSwish")]


# -- elementwise, pooling, mean, pad, concatenation, transpose, (de)quantize ----------------

def _const_ints(r: OpReader, tensors, index: int, what: str) -> list[int]:
    t = tensors.get(r.inputs[index]) if index < len(r.inputs) else None
    if t is None or not t.is_const:
        raise r.unsupported(f"non-constant {what} are not supported")
    return [int(v) for v in t.data.reshape(-1)]


@converter("ADD")
def add(r: OpReader, tensors):
    return [r.node("Add", BinaryAttrs(r.activation(r.options(tflite.AddOptions))))]


@converter("SUB")
def sub(r: OpReader, tensors):
    return [r.node("Sub", BinaryAttrs(r.activation(r.options(tflite.SubOptions))))]


@converter("MUL")
def mul(r: OpReader, tensors):
    return [r.node("Mul", BinaryAttrs(r.activation(r.options(tflite.MulOptions))))]


@converter("AVERAGE_POOL_2D", "MAX_POOL_2D")
def pool_2d(r: OpReader, tensors):
    opts = r.options(tflite.Pool2DOptions)
    kernel = (opts.FilterHeight(), opts.FilterWidth())
    strides = (opts.StrideH(), opts.StrideW())
    if opts.Padding() == tflite.Padding.SAME:
        pads = same_padding(tensors[r.inputs[0]].shape[1:3], kernel, strides, (1, 1))
    elif opts.Padding() == tflite.Padding.VALID:
        pads = (0, 0, 0, 0)
    else:
        raise r.unsupported(f"padding type {opts.Padding()} is not supported")
    op = "AveragePool2D" if r.opname == "AVERAGE_POOL_2D" else "MaxPool2D"
    return [r.node(op, Pool2DAttrs(kernel, strides, pads, r.activation(opts)))]


@converter("MEAN")
def mean(r: OpReader, tensors):
    rank = len(tensors[r.inputs[0]].shape)
    axes = tuple(sorted({a % rank for a in _const_ints(r, tensors, 1, "axes")}))
    opts = r.options(tflite.ReducerOptions)
    keepdims = bool(opts.KeepDims()) if opts is not None else False
    return [r.node("Mean", MeanAttrs(axes, keepdims), inputs=r.inputs[:1])]


@converter("PAD", "PADV2")
def pad(r: OpReader, tensors):
    flat = _const_ints(r, tensors, 1, "paddings")
    pads = tuple((flat[i], flat[i + 1]) for i in range(0, len(flat), 2))
    value = 0.0
    if r.opname == "PADV2" and len(r.inputs) > 2 and r.inputs[2]:
        c = tensors[r.inputs[2]]
        if not c.is_const:
            raise r.unsupported("a non-constant pad value is not supported")
        raw = c.data.reshape(-1)[0]
        if c.quant is not None and c.dtype != "float32":
            raw = (int(raw) - c.quant.zero_point[0]) * c.quant.scale[0]
        value = float(raw)
    return [r.node("Pad", PadAttrs(pads, value), inputs=r.inputs[:1])]


@converter("CONCATENATION")
def concatenation(r: OpReader, tensors):
    opts = r.options(tflite.ConcatenationOptions)
    if r.activation(opts) != ACTIVATIONS[0]:
        raise r.unsupported("a fused activation on CONCATENATION is not supported")
    rank = len(tensors[r.outputs[0]].shape)
    return [r.node("Concatenation", ConcatAttrs(opts.Axis() % rank))]


@converter("TRANSPOSE")
def transpose(r: OpReader, tensors):
    perm = tuple(_const_ints(r, tensors, 1, "permutations"))
    return [r.node("Transpose", TransposeAttrs(perm), inputs=r.inputs[:1])]


@converter("QUANTIZE")
def quantize(r: OpReader, tensors):
    return [r.node("Quantize")]


@converter("DEQUANTIZE")
def dequantize(r: OpReader, tensors):
    return [r.node("Dequantize")]
