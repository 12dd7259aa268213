"""AveragePool2D (TFLite AVERAGE_POOL_2D, ONNX AveragePool with count_include_pad=0).

The average counts only the window cells inside the image. int8 is TFLM's: the sum of the
raw values divided by the count, rounded half away from zero, then clamped; input and
output share their quantization.
"""

from __future__ import annotations

import numpy as np

from .base import Op, clamp_float, dtype_suffix, io_dtype, register, unsupported_dtype
from .pool2d import int8_act_range, lower_pool, pool_output_shape, pool_windows


@register
class AveragePool2D(Op):
    name = "AveragePool2D"
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
            total = cells.sum(axis=(3, 4), dtype=np.float32)
            count = inside.sum(axis=(3, 4)).astype(np.float32)
            return [clamp_float(total / count, node.attrs.act)]
        if dtype == "int8":
            act_min, act_max = int8_act_range(node, graph)
            cells, inside = pool_windows(inputs[0].astype(np.int64), node, graph)
            total = cells.sum(axis=(3, 4))
            count = inside.sum(axis=(3, 4)).astype(np.int64)
            half = count // 2
            # C division truncates: round half away from zero on either sign
            mean = np.where(total > 0, (total + half) // count, -((half - total) // count))
            return [np.clip(mean, act_min, act_max).astype(np.int8)]
        raise unsupported_dtype(node, graph, dtype)

    def lower(self, node, graph):
        dtype = io_dtype(node, graph)
        if dtype not in ("float32", "int8"):
            raise unsupported_dtype(node, graph, dtype)
        return lower_pool(f"tm_avgpool2d_generic_{dtype_suffix(dtype)}", node, graph, dtype)
