"""DepthwiseConv2D int8, 3x3, dilation 1, stride_w 1 or 2, multiplier 1, on every core: one
channel's input window as a uint8 plane, four outputs of a row per step
(codegen/kernels/tm_depthwise_conv2d_3x3_fast_s8.c)."""

from __future__ import annotations

import numpy as np

from ..ops.base import Arg, ConstArray, tensor_args
from ..ops.conv2d import geometry_params, int8_fields, kernel_call, prepare_int8
from .depthwise_dsp import geometry
from .gemm_fast_s8 import layer_fast_output
from .registry import variant

KERNEL = "tm_depthwise_conv2d_3x3_fast_s8"
BUDGET = 2048   # plane bytes a band aims at (TM_DW3_FAST_BUDGET)


def _int8(node, graph):
    return prepare_int8(node, graph, graph.tensor(node.inputs[1]).shape[3])


def channel_rows(node, graph) -> np.ndarray:
    """[1, 3, 3, C] weights as [C, 9], the layout the kernel reads."""
    w = graph.tensor(node.inputs[1]).data
    return np.ascontiguousarray(w.reshape(-1, w.shape[3]).T)


def _applies(node, graph) -> bool:
    a = node.attrs
    if not (graph.tensor(node.inputs[1]).shape[1:3] == (3, 3) and a.dilations == (1, 1)
            and a.strides[1] in (1, 2) and a.depth_multiplier == 1):
        return False
    return layer_fast_output(node, graph, channel_rows(node, graph), _int8(node, graph)) is not None


def band_rows(g: dict[str, int]) -> int:
    plane_w = (g["out_w"] - 1) * g["stride_w"] + 3
    plane_rows = BUDGET // plane_w
    rows = 1 if plane_rows < 3 else (plane_rows - 3) // g["stride_h"] + 1
    return max(min(rows, g["out_h"]), 1)


def scratch_bytes(node, graph) -> int:
    """A band's plane at most: the budget, or one output row's plane if larger, and no more
    than the whole window's plane, which bounds every region's band too
    (tm_depthwise_conv2d_3x3_fast_s8_get_buffer_size)."""
    g = geometry(node, graph)
    plane_w = (g["out_w"] - 1) * g["stride_w"] + 3
    return min(((g["out_h"] - 1) * g["stride_h"] + 3) * plane_w, max(BUDGET, 3 * plane_w))


@variant(op="DepthwiseConv2D", act="int8", weights="int8", condition=_applies,
         reason="3x3: uint8 plane per channel, 4 outputs per step", scratch=scratch_bytes,
         priority=5)
def tm_depthwise_conv2d_3x3_fast_s8(node, graph):
    p = _int8(node, graph)
    w = graph.tensor(node.inputs[1])
    rows = channel_rows(node, graph)
    out = layer_fast_output(node, graph, rows, p)
    return kernel_call(KERNEL,
                       (Arg("params"), tensor_args(node.inputs[0])[0], Arg("const", "weights"),
                        Arg("const", "offset_terms"), Arg("const", "multiplier"),
                        Arg("const", "shift"), *tensor_args(node.outputs[0]), Arg("scratch")),
                       "tm_depthwise_conv2d_s8_params",
                       (*geometry_params(node, graph, w.shape[1:3]),
                        ("depth_multiplier", node.attrs.depth_multiplier), *int8_fields(p)),
                       (ConstArray("weights", "int8_t", rows.reshape(-1)), *out.consts()))
