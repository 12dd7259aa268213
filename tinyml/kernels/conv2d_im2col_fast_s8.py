"""Conv2D int8, one group, any kernel, stride, dilation and padding, on every core: each
output pixel's window as a uint8 column (im2col), then the portable GEMM of
codegen/kernels/tm_gemm_fast_s8.h; padding taps hold the input zero point."""

from __future__ import annotations

from ..ops.base import Arg, ConstArray, tensor_args
from ..ops.conv2d import conv2d_params, kernel_call, prepare_int8
from .gemm_fast_s8 import layer_fast_output, pack_pairs
from .gemm_s8 import conv_rows
from .registry import variant


def _int8(node, graph):
    return prepare_int8(node, graph, graph.tensor(node.inputs[1]).shape[0])


def _applies(node, graph) -> bool:
    if node.attrs.groups != 1:
        return False
    return layer_fast_output(node, graph, conv_rows(node, graph), _int8(node, graph)) is not None


def scratch_bytes(node, graph) -> int:
    """Four uint8 columns of the window's depth (its C get_buffer_size)."""
    return 4 * conv_rows(node, graph).shape[1]


@variant(op="Conv2D", act="int8", weights="int8", condition=_applies,
         reason="one group: im2col + portable GEMM 4 pixels x 2 channels",
         scratch=scratch_bytes, priority=5)
def tm_conv2d_im2col_fast_s8(node, graph):
    p = _int8(node, graph)
    rows = conv_rows(node, graph)
    out = layer_fast_output(node, graph, rows, p)
    return kernel_call("tm_conv2d_im2col_fast_s8",
                       (Arg("params"), tensor_args(node.inputs[0])[0], Arg("const", "weights"),
                        Arg("const", "offset_terms"), Arg("const", "multiplier"),
                        Arg("const", "shift"), *tensor_args(node.outputs[0]), Arg("scratch")),
                       "tm_conv2d_s8_params", conv2d_params(node, graph, p),
                       (ConstArray("weights", "int8_t", pack_pairs(rows)), *out.consts()))
