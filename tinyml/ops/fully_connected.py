"""FullyConnected: y = x . W^T + b over the last axis (TFLite FULLY_CONNECTED, ONNX Gemm/MatMul).

Inputs: x [..., K], weights [N, K] (constant), bias [N] (optional, int32 for int8).
int8: per-tensor or per-channel weight scales, TFLite requantization per output channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import Graph, Node
from ..numerics import activation_range, multiply_by_quantized_multiplier, quantize_multipliers
from .base import (NO_CLAMP, Arg, ConstArray, KernelCall, Op, clamp_float, dtype_suffix,
                   float_bounds, io_dtype, per_tensor, register, tensor_args, unsupported_dtype)
from .checks import NodeCheck, accumulators_fit


@dataclass(frozen=True)
class FullyConnectedAttrs:
    act: tuple[float, float] = NO_CLAMP


@dataclass(frozen=True)
class Int8Params:
    input_offset: int
    output_offset: int
    multiplier: np.ndarray
    shift: np.ndarray
    act_min: int
    act_max: int


def prepare_int8(node: Node, graph: Graph) -> Int8Params:
    x, w = (graph.tensor(n) for n in node.inputs[:2])
    y = graph.tensor(node.outputs[0])
    in_scale, in_zp = per_tensor(x)
    out_scale, out_zp = per_tensor(y)
    n_out = w.shape[0]
    w_scales = np.broadcast_to(np.asarray(w.quant.scale, dtype=np.float64), (n_out,))
    multiplier, shift = quantize_multipliers(in_scale * w_scales / out_scale)
    act_min, act_max = activation_range(*node.attrs.act, out_scale, out_zp)
    return Int8Params(-in_zp, out_zp, multiplier, shift, act_min, act_max)


def _bias(node: Node, graph: Graph, n_out: int, dtype) -> np.ndarray:
    if len(node.inputs) > 2 and node.inputs[2]:
        return graph.tensor(node.inputs[2]).data
    return np.zeros(n_out, dtype=dtype)


@register
class FullyConnected(Op):
    name = "FullyConnected"
    weight_axes = {1: 0}
    ternary_weights = True
    bias_input = 2
    num_inputs = (2, 3)

    def check(self, node, graph):
        c = NodeCheck(node, graph)
        x, w, y = c.input(0), c.const(1, "weights"), c.output()
        c.rank(w, 2, "weights")
        dtype = c.dtypes((x, y), self.dtypes)
        c.weights(w, dtype, 0)
        n_out, n_in = w.shape
        c.require(len(x.shape) >= 1 and x.size % n_in == 0,
                  f"the input {x.shape} is not rows of the weights' {n_in} features")
        c.require(y.size == x.size // n_in * n_out and len(y.shape) >= 1 and y.shape[-1] == n_out,
                  f"the output {y.shape} is not {x.size // n_in} rows of {n_out} features")
        c.bias(2, n_out, "int32" if dtype == "int8" else dtype)
        if dtype == "int8":
            accumulators_fit(c, w, 2, 0)

    def macs(self, node, graph):
        w = graph.tensor(node.inputs[1])
        return graph.tensor(node.outputs[0]).size * w.shape[1]

    def evaluate(self, node, graph, inputs):
        x, w = inputs[0], graph.tensor(node.inputs[1]).data
        out_shape = graph.tensor(node.outputs[0]).shape
        rows = x.reshape(-1, w.shape[1])
        dtype = io_dtype(node, graph)
        if dtype == "float32":
            acc = rows.astype(np.float32) @ w.T.astype(np.float32)
            acc = acc + _bias(node, graph, w.shape[0], np.float32)
            return [clamp_float(acc, node.attrs.act).reshape(out_shape)]
        if dtype == "int8":
            p = prepare_int8(node, graph)
            acc = (rows.astype(np.int64) + p.input_offset) @ w.T.astype(np.int64)
            acc = acc + _bias(node, graph, w.shape[0], np.int32)
            out = multiply_by_quantized_multiplier(acc, p.multiplier, p.shift) + p.output_offset
            return [np.clip(out, p.act_min, p.act_max).astype(np.int8).reshape(out_shape)]
        raise unsupported_dtype(node, graph, dtype)

    def lower(self, node, graph):
        x, w = (graph.tensor(n) for n in node.inputs[:2])
        dtype = io_dtype(node, graph)
        n_out, n_in = w.shape
        has_bias = len(node.inputs) > 2 and bool(node.inputs[2])
        bias_arg = tensor_args(node.inputs[2]) if has_bias else (Arg("null"),)
        shape = dict(batches=x.size // n_in, in_features=n_in, out_features=n_out)
        kernel = f"tm_fully_connected_generic_{dtype_suffix(dtype)}"
        if dtype == "float32":
            lo, hi = float_bounds(node.attrs.act)
            return KernelCall(
                kernel=kernel, sources=(kernel + ".c",),
                args=(Arg("params"), *tensor_args(node.inputs[0], node.inputs[1]), *bias_arg,
                      *tensor_args(node.outputs[0])),
                params_type="tm_fully_connected_f32_params",
                params=(*shape.items(), ("act_min", lo), ("act_max", hi)))
        if dtype == "int8":
            p = prepare_int8(node, graph)
            return KernelCall(
                kernel=kernel, sources=(kernel + ".c",),
                args=(Arg("params"), *tensor_args(node.inputs[0], node.inputs[1]), *bias_arg,
                      Arg("const", "multiplier"), Arg("const", "shift"),
                      *tensor_args(node.outputs[0])),
                params_type="tm_fully_connected_s8_params",
                params=(*shape.items(), ("input_offset", p.input_offset),
                        ("output_offset", p.output_offset), ("act_min", p.act_min),
                        ("act_max", p.act_max)),
                consts=(ConstArray("multiplier", "int32_t", p.multiplier),
                        ConstArray("shift", "int32_t", p.shift)))
        raise unsupported_dtype(node, graph, dtype)
