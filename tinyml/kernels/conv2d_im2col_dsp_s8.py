"""Conv2D int8, one group, any kernel, stride, dilation and padding, on cores with the DSP
extension: each output pixel's window as an int16 column (im2col), then the SMLAD GEMM of
codegen/kernels/tm_gemm_s8.h; padding taps hold the input zero point."""

from __future__ import annotations

import numpy as np

from ..ops.base import Arg, ConstArray, tensor_args
from ..ops.conv2d import conv2d_params, prepare_int8
from ..targets.cores import DSP
from .gemm_s8 import conv_rows, depth4, gemm_call, layer_output, pack_weights
from .registry import variant


def _int8(node, graph):
    return prepare_int8(node, graph, graph.tensor(node.inputs[1]).shape[0])


def _applies(node, graph) -> bool:
    if node.attrs.groups != 1:
        return False
    return layer_output(node, graph, _rows(node, graph), _int8(node, graph)) is not None


def run_layout(node, graph) -> bool:
    """A first layer's 1 or 3 channels without dilation along x: each kernel row's run of
    kernel_w * in_c weights padded to a multiple of 4 (tm_conv2d_im2col_dsp_s8.c)."""
    return graph.tensor(node.inputs[0]).shape[3] % 4 != 0 and node.attrs.dilations[1] == 1


def _rows(node, graph) -> np.ndarray:
    """The weights as GEMM rows in the kernel's depth layout."""
    w = graph.tensor(node.inputs[1]).data           # [out_c, kh, kw, in_c]
    if not run_layout(node, graph):
        return conv_rows(node, graph)
    out_c, kh, kw, in_c = w.shape
    runs = np.zeros((out_c, kh, depth4(kw * in_c)), dtype=w.dtype)
    runs[:, :, :kw * in_c] = w.reshape(out_c, kh, kw * in_c)
    return runs.reshape(out_c, -1)


def scratch_bytes(node, graph) -> int:
    """Four int16 columns and one int8 window of depth4 (its C get_buffer_size)."""
    d4 = depth4(_rows(node, graph).shape[1])
    return 4 * d4 * 2 + d4


@variant(op="Conv2D", act="int8", weights="int8", features=(DSP,), condition=_applies,
         reason="one group, DSP: im2col + SMLAD GEMM 4 pixels x 1 channel",
         scratch=scratch_bytes, priority=15)
def tm_conv2d_im2col_dsp_s8(node, graph):
    p = _int8(node, graph)
    rows = _rows(node, graph)
    out = layer_output(node, graph, rows, p)
    return gemm_call("tm_conv2d_im2col_dsp_s8",
                       (Arg("params"), tensor_args(node.inputs[0])[0], Arg("const", "weights"),
                        Arg("const", "offset_terms"), Arg("const", "multiplier"),
                        Arg("const", "shift"), *tensor_args(node.outputs[0]), Arg("scratch")),
                       "tm_conv2d_s8_params", conv2d_params(node, graph, p),
                       (ConstArray("weights", "int8_t", pack_weights(rows)), *out.consts()))
