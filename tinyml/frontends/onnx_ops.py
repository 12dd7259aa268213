"""Converters from float ONNX ops to IR nodes, one function per op type (see onnx_reader).

Shapes come from ONNX shape inference, so shape-only ops (Reshape, Flatten, Squeeze, ...)
become an IR Reshape to the inferred shape. NHWC-only IR ops are wrapped in Transposes; 1-D
convolutions and pools run as 2-D ones over a height of 1. `since` lists the schema versions
each converter implements; where versions differ in semantics (attributes that became
inputs, Softmax's axis) the converter reads `r.version`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

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
from .onnx_reader import NodeReader, converter

#: the schema versions of Add, Sub, Mul and Div (after 7 they only gained types)
_ELEMENTWISE = (1, 6, 7, 13, 14)


# -- spatial windows ----------------------------------------------------------------------------

def _spatial_rank(r: NodeReader, x: str) -> int:
    """1 or 2: the number of spatial axes of the NC... input."""
    rank = len(r.shape(x))
    if rank not in (3, 4):
        raise r.unsupported(f"only 1-D and 2-D spatial inputs (rank 3 or 4) are supported, not "
                            f"rank {rank}")
    return rank - 2


def _window(r: NodeReader, x: str, kernel: tuple[int, ...]):
    """(strides, dilations, pads (top, left, bottom, right)) of a 2-D window over NCHW x."""
    n = len(kernel)
    strides = r.ints_attr("strides", (1,) * n, length=n, minimum=1)
    dilations = r.ints_attr("dilations", (1,) * n, length=n, minimum=1)
    in_hw = r.shape(x)[2:]
    if n == 1:  # a 1-D window is a 2-D one of height 1
        in_hw, kernel, strides, dilations = ((1, *v) for v in (in_hw, kernel, strides, dilations))
    auto_pad = r.string_attr("auto_pad", "NOTSET")
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pads = same_padding(in_hw, kernel, strides, dilations, upper=auto_pad == "SAME_UPPER")
    elif auto_pad == "VALID":
        pads = (0,) * 4
    elif auto_pad == "NOTSET":
        pads = r.ints_attr("pads", (0,) * (2 * n), length=2 * n, minimum=0)
        pads = pads if n == 2 else (0, pads[0], 0, pads[1])
    else:
        raise r.unsupported(f"auto_pad {auto_pad!r} is not supported")
    return tuple(strides), tuple(dilations), tuple(pads)


def _as_2d(r: NodeReader, name: str) -> str:
    """A rank-3 NCL tensor as NC1L (rank-4 tensors as they are)."""
    shape = r.shape(name)
    if len(shape) == 4:
        return name
    t = r.info(name)
    out = r.tensor(f"{name}_2d", (shape[0], shape[1], 1, shape[2]), t.dtype, quant=t.quant)
    r.emit("Reshape", [name], [out], suffix="_to_2d")
    return out


def _nchw_op(r: NodeReader, op: str, x: str, others, y: str, attrs) -> None:
    """`op` on NHWC data between Transposes, for an NCHW or NCL x and y."""
    x2 = _as_2d(r, x)
    if len(r.shape(y)) == 4:
        y_nhwc = r.nhwc_output(y)
        r.emit(op, [r.to_nhwc(x2), *others], [y_nhwc], attrs)
        r.from_nhwc(y_nhwc, y)
        return
    n, c, length = r.shape(y)
    t = r.info(y)
    y_nhwc = r.tensor(f"{y}_nhwc", (n, 1, length, c), t.dtype, quant=t.quant)
    r.emit(op, [r.to_nhwc(x2), *others], [y_nhwc], attrs)
    y_2d = r.tensor(f"{y}_2d", (n, c, 1, length), t.dtype, quant=t.quant)
    r.from_nhwc(y_nhwc, y_2d)
    r.emit("Reshape", [y_2d], [y], suffix="_from_2d")


# -- convolutions and dense layers --------------------------------------------------------

def conv_nchw(r: NodeReader, x: str, w: str, bias: str, y: str) -> None:
    """Conv on NC(H)W x with an OI(H)W weight: Conv2D (OHWI) or DepthwiseConv2D ([1,kh,kw,C*m])."""
    n = _spatial_rank(r, x)
    w_shape = r.shape(w)
    if len(w_shape) != n + 2:
        raise r.unsupported(f"the weight has rank {len(w_shape)}, {n + 2} expected")
    if bias and not (r.is_const(bias) or r.is_quantized_const(bias)):
        raise r.unsupported("the bias must be a constant")
    kernel = r.ints_attr("kernel_shape", w_shape[2:], length=n, minimum=1)
    if tuple(kernel) != tuple(w_shape[2:]):
        raise r.unsupported(f"kernel_shape {list(kernel)} differs from the weight's "
                            f"{list(w_shape[2:])}")
    strides, dilations, pads = _window(r, x, kernel)
    c_in, c_out = r.shape(x)[1], w_shape[0]
    group = r.int_attr("group", 1)
    if group < 1 or c_in % group or c_out % group or w_shape[1] * group != c_in:
        raise r.unsupported(f"group {group} does not fit {c_in} input and {c_out} output "
                            f"channels and a weight of shape {list(w_shape)}")
    perm = (0, 2, 3, 1) if n == 2 else (0, 2, 1)
    if group == c_in and group > 1:
        attrs = DepthwiseConv2DAttrs(strides, dilations, pads, c_out // c_in, NO_CLAMP)
        op, perm = "DepthwiseConv2D", ((1, 2, 3, 0) if n == 2 else (1, 2, 0))
    else:
        op, attrs = "Conv2D", Conv2DAttrs(strides, dilations, pads, group, NO_CLAMP)
    # 1-D: [O, K, I] -> [O, 1, K, I] (depthwise: [1, K, C] -> [1, 1, K, C]), still a constant
    weight = r.weight(w, perm, unit_axis=1 if n == 1 else None)
    _nchw_op(r, op, x, [weight, _bias(r, bias)], y, attrs)


def _bias(r: NodeReader, bias: str, scale: float = 1.0) -> str:
    if not bias:
        return ""
    if r.is_quantized_const(bias):
        return r.weight(bias)
    b = r.const(bias, "the bias").astype(np.float32).reshape(-1)
    return r.tensor(f"{bias}_b", b.shape, "float32", data=b * np.float32(scale))


@converter("Conv", makes=("Conv2D", "DepthwiseConv2D"), since=(1, 11, 22))
def conv(r: NodeReader):
    conv_nchw(r, r.required(0), r.required(1, "W"), r.input(2), r.outputs[0])


def fully_connected(r: NodeReader, a: str, w: str, bias: str, y: str) -> None:
    r.emit("FullyConnected", [a, w, bias], [y], FullyConnectedAttrs(NO_CLAMP))


@converter("MatMul", makes=("FullyConnected", "Mul"), since=(1, 9, 13))
def matmul(r: NodeReader):
    a, b = r.required(0), r.required(1, "B")
    if not (r.is_const(b) or r.is_quantized_const(b)):
        raise r.unsupported("only MatMul by a constant B is supported")
    a_rank, b_rank = len(r.shape(a)), len(r.shape(b))
    if a_rank >= 2 and b_rank == 2:
        fully_connected(r, a, r.weight(b, (1, 0)), "", r.outputs[0])
    elif r.is_quantized_const(b) or min(a_rank, b_rank) == 0:
        raise r.unsupported("only MatMul by a quantized 2-D matrix is supported")
    else:
        _batched_matmul(r, a, r.const(b).astype(np.float32), r.outputs[0])


#: the largest block-diagonal weight a batched MatMul may become (floats)
_BATCHED_WEIGHT_LIMIT = 1 << 20


def _batched_matmul(r: NodeReader, a: str, b: np.ndarray, y: str) -> None:
    """A @ B with a constant B of rank != 2 (or a 1-D A), numpy's broadcasting: the batch
    of matrices B[i] becomes one block-diagonal FullyConnected weight over the batch of A's
    rows laid side by side, [m, batch * k] -> [m, batch * n]."""
    a_shape = r.shape(a)
    a2_shape = (1, *a_shape) if len(a_shape) == 1 else a_shape
    b = b[:, None] if b.ndim == 1 else b
    (m, k), n = a2_shape[-2:], b.shape[-1]
    if b.shape[-2] != k:
        raise r.unsupported(f"A {list(a_shape)} and B {list(b.shape)} do not fit")
    try:
        batch = np.broadcast_shapes(a2_shape[:-2], b.shape[:-2])
    except ValueError:
        raise r.unsupported(f"the batch dims of A {list(a_shape)} and B {list(b.shape)} do not "
                            "broadcast") from None
    count = int(np.prod(batch, dtype=np.int64))
    if count * count * n * k > _BATCHED_WEIGHT_LIMIT:
        raise r.unsupported("the batch of B matrices is too large")
    x = _reshaped(r, a, a2_shape)
    full = (*batch, m, k)
    if tuple(a2_shape) != full:   # A broadcast over B's batch: times ones, exactly
        ones = np.ones(full, np.float32)
        x_full = r.tensor(f"{a}_broadcast", full)
        r.emit("Mul", [x, r.tensor(f"{a}_ones", full, data=ones)], [x_full], BinaryAttrs(),
               suffix="_broadcast")
        x = x_full
    blocks = np.broadcast_to(b, (*batch, k, n)).reshape(count, k, n)
    weight = np.zeros((count * n, count * k), np.float32)
    for i in range(count):
        weight[i * n:(i + 1) * n, i * k:(i + 1) * k] = blocks[i].T
    w = r.tensor(f"{r.name}_block_weight", weight.shape, data=weight)
    if count > 1:
        x = r.transpose(_reshaped(r, x, (count, m, k)), (1, 0, 2))
    rows = r.tensor(f"{y}_rows", (m, count * n))
    fully_connected(r, _reshaped(r, x, (m, count * k)), w, "", rows)
    if count > 1:
        rows = r.transpose(_reshaped(r, rows, (m, count, n)), (1, 0, 2))
    r.emit("Reshape", [rows], [y], suffix="_reshape")


def _reshaped(r: NodeReader, name: str, shape) -> str:
    if tuple(r.shape(name)) == tuple(shape):
        return name
    t = r.info(name)
    out = r.tensor(f"{name}_reshaped", shape, t.dtype, quant=t.quant)
    r.emit("Reshape", [name], [out], suffix="_reshape")
    return out


@converter("Gemm", makes=("FullyConnected", "Add"), since=(1, 6, 7, 9, 11, 13))
def gemm(r: NodeReader):
    a, b, c = r.required(0), r.required(1, "B"), r.input(2)
    if len(r.shape(a)) != 2 or len(r.shape(b)) != 2:
        raise r.unsupported("Gemm needs 2-D A and B")
    alpha, beta = r.float_attr("alpha", 1.0), r.float_attr("beta", 1.0)
    if r.int_attr("transA", 0):
        a = r.transpose(a, (1, 0))
    perm = None if r.int_attr("transB", 0) else (1, 0)
    if r.is_quantized_const(b) and alpha == 1.0:
        w = r.weight(b, perm)
    else:
        w = r.weight(b, perm, scale=np.float32(alpha) if alpha != 1.0 else None)
    y = r.outputs[0]
    n_out = r.shape(y)[1]
    c_shape = r.shape(c) if c else ()
    if not c or r.is_quantized_const(c) or int(np.prod(c_shape)) in (1, n_out) and (
            len(c_shape) < 2 or c_shape[0] == 1):
        fully_connected(r, a, w, _gemm_bias(r, c, beta, n_out), y)
        return
    # a bias per row and column: a separate Add
    y_fc = r.tensor(f"{y}_fc", r.shape(y), "float32")
    fully_connected(r, a, w, "", y_fc)
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

def operand(r: NodeReader, name: str) -> str:
    """A constant operand as float32 (ONNX allows any float type for constants)."""
    if r.is_quantized_const(name):
        return r.weight(name)
    if r.is_const(name):
        value = r.const(name).astype(np.float32)
        return r.tensor(f"{name}_f", value.shape, "float32", data=value)
    return name


def _legacy_broadcast(r: NodeReader) -> None:
    if r.version < 7 and r.int_attr("broadcast", 0):
        raise r.unsupported(f"the legacy broadcast attribute of {r.op_type}-{r.version} is not "
                            "supported")


@converter("Add", "Sub", "Mul", makes={"Add": ("Add",), "Sub": ("Sub",), "Mul": ("Mul",)},
           since=_ELEMENTWISE)
def binary(r: NodeReader):
    _legacy_broadcast(r)
    inputs = [operand(r, r.required(0)), operand(r, r.required(1))]
    r.emit(r.op_type, inputs, r.outputs[:1], BinaryAttrs())


@converter("Div", makes=("Div", "Mul"), since=_ELEMENTWISE)
def div(r: NodeReader):
    """x / y; by a float constant c, a Mul by 1 / c (one multiply per element, not a divide)."""
    _legacy_broadcast(r)
    x, c = r.required(0), r.required(1)
    if not r.is_const(c) or r.is_quantized_const(c):
        r.emit("Div", [operand(r, x), operand(r, c)], r.outputs[:1], BinaryAttrs())
        return
    with np.errstate(divide="ignore"):
        inv = (np.float32(1) / r.const(c).astype(np.float32)).astype(np.float32)
    r.emit("Mul", [operand(r, x), r.tensor(f"{c}_reciprocal", inv.shape, data=inv)],
           r.outputs[:1], BinaryAttrs())


def _unary(r: NodeReader, op: str, attrs=None) -> None:
    r.emit(op, [r.required(0)], r.outputs[:1], attrs)


@converter("Relu", makes=("Relu",), since=(1, 6, 13, 14))
def relu(r: NodeReader):
    _unary(r, "Relu")


@converter("Clip", makes=("Clip", "Relu", "Relu6"), since=(1, 6, 11, 12, 13))
def clip(r: NodeReader):
    if r.version < 11:
        lo, hi = r.float_attr("min", -math.inf), r.float_attr("max", math.inf)
    else:
        lo = r.scalar(r.input(1), "min") if r.input(1) else -math.inf
        hi = r.scalar(r.input(2), "max") if r.input(2) else math.inf
    if math.isnan(lo) or math.isnan(hi):
        raise r.unsupported("a NaN bound is not supported")
    if (lo, hi) == (0.0, 6.0):
        _unary(r, "Relu6")
    elif (lo, hi) == (0.0, math.inf):
        _unary(r, "Relu")
    else:
        _unary(r, "Clip", ClipAttrs(lo, hi))


@converter("Sigmoid", makes=("Logistic",), since=(1, 6, 13))
def sigmoid(r: NodeReader):
    _unary(r, "Logistic")


@converter("Tanh", makes=("Tanh",), since=(1, 6, 13))
def tanh(r: NodeReader):
    _unary(r, "Tanh")


@converter("HardSwish", makes=("HardSwish",), since=(14, 22))
def hard_swish(r: NodeReader):
    _unary(r, "HardSwish")


@converter("LeakyRelu", makes=("LeakyRelu",), since=(1, 6, 16))
def leaky_relu(r: NodeReader):
    _unary(r, "LeakyRelu", LeakyReluAttrs(r.float_attr("alpha", 0.01)))


@converter("BatchNormalization", makes=("Mul", "Add"), since=(7, 9, 14, 15))
def batch_normalization(r: NodeReader):
    """Inference-mode BN as x * s + t per channel (axis 1); fold_batchnorm merges it into the
    producing Conv / Gemm, otherwise it runs as a Mul and an Add."""
    if len([o for o in r.outputs if o]) > 1 or r.int_attr("training_mode", 0):
        raise r.unsupported("training-mode BatchNormalization is not supported")
    if r.version == 7 and r.int_attr("spatial", 1) != 1:
        raise r.unsupported("spatial=0 is not supported")
    x = r.required(0)
    rank = len(r.shape(x))
    if rank < 2:
        raise r.unsupported("the input needs a channel axis")
    channels = r.shape(x)[1]
    params = []
    for i, what in enumerate(("scale", "B", "mean", "var"), start=1):
        value = r.const(r.required(i, what), f"the BN {what}").astype(np.float64)
        if value.size != channels:
            raise r.unsupported(f"the BN {what} has {value.size} values for {channels} channels")
        params.append(value.reshape(-1))
    gamma, beta, mean, var = params
    scale = gamma / np.sqrt(var + r.float_attr("epsilon", 1e-5))
    shift = beta - mean * scale
    channel = (-1,) + (1,) * (rank - 2)
    s = r.tensor(f"{r.name}_scale", scale.reshape(channel).shape, data=scale.reshape(channel))
    t = r.tensor(f"{r.name}_shift", shift.reshape(channel).shape, data=shift.reshape(channel))
    y = r.outputs[0]
    scaled = r.tensor(f"{y}_scaled", r.shape(y))
    r.emit("Mul", [x, s], [scaled], BinaryAttrs(), suffix="_mul")
    r.emit("Add", [scaled, t], [y], BinaryAttrs(), suffix="_add")


# -- pooling and reductions --------------------------------------------------------------------

@dataclass(frozen=True)
class _PoolAxis:
    """One spatial axis of an ONNX pool: `extra` cells past `end` hold the windows that
    ceil_mode adds (never counted, not even with count_include_pad, as in onnxruntime)."""

    kernel: int = 1
    stride: int = 1
    dilation: int = 1
    begin: int = 0
    end: int = 0
    extra: int = 0


def _pool_axes(r: NodeReader, x: str, y: str, n: int) -> list[_PoolAxis]:
    kernel = r.ints_attr("kernel_shape", length=n, minimum=1)
    if kernel is None:
        raise r.unsupported("attribute 'kernel_shape' is missing")
    strides = r.ints_attr("strides", (1,) * n, length=n, minimum=1)
    dilations = r.ints_attr("dilations", (1,) * n, length=n, minimum=1)
    in_sizes, out_sizes = r.shape(x)[2:], r.shape(y)[2:]
    if len(out_sizes) != n:
        raise r.unsupported(f"the output has rank {len(out_sizes) + 2}, the input {n + 2}")
    auto_pad = r.string_attr("auto_pad", "NOTSET")
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pads = [same_padding((size, 1), (k, 1), (s, 1), (d, 1), upper=auto_pad == "SAME_UPPER")
                for size, k, s, d in zip(in_sizes, kernel, strides, dilations)]
        begins, ends = [p[0] for p in pads], [p[2] for p in pads]
    elif auto_pad in ("VALID", "NOTSET"):
        pads = (0,) * (2 * n) if auto_pad == "VALID" else \
            r.ints_attr("pads", (0,) * (2 * n), length=2 * n, minimum=0)
        begins, ends = pads[:n], pads[n:]
    else:
        raise r.unsupported(f"auto_pad {auto_pad!r} is not supported")
    axes = []
    for size, out, k, s, d, lo, hi in zip(in_sizes, out_sizes, kernel, strides, dilations,
                                          begins, ends):
        if r.int_attr("ceil_mode", 0) and (out - 1) * s >= size + lo:
            # shape inference before version 22 counts this window, onnxruntime does not
            raise r.unsupported(f"ceil_mode: the last of {out} windows would start in the end "
                                "padding")
        span = (k - 1) * d + 1
        # ceil_mode: the padded input is too short for the inferred output's last window
        extra = max((out - 1) * s + span - (size + lo + hi), 0)
        if (size + lo + hi + extra - span) // s + 1 != out or (
                extra and not r.int_attr("ceil_mode", 0)):
            raise r.unsupported(f"the output size {out} does not follow from the input size "
                                f"{size} and the window")
        axes.append(_PoolAxis(k, s, d, lo, hi, extra))
    return axes


def _pool(r: NodeReader, op: str) -> None:
    """1-D, 2-D and 3-D pools. A 3-D window is a box, so it pools as two 2-D pools: over
    (H, W) per depth slice, then over D; a max is separable, and so is an average, since the
    window cells inside the (padded) input are a product of per-axis sets."""
    x, y = r.required(0), r.outputs[0]
    rank = len(r.shape(x))
    if rank not in (3, 4, 5):
        raise r.unsupported(f"only 1-D, 2-D and 3-D spatial inputs (rank 3 to 5) are "
                            f"supported, not rank {rank}")
    if len([o for o in r.outputs if o]) > 1:
        raise r.unsupported("the Indices output of MaxPool is not supported")
    axes = _pool_axes(r, x, y, rank - 2)
    include_pad = op == "AveragePool2D" and bool(r.int_attr("count_include_pad", 0))
    if rank < 5:
        _pool_2d(r, op, x, y, axes if rank == 4 else [_PoolAxis(), *axes], include_pad)
        return
    n, c, d, h, w = r.shape(x)
    out_d, out_h, out_w = r.shape(y)[2:]
    t = r.info(y)
    planes = r.tensor(f"{y}_planes", (n, c * d, out_h, out_w), t.dtype, quant=t.quant)
    _pool_2d(r, op, _reshaped(r, x, (n, c * d, h, w)), planes, axes[1:], include_pad)
    depth = r.tensor(f"{y}_depth", (n, c, out_d, out_h * out_w), t.dtype, quant=t.quant)
    _pool_2d(r, op, _reshaped(r, planes, (n, c, d, out_h * out_w)), depth,
             [axes[0], _PoolAxis()], include_pad)
    r.emit("Reshape", [depth], [y], suffix="_reshape")


def _pool_2d(r: NodeReader, op: str, x: str, y: str, axes, include_pad: bool) -> None:
    """One IR pool over the last two axes (height, width) of NCHW (or NCL: width only) x."""
    h, w = axes
    if include_pad and any((h.begin, h.end, w.begin, w.end)):
        x = _zero_pad(r, x, (h.begin, w.begin, h.end, w.end))
        h, w = (dataclasses.replace(a, begin=0, end=0) for a in (h, w))
    attrs = Pool2DAttrs((h.kernel, w.kernel), (h.stride, w.stride),
                        (h.begin, w.begin, h.end + h.extra, w.end + w.extra), NO_CLAMP,
                        (h.dilation, w.dilation))
    _nchw_op(r, op, x, [], y, attrs)


def _zero_pad(r: NodeReader, x: str, pads) -> str:
    """x padded with zeros on its spatial axes: padding that the average counts."""
    shape = r.shape(x)
    top, left, bottom, right = pads
    spatial = ((top, bottom), (left, right)) if len(shape) == 4 else ((left, right),)
    t = r.info(x)
    out_shape = (*shape[:2], *(d + a + b for d, (a, b) in zip(shape[2:], spatial)))
    out = r.tensor(f"{x}_padded", out_shape, t.dtype, quant=t.quant)
    r.emit("Pad", [x], [out], PadAttrs(((0, 0), (0, 0), *spatial), 0.0), suffix="_pad")
    return out


@converter("MaxPool", makes=("MaxPool2D",), since=(1, 8, 10, 11, 12, 22))
def max_pool(r: NodeReader):
    if r.int_attr("storage_order", 0):
        raise r.unsupported("storage_order=1 is not supported")
    _pool(r, "MaxPool2D")


@converter("AveragePool", makes=("AveragePool2D",), since=(1, 7, 10, 11, 19, 22))
def average_pool(r: NodeReader):
    _pool(r, "AveragePool2D")


def mean_hw(r: NodeReader, x: str, y: str) -> None:
    """Mean over H and W of NCHW x, in NHWC (where the int8 Mean is TFLite's)."""
    x_nhwc = r.to_nhwc(x)
    n, c = r.shape(x)[:2]
    t = r.info(y)
    y_nhwc = r.tensor(f"{y}_nhwc", (n, 1, 1, c), t.dtype, quant=t.quant)
    r.emit("Mean", [x_nhwc], [y_nhwc], MeanAttrs((1, 2), True))
    if len(r.shape(y)) == 4:
        r.from_nhwc(y_nhwc, y)
    else:
        r.emit("Reshape", [y_nhwc], [y], suffix="_reshape")


@converter("GlobalAveragePool", makes=("Mean",), since=(1, 22))
def global_average_pool(r: NodeReader):
    x = r.required(0)
    if len(r.shape(x)) != 4:
        raise r.unsupported(f"only rank-4 inputs are supported, not rank {len(r.shape(x))}")
    mean_hw(r, x, r.outputs[0])


@converter("ReduceMean", makes=("Mean",), since=(1, 11, 13, 18))
def reduce_mean(r: NodeReader):
    x, y = r.required(0), r.outputs[0]
    rank = len(r.shape(x))
    if r.version >= 18:
        axes = r.const(r.input(1), "axes").reshape(-1).tolist() if r.input(1) else []
        if not axes and r.int_attr("noop_with_empty_axes", 0):
            r.emit("Reshape", [x], [y], suffix="_identity")
            return
    else:
        axes = list(r.ints_attr("axes", ()))
    axes = axes or list(range(rank))
    if any(not -rank <= a < rank for a in axes) or len({a % rank for a in axes}) != len(axes):
        raise r.unsupported(f"axes {axes} are not distinct axes of a rank-{rank} tensor")
    axes = sorted(a % rank for a in axes)
    if rank == 4 and axes == [2, 3]:
        mean_hw(r, x, y)
        return
    # the reduced axes last, then one Mean over the tail and a Reshape to the output
    kept = [a for a in range(rank) if a not in axes]
    src = x if kept + axes == list(range(rank)) else r.transpose(x, (*kept, *axes))
    shape = r.shape(x)
    t = r.info(y)
    tail = tuple(shape[a] for a in kept) + (1,) * len(axes)
    reduced = r.tensor(f"{y}_mean", tail, t.dtype, quant=t.quant)
    r.emit("Mean", [src], [reduced], MeanAttrs(tuple(range(len(kept), rank)), True))
    r.emit("Reshape", [reduced], [y], suffix="_reshape")


# -- shapes and data movement ------------------------------------------------------------------

@converter("Reshape", makes=("Reshape",), since=(1, 5, 13, 14, 19, 21, 23, 24, 25))
@converter("Flatten", makes=("Reshape",), since=(1, 9, 11, 13, 21, 23, 24, 25))
@converter("Squeeze", "Unsqueeze", makes=("Reshape",), since=(1, 11, 13, 21, 23, 24, 25))
@converter("Identity", makes=("Reshape",), since=(1, 13, 14, 16, 19, 21, 23, 24, 25))
def reshape(r: NodeReader):
    x = r.required(0)
    if r.shape(x) and r.info(x).size != r.info(r.outputs[0]).size:
        raise r.unsupported(f"{list(r.shape(x))} cannot become {list(r.shape(r.outputs[0]))}")
    r.emit("Reshape", [x], r.outputs[:1])


@converter("Dropout", makes=("Reshape",), since=(1, 6, 7, 10, 12, 13, 22))
def dropout(r: NodeReader):
    if len([o for o in r.outputs if o]) > 1:
        raise r.unsupported("the mask output of Dropout is not supported")
    training = r.int_attr("is_test", 1) == 0 if r.version < 7 else (
        bool(r.scalar(r.input(2), "training_mode")) if r.input(2) else False)
    ratio = r.scalar(r.input(1), "ratio") if r.version >= 12 and r.input(1) else \
        r.float_attr("ratio", 0.5) if r.version < 12 else 0.5
    if training and ratio != 0:
        raise r.unsupported("training-mode Dropout (random) is not supported")
    r.emit("Reshape", [r.required(0)], r.outputs[:1])


@converter("Transpose", makes=("Transpose",), since=(1, 13, 21, 23, 24, 25))
def transpose(r: NodeReader):
    x = r.required(0)
    rank = len(r.shape(x))
    perm = r.ints_attr("perm", tuple(reversed(range(rank))), length=rank)
    r.transpose(x, perm, out=r.outputs[0])


@converter("Concat", makes=("Concatenation",), since=(1, 4, 11, 13))
def concat(r: NodeReader):
    rank = len(r.shape(r.outputs[0]))
    axis = r.int_attr("axis", 1) if r.version < 4 or r.has_attr("axis") else None
    if axis is None:
        raise r.unsupported("attribute 'axis' is missing")
    if not -rank <= axis < rank:
        raise r.unsupported(f"axis {axis} is out of range for rank {rank}")
    inputs = [operand(r, n) for n in r.inputs if n and r.info(n).size]
    if not inputs:
        raise r.unsupported("no inputs")
    r.emit("Concatenation", inputs, r.outputs[:1], ConcatAttrs(axis % rank))


@converter("Softmax", makes=("Softmax",), since=(1, 11, 13))
def softmax(r: NodeReader):
    x, y = r.required(0), r.outputs[0]
    shape = r.shape(x)
    rank = len(shape)
    axis = r.int_attr("axis", -1 if r.version >= 13 else 1)
    if not -rank <= axis < rank:
        raise r.unsupported(f"axis {axis} is out of range for rank {rank}")
    axis %= rank
    if r.version < 13 and axis != rank - 1:
        # before opset 13, Softmax normalises over all axes from `axis` on: a 2-D view
        rows = r.tensor(f"{x}_2d", (int(np.prod(shape[:axis])), int(np.prod(shape[axis:]))))
        out = r.tensor(f"{y}_2d", r.shape(rows))
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


@converter("Pad", makes=("Pad",), since=(2, 11, 13, 18, 19, 21, 23, 24, 25))
def pad(r: NodeReader):
    x = r.required(0)
    rank = len(r.shape(x))
    mode = r.string_attr("mode", "constant")
    if mode != "constant":
        raise r.unsupported(f"mode {mode} is not supported (constant only)")
    if r.version < 11:
        pads, value = r.ints_attr("pads", length=2 * rank), r.float_attr("value", 0.0)
        if pads is None:
            raise r.unsupported("attribute 'pads' is missing")
    else:
        pads = r.const(r.required(1, "pads"), "pads").reshape(-1).tolist()
        value = r.scalar(r.input(2), "the pad value") if r.input(2) else 0.0
    axes = list(range(rank))
    if r.input(3):
        axes = r.const(r.input(3), "axes").reshape(-1).tolist()
        if any(not -rank <= a < rank for a in axes) or len({a % rank for a in axes}) != len(axes):
            raise r.unsupported(f"axes {axes} are not distinct axes of rank {rank}")
        axes = [a % rank for a in axes]
    if len(pads) != 2 * len(axes):
        raise r.unsupported(f"{len(pads)} pads for {len(axes)} axes")
    begin, end = [0] * rank, [0] * rank
    for i, a in enumerate(axes):
        begin[a], end[a] = int(pads[i]), int(pads[i + len(axes)])
    if min(begin + end, default=0) < 0:
        raise r.unsupported("negative pads (cropping) are not supported")
    r.emit("Pad", [x], r.outputs[:1], PadAttrs(tuple(zip(begin, end)), value))
