"""Pool graphs for the pool kernel variants' tests: odd channel counts, SAME and VALID
padding, stride 2, dilation, 1x1 spatial, batches, windows larger than the stride."""

from __future__ import annotations

import math

import numpy as np

from tinyml.ir import Graph, Node, Quant, Tensor
from tinyml.ops.conv2d import conv_output_hw, same_padding
from tinyml.ops.pool2d import Pool2DAttrs

ACTS = [(-math.inf, math.inf), (0.0, math.inf), (0.0, 6.0), (-0.5, 0.5)]

#: (input shape NHWC, kernel, strides, dilations, SAME padding)
CASES = [
    ((1, 9, 7, 5), (3, 3), (2, 2), (1, 1), True),
    ((1, 8, 8, 4), (2, 2), (2, 2), (1, 1), False),
    ((2, 6, 5, 13), (3, 2), (1, 1), (1, 1), True),
    ((1, 1, 1, 7), (1, 1), (1, 1), (1, 1), False),
    ((1, 25, 5, 64), (25, 5), (1, 1), (1, 1), False),   # kws's global pool
    ((1, 11, 10, 6), (3, 3), (1, 2), (2, 2), False),    # dilated
    ((1, 7, 6, 9), (4, 4), (3, 1), (1, 1), True),       # window larger than the stride
    ((1, 3, 3, 3), (3, 3), (1, 1), (1, 1), True),       # fewer than 4 channels
]


def pool_case_graph(op: str, case: int, dtype: str, rng: np.random.Generator,
                    act=None) -> Graph:
    shape, kernel, strides, dilations, same = CASES[case]
    pads = same_padding(shape[1:3], kernel, strides, dilations) if same else (0, 0, 0, 0)
    oh, ow = conv_output_hw(shape[1:3], kernel, strides, dilations, pads)
    quant = Quant.of(rng.uniform(0.01, 0.1), int(rng.integers(-30, 30))) if dtype == "int8" else None
    x = Tensor("x", shape, dtype, quant)
    y = Tensor("y", (shape[0], oh, ow, shape[3]), dtype, quant)
    attrs = Pool2DAttrs(kernel, strides, pads, act or ACTS[case % len(ACTS)], dilations)
    return Graph.build("pool", [Node("pool", op, ("x",), ("y",), attrs)], [x, y], ["x"], ["y"])
