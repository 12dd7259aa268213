"""What Add, Sub and Mul share: numpy broadcasting of any two shapes, a fused clamp, and a
lowering to one kernel over at most 4 loops (tinyml.ops.layout.broadcast_loops).

Each op module supplies its float function and its int8 arithmetic (TFLM's, bit for bit).
Either operand may be a constant tensor.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np

from ..errors import ShapeError

from .base import (NO_CLAMP, Arg, KernelCall, Op, clamp_float, dtype_suffix, float_bounds,
                   io_dtype, tensor_args, unsupported_dtype)
from .checks import NodeCheck
from .layout import array_fields, broadcast_loops, broadcast_shape


@dataclass(frozen=True)
class BinaryAttrs:
    act: tuple[float, float] = NO_CLAMP


def struct_fields(params: Any, prefix: str = "") -> tuple[tuple[str, int], ...]:
    """A frozen dataclass of ints as params-struct fields, in declaration order."""
    return tuple((prefix + f.name, getattr(params, f.name)) for f in dataclasses.fields(params))


class BinaryOp(Op):
    #: the kernel's op name: tm_<kernel_op>_generic_<dtype>
    kernel_op: ClassVar[str]
    float_fn: ClassVar[Callable[[np.ndarray, np.ndarray], np.ndarray]]
    int8_params_type: ClassVar[str]
    num_inputs = (2, 2)
    in_place_over_inputs = True

    def check(self, node, graph):
        c = NodeCheck(node, graph)
        a, b, y = c.input(0), c.input(1), c.output()
        c.dtypes((a, b, y), self.dtypes)
        try:
            broadcast_loops(a.shape, b.shape)
        except ShapeError as exc:
            raise c.fail(exc.message) from None
        c.require(broadcast_shape(a.shape, b.shape) == y.shape,
                  f"shapes {a.shape} and {b.shape} do not broadcast to the output's {y.shape}")

    def output_shapes(self, node, graph):
        a, b = (graph.tensor(n) for n in node.inputs[:2])
        return [broadcast_shape(a.shape, b.shape)]

    def macs(self, node, graph):
        return graph.tensor(node.outputs[0]).size

    def prepare_int8(self, node, graph) -> Any:
        """The dataclass of int8 constants the reference and the kernel share."""
        raise NotImplementedError

    def evaluate_int8(self, params: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """int64 inputs (broadcasting) -> the clamped int8 result."""
        raise NotImplementedError

    def evaluate(self, node, graph, inputs):
        a, b = inputs[:2]
        dtype = io_dtype(node, graph)
        if dtype == "float32":
            out = self.float_fn(a.astype(np.float32), b.astype(np.float32))
            return [clamp_float(out, node.attrs.act)]
        if dtype == "int8":
            p = self.prepare_int8(node, graph)
            out = self.evaluate_int8(p, a.astype(np.int64), b.astype(np.int64))
            return [out.astype(np.int8)]
        raise unsupported_dtype(node, graph, dtype)

    def lower(self, node, graph) -> KernelCall:
        a, b = (graph.tensor(n) for n in node.inputs[:2])
        dtype = io_dtype(node, graph)
        dims, strides1, strides2 = broadcast_loops(a.shape, b.shape)
        loops = (*array_fields("loops.dims", dims), *array_fields("loops.in1_strides", strides1),
                 *array_fields("loops.in2_strides", strides2))
        if dtype == "float32":
            lo, hi = float_bounds(node.attrs.act)
            params_type, fields = "tm_binary_f32_params", (("act_min", lo), ("act_max", hi))
        elif dtype == "int8":
            params_type = self.int8_params_type
            fields = struct_fields(self.prepare_int8(node, graph))
        else:
            raise unsupported_dtype(node, graph, dtype)
        kernel = f"tm_{self.kernel_op}_generic_{dtype_suffix(dtype)}"
        return KernelCall(kernel=kernel, sources=(kernel + ".c",),
                          args=(Arg("params"), *tensor_args(*node.inputs[:2], node.outputs[0])),
                          params_type=params_type, params=(*loops, *fields))
