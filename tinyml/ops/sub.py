"""Sub: x1 - x2 with numpy broadcasting and a fused clamp (TFLite SUB, ONNX Sub).

int8 is TFLM's: Add's rescaling (see add.py) with a difference in the middle; TFLM computes
the three real multipliers in float32 here (in double for Add), and so do we.
"""

from __future__ import annotations

import numpy as np

from .add import LEFT_SHIFT, add_sub_params, rescaled_inputs, rescaled_output
from .base import per_tensor, register
from .binary import BinaryOp


@register
class Sub(BinaryOp):
    name = "Sub"
    kernel_op = "sub"
    float_fn = np.subtract
    int8_params_type = "tm_add_s8_params"

    def prepare_int8(self, node, graph):
        s1, s2 = (np.float32(per_tensor(graph.tensor(n))[0]) for n in node.inputs[:2])
        out_scale = np.float32(per_tensor(graph.tensor(node.outputs[0]))[0])
        twice_max = np.float32(2) * max(s1, s2)
        reals = (s1 / twice_max, s2 / twice_max,
                 twice_max / (np.float32(1 << LEFT_SHIFT) * out_scale))
        return add_sub_params(node, graph, tuple(float(r) for r in reals))

    def evaluate_int8(self, p, a, b):
        a, b = rescaled_inputs(p, a, b)
        return rescaled_output(p, a - b)
