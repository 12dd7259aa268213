"""Converters from TFLite builtin operators to IR nodes, one function per operator.

Each converter sees one operator through an `OpReader` and checks what it reads (operand
count and ranks, option values, constant operands) before computing anything from it: a
malformed operator is a `ModelError` naming the node and op, an unsupported one an
`UnsupportedError`. The importer (tflite.py) depends on this module, never the reverse.
"""

from __future__ import annotations

import math
from typing import Callable

import tflite

from ..errors import ModelError, UnsupportedError
from ..ir import Node, Tensor
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

#: fused activation function -> clamp range
ACTIVATIONS = {0: (-math.inf, math.inf), 1: (0.0, math.inf), 2: (-1.0, 1.0), 3: (0.0, 6.0)}
#: activation codes the schema defines that tinyml does not compute: TANH, SIGN_BIT
_UNSUPPORTED_ACTIVATIONS = {4: "TANH", 5: "SIGN_BIT"}
_OPTION_TYPES = {v: k for k, v in vars(tflite.BuiltinOptions).items() if not k.startswith("_")}


class OpReader:
    """What a converter sees of one TFLite operator: operand names (already range-checked,
    "" for an omitted optional operand), its options table and the tensors."""

    def __init__(self, op, name: str, opname: str, inputs: tuple[str, ...],
                 outputs: tuple[str, ...], tensors: dict[str, Tensor], source: str):
        self._op = op
        self.name, self.opname, self.source = name, opname, source
        self.inputs, self.outputs, self._tensors = inputs, outputs, tensors

    def error(self, what: str) -> ModelError:
        return ModelError(what, model=self.source, node=self.name, op=self.opname)

    def unsupported(self, what: str) -> UnsupportedError:
        return UnsupportedError(what, model=self.source, node=self.name, op=self.opname)

    def input(self, index: int) -> Tensor:
        """Input `index`, which the op needs."""
        if index >= len(self.inputs) or not self.inputs[index]:
            raise self.error(f"input {index} is missing ({len(self.inputs)} inputs given)")
        return self._tensors[self.inputs[index]]

    def output(self, index: int = 0) -> Tensor:
        if index >= len(self.outputs):
            raise self.error(f"output {index} is missing ({len(self.outputs)} outputs given)")
        return self._tensors[self.outputs[index]]

    def input_of_rank(self, index: int, rank: int, what: str) -> Tensor:
        t = self.input(index)
        if len(t.shape) != rank:
            raise self.error(f"{what} {t.name!r} has shape {t.shape}, expected rank {rank}")
        return t

    def options(self, options_cls, required: bool = False):
        """The operator's options table as `options_cls`, None when absent (unless required)."""
        table = self._op.BuiltinOptions()
        expected = options_cls.__name__
        if table is None:
            if required:
                raise self.error(f"the operator has no {expected} table")
            return None
        found = _OPTION_TYPES.get(self._op.BuiltinOptionsType(), str(self._op.BuiltinOptionsType()))
        if found != expected:
            raise self.error(f"the operator carries {found} options, expected {expected}")
        opts = options_cls()
        opts.Init(table.Bytes, table.Pos)
        return opts

    def activation(self, opts) -> tuple[float, float]:
        code = opts.FusedActivationFunction() if opts is not None else 0
        if code in _UNSUPPORTED_ACTIVATIONS:
            raise self.unsupported(f"fused activation {_UNSUPPORTED_ACTIVATIONS[code]} is not "
                                   "supported")
        if code not in ACTIVATIONS:
            raise self.error(f"invalid fused activation code {code}")
        return ACTIVATIONS[code]

    def positive(self, values: tuple[int, ...], what: str) -> tuple[int, ...]:
        if any(v < 1 for v in values):
            raise self.error(f"{what} {values} must be at least 1")
        return values

    def const_ints(self, index: int, what: str) -> list[int]:
        t = self.input(index)
        if not t.is_const:
            raise self.unsupported(f"non-constant {what} are not supported")
        if t.dtype not in ("int32", "int64"):
            raise self.error(f"{what} {t.name!r} are {t.dtype}, expected int32 or int64")
        return [int(v) for v in t.data.reshape(-1)]

    def axis(self, axis: int, rank: int, what: str = "axis") -> int:
        if not -rank <= axis < rank:
            raise self.error(f"{what} {axis} is out of range for rank {rank}")
        return axis % rank

    def node(self, op: str, attrs=None, inputs=None, outputs=None) -> Node:
        return Node(self.name, op, tuple(self.inputs if inputs is None else inputs),
                    tuple(self.outputs if outputs is None else outputs), attrs)


Converter = Callable[[OpReader], list[Node]]
CONVERTERS: dict[str, Converter] = {}
#: builtin op -> the IR ops its converter makes (besides makes.LAYOUT_OPS)
MAKES: dict[str, tuple[str, ...]] = {}


def converter(*opnames: str, makes: tuple[str, ...] | dict[str, tuple[str, ...]]):
    """Register `fn` for `opnames`; `makes`: the IR ops it makes, for every name or per name
    (the frontend refuses a converter that makes another: docs/ops.md stays true)."""
    def deco(fn: Converter) -> Converter:
        for name in opnames:
            CONVERTERS[name] = fn
            MAKES[name] = makes[name] if isinstance(makes, dict) else makes
        return fn
    return deco


@converter("FULLY_CONNECTED", makes=("FullyConnected",))
def fully_connected(r: OpReader):
    r.input(0), r.input(1)
    opts = r.options(tflite.FullyConnectedOptions)
    if opts is not None and opts.WeightsFormat() != 0:
        raise r.unsupported("shuffled weights format is not supported")
    return [r.node("FullyConnected", FullyConnectedAttrs(act=r.activation(opts)))]


def _padding(r: OpReader, code: int, in_hw, kernel_hw, strides, dilations) -> tuple:
    """Explicit pads (top, left, bottom, right) for a Padding code (SAME=0, VALID=1)."""
    if code == tflite.Padding.SAME:
        return same_padding(in_hw, kernel_hw, strides, dilations)
    if code == tflite.Padding.VALID:
        return (0, 0, 0, 0)
    raise r.error(f"invalid padding code {code}")


def _window(r: OpReader, opts, x: Tensor, w: Tensor) -> tuple:
    """Strides, dilations and explicit pads of a CONV_2D / DEPTHWISE_CONV_2D."""
    strides = r.positive((opts.StrideH(), opts.StrideW()), "strides")
    dilations = r.positive((opts.DilationHFactor(), opts.DilationWFactor()), "dilations")
    return strides, dilations, _padding(r, opts.Padding(), x.shape[1:3], w.shape[1:3], strides,
                                        dilations)


@converter("CONV_2D", makes=("Conv2D",))
def conv_2d(r: OpReader):
    x = r.input_of_rank(0, 4, "input")
    w = r.input_of_rank(1, 4, "weights")
    opts = r.options(tflite.Conv2DOptions, required=True)
    if w.shape[3] < 1 or x.shape[3] % w.shape[3]:
        raise r.error(f"input channels {x.shape[3]} are not a multiple of the weights' "
                      f"{w.shape[3]} input channels")
    strides, dilations, pads = _window(r, opts, x, w)
    groups = x.shape[3] // w.shape[3]
    return [r.node("Conv2D", Conv2DAttrs(strides, dilations, pads, groups, r.activation(opts)))]


@converter("DEPTHWISE_CONV_2D", makes=("DepthwiseConv2D",))
def depthwise_conv_2d(r: OpReader):
    x = r.input_of_rank(0, 4, "input")
    w = r.input_of_rank(1, 4, "weights")
    opts = r.options(tflite.DepthwiseConv2DOptions, required=True)
    if x.shape[3] < 1 or w.shape[3] % x.shape[3]:
        raise r.error(f"the weights' {w.shape[3]} output channels are not a multiple of the "
                      f"input's {x.shape[3]} channels")
    strides, dilations, pads = _window(r, opts, x, w)
    # the DepthMultiplier option is 0 or stale in some old models: the shapes are the truth
    multiplier = w.shape[3] // x.shape[3]
    return [r.node("DepthwiseConv2D",
                   DepthwiseConv2DAttrs(strides, dilations, pads, multiplier, r.activation(opts)))]


@converter("RESHAPE", "SQUEEZE", "EXPAND_DIMS", makes=("Reshape",))
def reshape(r: OpReader):
    r.input(0)
    return [r.node("Reshape", inputs=r.inputs[:1])]


# -- nonlinear activations ------------------------------------------------------------------

def _unary(op: str, attrs=None):
    def convert(r: OpReader):
        r.input(0)
        return [r.node(op, attrs, inputs=r.inputs[:1])]
    return convert


converter("LOGISTIC", makes=("Logistic",))(_unary("Logistic"))
converter("TANH", makes=("Tanh",))(_unary("Tanh"))
converter("RELU", makes=("Relu",))(_unary("Relu"))
converter("RELU6", makes=("Relu6",))(_unary("Relu6"))
converter("RELU_N1_TO_1", makes=("Clip",))(_unary("Clip", ClipAttrs(lo=-1.0, hi=1.0)))
converter("HARD_SWISH", makes=("HardSwish",))(_unary("HardSwish"))
converter("QUANTIZE", makes=("Quantize",))(_unary("Quantize"))
converter("DEQUANTIZE", makes=("Dequantize",))(_unary("Dequantize"))


@converter("SOFTMAX", makes=("Softmax",))
def softmax(r: OpReader):
    r.input(0)
    opts = r.options(tflite.SoftmaxOptions)
    beta = opts.Beta() if opts is not None else 1.0
    if not math.isfinite(beta):
        raise r.error(f"softmax beta {beta} is not finite")
    return [r.node("Softmax", SoftmaxAttrs(beta=beta), inputs=r.inputs[:1])]


@converter("LEAKY_RELU", makes=("LeakyRelu",))
def leaky_relu(r: OpReader):
    r.input(0)
    opts = r.options(tflite.LeakyReluOptions)
    alpha = opts.Alpha() if opts is not None else 0.0
    if not math.isfinite(alpha):
        raise r.error(f"leaky relu alpha {alpha} is not finite")
    return [r.node("LeakyRelu", LeakyReluAttrs(alpha=alpha), inputs=r.inputs[:1])]


# -- elementwise, pooling, mean, pad, concatenation, transpose ------------------------------

def _binary(op: str, options_cls):
    def convert(r: OpReader):
        r.input(0), r.input(1)
        act = r.activation(r.options(options_cls))
        return [r.node(op, BinaryAttrs(act), inputs=r.inputs[:2])]
    return convert


converter("ADD", makes=("Add",))(_binary("Add", tflite.AddOptions))
converter("SUB", makes=("Sub",))(_binary("Sub", tflite.SubOptions))
converter("MUL", makes=("Mul",))(_binary("Mul", tflite.MulOptions))
converter("DIV", makes=("Div",))(_binary("Div", tflite.DivOptions))


@converter("AVERAGE_POOL_2D", "MAX_POOL_2D",
           makes={"AVERAGE_POOL_2D": ("AveragePool2D",), "MAX_POOL_2D": ("MaxPool2D",)})
def pool_2d(r: OpReader):
    x = r.input_of_rank(0, 4, "input")
    opts = r.options(tflite.Pool2DOptions, required=True)
    kernel = r.positive((opts.FilterHeight(), opts.FilterWidth()), "filter size")
    strides = r.positive((opts.StrideH(), opts.StrideW()), "strides")
    pads = _padding(r, opts.Padding(), x.shape[1:3], kernel, strides, (1, 1))
    op = "AveragePool2D" if r.opname == "AVERAGE_POOL_2D" else "MaxPool2D"
    return [r.node(op, Pool2DAttrs(kernel, strides, pads, r.activation(opts)),
                   inputs=r.inputs[:1])]


@converter("MEAN", makes=("Mean",))
def mean(r: OpReader):
    rank = len(r.input(0).shape)
    axes = tuple(sorted({r.axis(a, rank) for a in r.const_ints(1, "axes")}))
    opts = r.options(tflite.ReducerOptions)
    keepdims = bool(opts.KeepDims()) if opts is not None else False
    return [r.node("Mean", MeanAttrs(axes, keepdims), inputs=r.inputs[:1])]


@converter("PAD", "PADV2", makes=("Pad",))
def pad(r: OpReader):
    rank = len(r.input(0).shape)
    flat = r.const_ints(1, "paddings")
    if len(flat) != 2 * rank or any(p < 0 for p in flat):
        raise r.error(f"paddings {flat} must be {rank} non-negative (before, after) pairs")
    pads = tuple((flat[i], flat[i + 1]) for i in range(0, len(flat), 2))
    value = 0.0
    if r.opname == "PADV2" and len(r.inputs) > 2 and r.inputs[2]:
        c = r.input(2)
        if not c.is_const:
            raise r.unsupported("a non-constant pad value is not supported")
        if c.size != 1:
            raise r.error(f"the pad value {c.name!r} has {c.size} elements, expected 1")
        raw = c.data.reshape(-1)[0]
        if c.quant is not None and c.dtype != "float32":
            raw = (int(raw) - c.quant.zero_point[0]) * c.quant.scale[0]
        value = float(raw)
    return [r.node("Pad", PadAttrs(pads, value), inputs=r.inputs[:1])]


@converter("CONCATENATION", makes=("Concatenation",))
def concatenation(r: OpReader):
    r.input(0)
    opts = r.options(tflite.ConcatenationOptions, required=True)
    if r.activation(opts) != ACTIVATIONS[0]:
        raise r.unsupported("a fused activation on CONCATENATION is not supported")
    rank = len(r.output().shape)
    return [r.node("Concatenation", ConcatAttrs(r.axis(opts.Axis(), rank)))]


@converter("TRANSPOSE", makes=("Transpose",))
def transpose(r: OpReader):
    rank = len(r.input(0).shape)
    perm = tuple(r.const_ints(1, "permutations"))
    if sorted(perm) != list(range(rank)):
        raise r.error(f"permutation {perm} is not a permutation of the input's {rank} axes")
    return [r.node("Transpose", TransposeAttrs(perm), inputs=r.inputs[:1])]
