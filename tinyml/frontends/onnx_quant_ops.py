"""Converters of the ONNX quantization ops: QuantizeLinear, DequantizeLinear, QLinearConv and
QLinearMatMul.

The quantization parameters were attached to the tensors by `onnx._attach_quantization`;
here they must exist. QLinearConv / QLinearMatMul are written as Dequantize -> float op ->
Quantize, which is their definition; the QDQ pass then turns them into int8 ops like any QDQ
group. Blocked quantization (opset 21's block_size) and other output types are refused.
"""

from __future__ import annotations

import numpy as np

from ..ir import Quant
from .onnx_ops import conv_nchw, fully_connected
from .onnx_reader import NodeReader, converter

_QDQ_VERSIONS = (10, 13, 19, 21, 23, 24, 25, 28)
#: TensorProto INT8 and UINT8, the output types QuantizeLinear may name
_INT8_TYPES = (2, 3)


def _plain_quantization(r: NodeReader) -> None:
    if r.int_attr("block_size", 0):
        raise r.unsupported("blocked quantization (block_size) is not supported")
    output_dtype = r.int_attr("output_dtype", 0)
    if output_dtype and output_dtype not in _INT8_TYPES:
        raise r.unsupported("only int8 and uint8 quantization is supported")
    if r.int_attr("precision", 0):
        raise r.unsupported("the precision attribute is not supported")


def _params_of(r: NodeReader, name: str) -> Quant:
    quant = r.quant_of(name)
    if quant is None:
        raise r.unsupported(f"the scale and zero point of {name!r} must be constants")
    return quant


@converter("QuantizeLinear", makes=("Quantize",), since=_QDQ_VERSIONS)
def quantize_linear(r: NodeReader):
    _plain_quantization(r)
    x, y = r.required(0), r.outputs[0]
    r.required(1, "y_scale")
    if _params_of(r, y).per_channel:
        raise r.unsupported("per-channel quantization of activations is not supported")
    if r.dtype(x) != "float32":
        raise r.unsupported(f"quantizing {r.dtype(x)} is not supported")
    r.quantize(x, y)


@converter("DequantizeLinear", makes=("Dequantize",), since=_QDQ_VERSIONS)
def dequantize_linear(r: NodeReader):
    _plain_quantization(r)
    x = r.required(0)
    r.required(1, "x_scale")
    quant = _params_of(r, x)
    # a dequantized constant (a weight) is read by converters through `weight`; a leftover
    # Dequantize of a constant is folded by the QDQ pass
    if quant.per_channel and not r.is_const(x):
        raise r.unsupported("per-channel dequantization of activations is not supported")
    r.emit("Dequantize", [x], r.outputs[:1])


def _qlinear_inputs(r: NodeReader, a: str, b: str) -> tuple[str, str]:
    for name in (a, b):
        _params_of(r, name)
    if not r.is_const(b):
        raise r.unsupported("the weight must be a constant")
    if _params_of(r, a).per_channel:
        raise r.unsupported("per-channel quantization of activations is not supported")
    return r.dequantize(a), b


def _qlinear_bias(r: NodeReader, bias: str, a: str, b: str) -> str:
    """The int32 bias of QLinearConv, at scale a_scale * b_scale (per channel)."""
    if not bias:
        return ""
    data = r.const(bias, "the bias").reshape(-1)
    if data.dtype != np.int32:
        raise r.unsupported(f"the bias must be int32, not {data.dtype}")
    scale = np.asarray(r.quant_of(a).scale) * np.asarray(r.quant_of(b).scale)
    if scale.size not in (1, data.size):
        raise r.unsupported(f"a bias of {data.size} values for {scale.size} weight scales")
    return r.tensor(f"{bias}_q", data.shape, "int32", data=data,
                    quant=Quant.of(np.broadcast_to(scale, data.shape), 0))


def _requantized_output(r: NodeReader) -> str:
    """A float tensor for the op's result, quantized into the ONNX output."""
    y = r.outputs[0]
    _params_of(r, y)
    return r.tensor(f"{y}_float", r.shape(y), "float32")


@converter("QLinearConv", makes=("Conv2D", "DepthwiseConv2D"), since=(10,))
def qlinear_conv(r: NodeReader):
    for i in range(8):
        r.required(i)
    x, w = _qlinear_inputs(r, r.input(0), r.input(3))
    bias = _qlinear_bias(r, r.input(8), r.input(0), r.input(3))
    y_float = _requantized_output(r)
    conv_nchw(r, x, w, bias, y_float)
    r.quantize(y_float, r.outputs[0])


@converter("QLinearMatMul", makes=("FullyConnected",), since=(10, 21))
def qlinear_matmul(r: NodeReader):
    for i in range(8):
        r.required(i)
    a, b = _qlinear_inputs(r, r.input(0), r.input(3))
    if len(r.shape(b)) != 2 or len(r.shape(a)) < 2:
        raise r.unsupported("only QLinearMatMul of a matrix by a constant 2-D matrix is "
                            "supported")
    y_float = _requantized_output(r)
    fully_connected(r, a, r.weight(b, (1, 0)), "", y_float)
    r.quantize(y_float, r.outputs[0])
