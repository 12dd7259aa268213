"""What ONNX converters build on: the registry of converters and the view of one node.

A converter is registered for an op type and the schema versions it implements
(`@converter("Conv", since=(1, 11, 22))`): the ONNX schema in force for a node is the newest
`since_version` of its op at or below the model's opset (`onnx.defs.get_schema`); an op
whose version in force is not declared is refused by name and version. Each attribute is
read with its type checked, so a malformed node is a clean error naming it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import UnsupportedError
from ..ir import Node, Quant, Tensor
from ..ops.transpose import TransposeAttrs

NCHW_TO_NHWC = (0, 2, 3, 1)
NHWC_TO_NCHW = (0, 3, 1, 2)
DEFAULT_DOMAINS = ("", "ai.onnx")


@dataclass(frozen=True)
class Converter:
    fn: Callable[["NodeReader"], None]
    versions: frozenset[int]
    makes: tuple[str, ...]          # the IR ops it makes, besides layout helpers


CONVERTERS: dict[str, Converter] = {}


def converter(*op_types: str, since: tuple[int, ...],
              makes: tuple[str, ...] | dict[str, tuple[str, ...]]):
    """Register `fn` for `op_types` (default domain) at the schema versions `since`; `makes`:
    the IR ops it makes, for every op type or per op type (the frontend refuses a converter
    that makes another: docs/ops.md stays true)."""
    def deco(fn):
        for name in op_types:
            ops = makes[name] if isinstance(makes, dict) else makes
            CONVERTERS[name] = Converter(fn, frozenset(since), ops)
        return fn
    return deco


class NodeError(UnsupportedError):
    """A converter's refusal or a malformed node; load_onnx lists every one of them at once."""

    def __init__(self, reason: str, **where):
        super().__init__(reason, **where)
        self.reason = reason


class Context:
    """The graph being built: IR tensors by name, constants, producers of ONNX tensors."""

    def __init__(self, source: str, tensors: dict[str, Tensor], producers: dict):
        self.source = source
        self.tensors = tensors
        self.consts = {n: t.data for n, t in tensors.items() if t.is_const}
        self.producers = producers
        self.node_names: set[str] = set()

    def tensor(self, name: str) -> Tensor:
        try:
            return self.tensors[name]
        except KeyError:
            raise NodeError(f"the shape of tensor {name!r} cannot be inferred",
                            model=self.source) from None

    def add_tensor(self, t: Tensor) -> str:
        self.tensors[t.name] = t
        if t.is_const:
            self.consts[t.name] = t.data
        return t.name

    def unique(self, base: str) -> str:
        name, i = base, 0
        while name in self.tensors or name in self.node_names:
            i += 1
            name = f"{base}_{i}"
        return name


_ATTR_KINDS = {"int": 2, "float": 1, "string": 3, "ints": 7, "floats": 6, "tensor": 4}


class NodeReader:
    """What a converter sees of one ONNX node, and how it emits IR nodes and tensors."""

    def __init__(self, ctx: Context, node, version: int):
        self._ctx, self.proto = ctx, node
        self.name = node.name or (node.output[0] if node.output else node.op_type)
        self.op_type, self.source, self.version = node.op_type, ctx.source, version
        self.inputs = tuple(node.input)
        self.outputs = tuple(node.output)
        self.nodes: list[Node] = []
        if not self.outputs or not self.outputs[0]:
            raise self.unsupported("the node has no output")

    # ---- reading attributes (the type each one must have is checked)
    def _attr(self, name: str, kind: str):
        for a in self.proto.attribute:
            if a.name == name:
                if a.type != _ATTR_KINDS[kind]:
                    raise self.unsupported(f"attribute {name!r} must be of type {kind}")
                return a
        return None

    def int_attr(self, name: str, default: int) -> int:
        a = self._attr(name, "int")
        return default if a is None else int(a.i)

    def float_attr(self, name: str, default: float) -> float:
        a = self._attr(name, "float")
        return default if a is None else float(a.f)

    def string_attr(self, name: str, default: str) -> str:
        a = self._attr(name, "string")
        if a is None:
            return default
        try:
            return a.s.decode()
        except UnicodeDecodeError:
            raise self.unsupported(f"attribute {name!r} is not text") from None

    def ints_attr(self, name: str, default=None, *, length: int | None = None,
                  minimum: int | None = None) -> tuple[int, ...] | None:
        """An INTS attribute, checked for its length and lower bound."""
        a = self._attr(name, "ints")
        if a is None:
            return None if default is None else tuple(default)
        values = tuple(int(v) for v in a.ints)
        if length is not None and len(values) != length:
            raise self.unsupported(f"attribute {name!r} has {len(values)} values, {length} "
                                   "expected")
        if minimum is not None and any(v < minimum for v in values):
            raise self.unsupported(f"attribute {name!r} values must be >= {minimum}, not "
                                   f"{list(values)}")
        return values

    def has_attr(self, name: str) -> bool:
        return any(a.name == name for a in self.proto.attribute)

    # ---- reading inputs
    def input(self, i: int) -> str:
        """The i-th input's name, or "" when it is absent."""
        return self.inputs[i] if i < len(self.inputs) else ""

    def required(self, i: int, what: str = "") -> str:
        name = self.input(i)
        if not name:
            raise self.unsupported(f"input {i}{f' ({what})' if what else ''} is missing")
        return name

    def info(self, name: str) -> Tensor:
        """The IR tensor of `name`: shape, dtype, quantization, data."""
        return self._ctx.tensor(name)

    def shape(self, name: str) -> tuple[int, ...]:
        return self._ctx.tensor(name).shape

    def dtype(self, name: str) -> str:
        return self._ctx.tensor(name).dtype

    def is_const(self, name: str) -> bool:
        return bool(name) and name in self._ctx.consts

    def const(self, name: str, what: str = "this input") -> np.ndarray:
        if not self.is_const(name):
            raise self.unsupported(f"{what} must be a constant")
        return self._ctx.consts[name]

    def scalar(self, name: str, what: str) -> float:
        """A constant holding one finite number."""
        value = self.const(name, what)
        if value.size != 1:
            raise self.unsupported(f"{what} must hold one value, not {value.size}")
        number = float(value.reshape(-1)[0])
        if math.isnan(number):
            raise self.unsupported(f"{what} is NaN")
        return number

    def producer(self, name: str):
        return self._ctx.producers.get(name)

    # ---- emitting
    def tensor(self, base: str, shape, dtype: str = "float32", data=None,
               quant: Quant | None = None) -> str:
        """A new IR tensor named after `base`; returns its name."""
        return self._ctx.add_tensor(Tensor(self._ctx.unique(base), tuple(shape), dtype, quant,
                                           data))

    def quant_of(self, name: str) -> Quant | None:
        return self._ctx.tensor(name).quant

    def emit(self, op: str, inputs, outputs, attrs=None, suffix: str = "") -> None:
        """Add an IR node: the op itself (no suffix) is named after the ONNX node, helpers
        (Transposes, Dequantize, ...) after it plus `suffix`."""
        taken = self._ctx.node_names
        node_name = self.name if not suffix and self.name not in taken else \
            self._ctx.unique(self.name + suffix)
        taken.add(node_name)
        self.nodes.append(Node(node_name, op, tuple(inputs), tuple(outputs), attrs))

    def transpose(self, name: str, perm, out: str | None = None) -> str:
        """Emit a Transpose of `name` (into `out` when given); returns the output's name."""
        src = self._ctx.tensor(name)
        if sorted(perm) != list(range(len(src.shape))):
            raise self.unsupported(f"perm {list(perm)} is not a permutation of the "
                                   f"{len(src.shape)} axes")
        if out is None:
            out = self.tensor(f"{name}_t", tuple(src.shape[p] for p in perm), src.dtype,
                              quant=src.quant)
        self.emit("Transpose", [name], [out], TransposeAttrs(tuple(perm)), suffix="_transpose")
        return out

    def to_nhwc(self, name: str) -> str:
        return self.transpose(name, NCHW_TO_NHWC)

    def nhwc_output(self, onnx_name: str) -> str:
        """A fresh NHWC tensor for an NCHW output; `from_nhwc` writes it back to `onnx_name`."""
        t = self._ctx.tensor(onnx_name)
        return self.tensor(f"{onnx_name}_nhwc", tuple(t.shape[p] for p in NCHW_TO_NHWC),
                           t.dtype, quant=t.quant)

    def from_nhwc(self, nhwc: str, onnx_name: str) -> None:
        self.transpose(nhwc, NHWC_TO_NCHW, out=onnx_name)

    def weight(self, name: str, perm=None, scale: np.ndarray | None = None,
               unit_axis: int | None = None) -> str:
        """A constant weight, transposed by `perm` and multiplied by `scale`, with a dimension
        of size 1 inserted at `unit_axis` (a 1-D convolution's, run as 2-D). A quantized
        weight (an integer constant, or one dequantized from it in QDQ models) stays integer:
        a Dequantize of the transposed integer constant, for the QDQ pass to fuse."""
        q = self._quantized_const(name)
        if q is None:
            w = self.const(name, "the weight").astype(np.float32)
            w = w if perm is None else np.transpose(w, perm)
            w = w if scale is None else w * scale
            w = w if unit_axis is None else np.expand_dims(w, unit_axis)
            return self.tensor(f"{name}_w", w.shape, "float32", data=w)
        if scale is not None:
            raise self.unsupported("a quantized weight with a scale factor is not supported")
        data, quant = q.data, q.quant
        if perm is not None:
            data = np.transpose(data, perm)
            if quant.per_channel:
                quant = Quant(quant.scale, quant.zero_point, list(perm).index(quant.axis))
        if unit_axis is not None:
            data = np.expand_dims(data, unit_axis)
            if quant.per_channel:
                quant = Quant(quant.scale, quant.zero_point,
                              quant.axis + (quant.axis >= unit_axis))
        qname = self.tensor(f"{q.name}_q", data.shape, q.dtype, data=data, quant=quant)
        return self.dequantize(qname)

    def dequantize(self, name: str) -> str:
        """Emit a Dequantize of the quantized tensor `name`; returns the float tensor."""
        out = self.tensor(f"{name}_dq", self.shape(name), "float32")
        self.emit("Dequantize", [name], [out], suffix="_dequantize")
        return out

    def quantize(self, name: str, out: str) -> None:
        """Emit a Quantize of the float tensor `name` into the quantized tensor `out`."""
        self.emit("Quantize", [name], [out], suffix="_quantize")

    def _quantized_const(self, name: str) -> Tensor | None:
        t = self._ctx.tensor(name)
        if t.is_const and t.quant is not None:
            return t
        node = self.producer(name)
        if node is not None and node.op_type == "DequantizeLinear" and node.input and \
                self.is_const(node.input[0]):
            q = self._ctx.tensor(node.input[0])
            return q if q.quant is not None else None
        return None

    def is_quantized_const(self, name: str) -> bool:
        return bool(name) and self._quantized_const(name) is not None

    def unsupported(self, what: str) -> NodeError:
        return NodeError(what, model=self.source, node=self.name, op=self.op_type)
