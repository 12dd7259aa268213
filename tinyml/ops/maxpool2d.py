"""MaxPool2D (TFLite MAX_POOL_2D, ONNX MaxPool): the largest window cell inside the image,
then the fused clamp. int8 input and output share their quantization, so the raw values are
compared as they are.
"""

from __future__ import annotations

import numpy as np

from .base import Op, clamp_float, dtype_suffix, io_dtype, register, unsupported_dtype
from .pool2d import int8_act_range, lower_pool, pool_output_shape, pool_windows


@register
class MaxPool2D(Op):
    name = "MaxPool2D"
    keeps_input_quant = True

    def output_shapes(self, node, graph):
        return [pool_output_shape(node, graph)]

    def macs(self, node, graph):
        kh, kw = node.attrs.kernel
        return graph.tensor(node.outputs[0]).size * kh * kw

    def evaluate(self, node, graph, inputs):
        dtype = io_dtype(node, graph)
        if dtype == "float32":
            cells, inside = pool_windows(inputs[0].astype(np.float32), node, graph)
            largest = np.where(inside, cells, -np.inf).max(axis=(3, 4))
            return [clamp_float(largest, node.attrs.act)]
        if dtype == "int8":
            act_min, act_max = int8_act_range(node, graph)
            cells, inside = pool_windows(inputs[0].astype(np.int64), node, graph)
            largest = np.where(inside, cells, -128).max(axis=(3, 4))
            return [np.clip(largest, act_min, act_max).astype(np.int8)]
        raise unsupported_dtype(node, graph, dtype)

    def lower(self, node, graph):
        dtype = io_dtype(node, graph)
        if dtype not in ("float32", "int8"):
            raise unsupported_dtype(node, graph, dtype)
        return lower_pool(f"tm_maxpool2d_generic_{dtype_suffix(dtype)}", node, graph, dtype)
