"""Tanh (TFLite TANH, ONNX Tanh).

int8 follows TFLite Micro: the input reaches Q4.27 exactly as for Logistic (shared prepare),
then gemmlowp's fixed-point tanh; the output is fixed at scale 1/128, zero point 0.
"""

from __future__ import annotations

import numpy as np

from . import fixedpoint as fx
from .base import (Arg, KernelCall, Op, dtype_suffix, io_dtype, register, tensor_args,
                   unsupported_dtype)
from .logistic import prepare_q4_input, q4_input_params, saturating_q4

OUTPUT_QUANT = (1.0 / 128.0, 0)


@register
class Tanh(Op):
    name = "Tanh"
    elementwise = True
    fixed_output_quant = OUTPUT_QUANT

    def evaluate(self, node, graph, inputs):
        dtype = io_dtype(node, graph)
        if dtype == "float32":
            return [np.tanh(inputs[0].astype(np.float32))]
        if dtype == "int8":
            # Q0 result to 1/128 steps: a right shift by 31 - 7, zero point 0
            return [saturating_q4(inputs[0], prepare_q4_input(node, graph), fx.tanh, 24, 0)]
        raise unsupported_dtype(node, graph, dtype)

    def lower(self, node, graph):
        dtype = io_dtype(node, graph)
        kernel = f"tm_tanh_generic_{dtype_suffix(dtype)}"
        io = tensor_args(node.inputs[0], node.outputs[0])
        size = graph.tensor(node.inputs[0]).size
        if dtype == "float32":
            return KernelCall(kernel=kernel, sources=(kernel + ".c",),
                              args=(*io, Arg("int", value=size)))
        if dtype == "int8":
            return KernelCall(kernel=kernel, sources=(kernel + ".c",),
                              args=(Arg("params"), *io), params_type="tm_tanh_s8_params",
                              params=(("size", size),
                                      *q4_input_params(prepare_q4_input(node, graph))))
        raise unsupported_dtype(node, graph, dtype)
