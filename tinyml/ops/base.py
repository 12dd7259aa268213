"""What every op module provides, and the records it lowers to.

An op module holds one op: its attributes (a frozen dataclass), its shape rule, its numpy
reference (float32 and integer-exact int8), its MAC count and its portable lowering to a kernel
call (the variants the registry in tinyml/kernels chooses among are built on it).
Work that depends only on the graph (multipliers, shifts, ranges) is done once in a
`prepare` function that both the reference and the lowering use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..dtypes import DTYPES
from ..errors import UnsupportedError
from ..ir import Graph, Node, Tensor
from .checks import NodeCheck

NO_CLAMP = (-math.inf, math.inf)


@dataclass(frozen=True)
class ConstArray:
    """A constant the kernel reads from flash, named `<layer>_<suffix>` in C."""

    suffix: str
    ctype: str
    values: np.ndarray = field(compare=False)


@dataclass(frozen=True)
class Arg:
    """One argument of a kernel call: `tensor` (by name), `tensor_list` (names in `refs`: an array
    of pointers), `const` (by suffix), `params`, `scratch`, `int` (the integer `value`), `null`."""

    kind: str
    ref: str = ""
    refs: tuple[str, ...] = ()
    value: int = 0


@dataclass(frozen=True)
class KernelCall:
    kernel: str
    sources: tuple[str, ...]
    args: tuple[Arg, ...]
    params_type: str | None = None
    params: tuple[tuple[str, Any], ...] = ()
    consts: tuple[ConstArray, ...] = ()
    scratch_bytes: int = 0
    #: the inputs (by position) whose bytes the kernel may write its output over
    in_place: tuple[int, ...] = ()
    #: a pure copy of tensor input i to element gathers[i] of the output, each whole: a
    #: planner may place the inputs there and skip the call
    gathers: tuple[int, ...] = ()
    #: output element i comes from element i of each tensor input (all of the output's
    #: shape), `size` (a params field) elements: a patch runs it on a rectangle row by row
    flat: bool = False


def tensor_args(*names: str) -> tuple[Arg, ...]:
    return tuple(Arg("tensor", n) for n in names)


class Op:
    """Base of the op classes; subclasses are registered with `@register`."""

    name: ClassVar[str]
    #: the first output is the first input reinterpreted (same bytes, new shape)
    is_view: ClassVar[bool] = False
    #: output element i comes from input element i alone, read before it is written, and
    #: both have one size: the portable kernel may write its output over its input
    elementwise: ClassVar[bool] = False
    #: the portable kernel walks the output in order, reading element k of every input of
    #: the output's shape before writing element k: it may write over any such input
    in_place_over_inputs: ClassVar[bool] = False
    #: dtypes of the first input the op computes on
    dtypes: ClassVar[tuple[str, ...]] = ("int8", "float32")
    # How post-training quantization treats the op (tinyml/quant):
    #: input index -> channel axis of a constant weight (quantized per channel, symmetric)
    weight_axes: ClassVar[dict[int, int]] = {}
    #: its constant weights (input 1, channel axis weight_axes[1]) may be ternary
    ternary_weights: ClassVar[bool] = False
    #: input index of the bias, quantized to int32 at scale input_scale * weight_scale
    bias_input: ClassVar[int | None] = None
    #: the int8 output's (scale, zero point) is fixed by the op (softmax, logistic, tanh)
    fixed_output_quant: ClassVar[tuple[float, int] | None] = None
    #: the int8 output keeps the first input's quantization (reshape, max pool, pad, ...)
    keeps_input_quant: ClassVar[bool] = False

    #: (fewest, most) inputs; optional ones may be given as ""
    num_inputs: ClassVar[tuple[int, int]] = (1, 1)

    def check(self, node: Node, graph: Graph) -> None:
        """Raise a ModelError unless the node is one this op computes exactly: run before any
        other method sees the node. The default is an elementwise op's: the output has the
        input's shape and dtype."""
        c = NodeCheck(node, graph)
        x, y = c.input(0), c.output()
        c.same_shape(x, y)
        c.dtypes((x, y), self.dtypes)

    def output_shapes(self, node: Node, graph: Graph) -> list[tuple[int, ...]]:
        return [graph.tensor(node.outputs[0]).shape]

    def macs(self, node: Node, graph: Graph) -> int:
        return 0

    def evaluate(self, node: Node, graph: Graph, inputs: list[np.ndarray | None]
                 ) -> list[np.ndarray]:
        raise NotImplementedError

    def lower(self, node: Node, graph: Graph) -> KernelCall:
        """The portable kernel call, which tinyml/kernels registers as the op's portable
        variant; specialised variants are modules of tinyml/kernels."""
        raise NotImplementedError


REGISTRY: dict[str, Op] = {}


def register(cls: type[Op]) -> type[Op]:
    if cls.name in REGISTRY:
        raise ValueError(f"op {cls.name} registered twice")
    REGISTRY[cls.name] = cls()
    return cls


def get_op(node: Node, graph: Graph | None = None) -> Op:
    try:
        return REGISTRY[node.op]
    except KeyError:
        raise UnsupportedError("unsupported op", model=graph.source if graph else None,
                               node=node.name, op=node.op) from None


def io_dtype(node: Node, graph: Graph) -> str:
    """The dtype a kernel is chosen by: that of the first input."""
    return graph.tensor(node.inputs[0]).dtype


def dtype_suffix(dtype: str) -> str:
    return DTYPES[dtype].suffix


def unsupported_dtype(node: Node, graph: Graph, dtype: str) -> UnsupportedError:
    return UnsupportedError(f"dtype {dtype} is not supported by this op",
                            model=graph.source, node=node.name, op=node.op)


def per_tensor(t: Tensor) -> tuple[float, int]:
    """(scale, zero point) of a per-tensor quantized tensor."""
    assert t.quant is not None, t.name
    return t.quant.scale[0], t.quant.zero_point[0]


def clamp_float(x: np.ndarray, act: tuple[float, float]) -> np.ndarray:
    lo, hi = act
    if lo > -math.inf or hi < math.inf:
        x = np.clip(x, np.float32(max(lo, -3.4e38)), np.float32(min(hi, 3.4e38)))
    return x.astype(np.float32)


def float_bounds(act: tuple[float, float]) -> tuple[float, float]:
    """Clamp bounds as C floats: infinities become +-FLT_MAX, as in TFLite."""
    big = float(np.finfo(np.float32).max)
    return max(act[0], -big), min(act[1], big)
