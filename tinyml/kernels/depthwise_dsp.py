"""What the DSP depthwise kernels (codegen/kernels/tm_depthwise_dsp.h) share: the bounds that
make their output stage exact, the band of output rows that keeps their scratch small, its
size, and the lowering.

The kernels accumulate with weights and bias scaled by 2^(left + 1), so the requantization's
first rounding is one SMMULR, and fold the output zero point into the second rounding's add.
Exact when, per output channel: the scaled weights fit an int16 lane, the scaled accumulator
bound fits int32, and the rounding sum |x| + 2^(right-1) + |zero point| 2^right does too,
where |x| <= bound 2^left + 1 is the SMMULR result.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node
from ..ops.base import Arg, tensor_args
from ..ops.conv2d import (bias_arg, geometry_params, int8_consts, int8_fields, kernel_call,
                          prepare_int8)
from .output_stage import INT32_MAX, accumulator_bounds, node_bias

GROUP = 4                 # input channels converted to planes together (TM_DW_GROUP)
SCRATCH_BUDGET = 3072     # bytes a band aims at; one output row at least
PARAMS_TYPE = "tm_depthwise_conv2d_dsp_s8_params"
MAX_SCALE_BITS = 8        # 2^(left+1) |w| <= 127 * 2^8 stays an int16 lane


def _int8(node: Node, graph: Graph):
    return prepare_int8(node, graph, graph.tensor(node.inputs[1]).shape[3])


def output_stage_fits(node: Node, graph: Graph) -> bool:
    w = graph.tensor(node.inputs[1]).data
    p = _int8(node, graph)
    shift = np.asarray(p.shift, dtype=np.int64)
    left, right = np.maximum(shift, 0), np.maximum(-shift, 0)
    scale = left + 1
    w_max = np.abs(w.astype(np.int64)).reshape(-1, w.shape[3]).max(axis=0)
    bound = accumulator_bounds(w, 3, node_bias(node, graph))
    x = bound * (1 << left) + 1
    half = np.where(right > 0, 1 << np.maximum(right - 1, 0), 0)
    rounding = x + half + abs(p.output_offset) * (1 << right)
    return bool(np.all(scale <= MAX_SCALE_BITS) and np.all(right <= 30)
                and np.all(w_max * (1 << scale) <= 32767)
                and np.all(bound * (1 << scale) <= INT32_MAX)
                and np.all(rounding <= INT32_MAX))


def geometry(node: Node, graph: Graph) -> dict[str, int]:
    """The layer's tm_conv_geometry fields by name."""
    w = graph.tensor(node.inputs[1])
    return {name.split(".", 1)[1]: value
            for name, value in geometry_params(node, graph, w.shape[1:3])}


def plane_words(g: dict[str, int]) -> int:
    cols = (g["out_w"] - 1) * g["stride_w"] + (g["kernel_w"] - 1) * g["dilation_w"] + 2
    return (cols + 1) // 2


def band_in_rows(g: dict[str, int], rows: int) -> int:
    return (rows - 1) * g["stride_h"] + (g["kernel_h"] - 1) * g["dilation_h"] + 1


def buffer_size(g: dict[str, int], band_rows: int, extra: int = 0) -> int:
    """tm_dw_buffer_size: the planes of GROUP channels and the band's accumulators, in bytes."""
    rows = max(min(band_rows, g["out_h"]), 1)
    return 4 * (GROUP * band_in_rows(g, rows) * plane_words(g) + rows * g["out_w"]) + extra


def region_buffer_size(params: dict, extra: int = 0) -> int:
    """buffer_size for a call's params (a region's: tinyml/kernels/regions.py), whose band
    of rows is the layer's."""
    g = {name.split(".", 1)[1]: v for name, v in params.items() if name.startswith("geometry.")}
    return buffer_size(g, params["band_rows"], extra)


def band_rows(g: dict[str, int]) -> int:
    """The most output rows whose scratch stays within SCRATCH_BUDGET (one row at least)."""
    rows = 1
    while rows < g["out_h"] and buffer_size(g, rows + 1) <= SCRATCH_BUDGET:
        rows += 1
    return rows


def lower(kernel: str, node: Node, graph: Graph):
    """The KernelCall of a DSP depthwise kernel: the portable kernel's arguments and scratch."""
    p = _int8(node, graph)
    w = graph.tensor(node.inputs[1])
    params = (*geometry_params(node, graph, w.shape[1:3]),
              ("depth_multiplier", node.attrs.depth_multiplier), *int8_fields(p),
              ("band_rows", band_rows(geometry(node, graph))))
    args = (Arg("params"), *tensor_args(node.inputs[0], node.inputs[1]), *bias_arg(node),
            Arg("const", "multiplier"), Arg("const", "shift"), *tensor_args(node.outputs[0]),
            Arg("scratch"))
    return kernel_call(kernel, args, PARAMS_TYPE, params, int8_consts(p))
