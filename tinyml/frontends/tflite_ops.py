"""Converters from TFLite builtin operators to IR nodes, one function per operator."""

from __future__ import annotations

import tflite

from ..ops.fully_connected import FullyConnectedAttrs
from .tflite import OpReader, converter


@converter("FULLY_CONNECTED")
def fully_connected(r: OpReader, tensors):
    opts = r.options(tflite.FullyConnectedOptions)
    if opts is not None and opts.WeightsFormat() != 0:
        raise r.unsupported("shuffled weights format is not supported")
    return [r.node("FullyConnected", FullyConnectedAttrs(act=r.activation(opts)))]


@converter("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
def reshape(r: OpReader, tensors):
    return [r.node("Reshape", inputs=r.inputs[:1])]
