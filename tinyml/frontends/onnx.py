"""ONNX models (opsets 7-21; float, QDQ and QLinear) to the IR.

Tensors keep their ONNX shapes (NCHW). Converters for ops that the IR defines on NHWC data
(convolutions, pooling) wrap the op between two Transposes and transpose constant weights at
import; `tinyml.passes.remove_transposes` then cancels the Transposes. Before conversion, the static
shapes of the inputs are fixed, ONNX shape inference runs, and every node whose inputs are
all constants (shape arithmetic, Constant nodes, weight reshapes) is evaluated with onnx's
reference implementation, so converters only meet constants and activations.
One converter per op type in `CONVERTERS`; unknown ops are collected and reported at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import ModelError, ShapeError, UnsupportedError
from ..ir import Graph, Node, Quant, Tensor
from ..ops.transpose import TransposeAttrs

OPSETS = range(7, 22)
NCHW_TO_NHWC = (0, 2, 3, 1)
NHWC_TO_NCHW = (0, 3, 1, 2)

_ELEM_TYPES = {1: "float32", 2: "uint8", 3: "int8", 5: "int16", 6: "int32", 7: "int64",
               9: "bool"}
#: kept as nodes even with constant inputs: the QDQ pass reads their quantization
_NOT_FOLDED = {"QuantizeLinear", "DequantizeLinear"}


class NodeReader:
    """What a converter sees of one ONNX node, and how it emits IR nodes and tensors."""

    def __init__(self, ctx: "_Context", node):
        self._ctx, self.proto = ctx, node
        self.name = node.name or (node.output[0] if node.output else node.op_type)
        self.op_type, self.source, self.opset = node.op_type, ctx.source, ctx.opset
        self.inputs = tuple(node.input)
        self.outputs = tuple(node.output)
        self.nodes: list[Node] = []

    # ---- reading
    def attr(self, name: str, default: Any = None) -> Any:
        import onnx
        for a in self.proto.attribute:
            if a.name == name:
                value = onnx.helper.get_attribute_value(a)
                return value.decode() if isinstance(value, bytes) else value
        return default

    def input(self, i: int) -> str:
        """The i-th input's name, or "" when it is absent."""
        return self.inputs[i] if i < len(self.inputs) else ""

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

    def weight(self, name: str, perm=None, scale: np.ndarray | None = None) -> str:
        """A constant weight, transposed by `perm` and multiplied by `scale`. A quantized
        weight (an integer constant, or one dequantized from it in QDQ models) stays integer:
        a Dequantize of the transposed integer constant, for the QDQ pass to fuse."""
        q = self._quantized_const(name)
        if q is None:
            w = self.const(name, "the weight").astype(np.float32)
            w = w if perm is None else np.transpose(w, perm)
            w = w if scale is None else w * scale
            return self.tensor(f"{name}_w", w.shape, "float32", data=w)
        if scale is not None:
            raise self.unsupported("a quantized weight with a scale factor is not supported")
        data, quant = q.data, q.quant
        if perm is not None:
            data = np.transpose(data, perm)
            if quant.per_channel:
                quant = Quant(quant.scale, quant.zero_point, list(perm).index(quant.axis))
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
        if node is not None and node.op_type == "DequantizeLinear" and self.is_const(node.input[0]):
            return self._ctx.tensor(node.input[0])
        return None

    def is_quantized_const(self, name: str) -> bool:
        return bool(name) and self._quantized_const(name) is not None

    def unsupported(self, what: str) -> UnsupportedError:
        return _Unsupported(what, model=self.source, node=self.name, op=self.op_type)


Converter = Callable[[NodeReader], None]
CONVERTERS: dict[str, Converter] = {}


def converter(*op_types: str):
    def deco(fn: Converter) -> Converter:
        for name in op_types:
            CONVERTERS[name] = fn
        return fn
    return deco


class _Context:
    """The graph being built: IR tensors by name, constants, producers of ONNX tensors."""

    def __init__(self, source: str, opset: int, tensors: dict[str, Tensor], producers: dict):
        self.source, self.opset = source, opset
        self.tensors = tensors
        self.consts = {n: t.data for n, t in tensors.items() if t.is_const}
        self.producers = producers
        self.node_names: set[str] = set()

    def tensor(self, name: str) -> Tensor:
        try:
            return self.tensors[name]
        except KeyError:
            raise ShapeError(f"the shape of tensor {name!r} cannot be inferred",
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


def load_onnx(path: str | Path, input_shapes: dict[str, tuple[int, ...]] | None = None) -> Graph:
    from . import onnx_ops  # noqa: F401  (registers the converters)

    source = str(path)
    model = _read_model(Path(path), source)
    opset = _default_opset(model, source)
    _fix_input_shapes(model, input_shapes or {}, source)
    model = _fold_constants(model, source)
    graph = model.graph
    tensors = _graph_tensors(graph, source)
    inputs = [i.name for i in graph.input if i.name not in tensors or not tensors[i.name].is_const]
    outputs = [o.name for o in graph.output]
    for name in (*inputs, *outputs):
        if name not in tensors:
            raise ShapeError(f"the shape of {name!r} cannot be inferred", model=source)
        dtype = tensors[name].dtype
        if dtype not in ("float32", "int8"):
            raise UnsupportedError(f"model input/output {name!r} has dtype {dtype}; float32 and "
                                   "int8 are supported", model=source)
    ctx = _Context(source, opset, tensors, {o: n for n in graph.node for o in n.output})
    _attach_quantization(graph, ctx)
    nodes, unsupported = [], []
    for node in graph.node:
        reader = NodeReader(ctx, node)
        conv = CONVERTERS.get(node.op_type) if node.domain in ("", "ai.onnx") else None
        if conv is None:
            domain = "" if node.domain in ("", "ai.onnx") else f"{node.domain}."
            unsupported.append(f"{domain}{node.op_type} (node {reader.name!r})")
            continue
        try:
            conv(reader)
        except _Unsupported as exc:
            unsupported.append(f"{node.op_type} (node {reader.name!r}: {exc.reason})")
            continue
        nodes.extend(reader.nodes)
    if unsupported:
        raise UnsupportedError("unsupported ops: " + ", ".join(unsupported), model=source)
    ir = Graph.build(Path(path).stem, nodes, ctx.tensors.values(), inputs, outputs, source)
    return ir.replace()


class _Unsupported(UnsupportedError):
    """A converter's refusal; load_onnx lists every one of them at once."""

    def __init__(self, reason: str, **where):
        super().__init__(reason, **where)
        self.reason = reason


def _read_model(path: Path, source: str):
    import onnx
    from google.protobuf.message import DecodeError
    try:
        model = onnx.load_model_from_string(path.read_bytes())
    except (DecodeError, RuntimeWarning, ValueError, TypeError) as exc:
        raise ModelError(f"not a readable ONNX model ({type(exc).__name__})",
                         model=source) from None
    # protobuf parses many byte strings without error: require what every ONNX model has
    if model.ir_version <= 0 or not model.HasField("graph") or not model.graph.output:
        raise ModelError("not an ONNX model (no IR version or graph)", model=source)
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer):
        try:
            onnx.external_data_helper.load_external_data_for_model(model, str(path.parent))
        except OSError as exc:
            raise ModelError(f"external weights cannot be read ({exc})", model=source) from None
    return model


def _default_opset(model, source: str) -> int:
    versions = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    opset = versions[0] if versions else 1
    if opset not in OPSETS:
        raise UnsupportedError(f"ONNX opset {opset} is not supported (opsets "
                               f"{OPSETS.start}-{OPSETS.stop - 1})", model=source)
    return opset


def _fix_input_shapes(model, input_shapes: dict, source: str) -> None:
    """Write the static shape of every graph input into the model, from `input_shapes` where
    the model's shape is dynamic. The key "" stands for the first input."""
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    shapes = dict(input_shapes)
    if "" in shapes and inputs:
        shapes.setdefault(inputs[0].name, shapes.pop(""))
    unknown = set(shapes) - {i.name for i in inputs}
    if unknown:
        raise ShapeError(f"--input-shape names unknown inputs {sorted(unknown)}; the model's "
                         f"inputs are {[i.name for i in inputs]}", model=source)
    for value in inputs:
        dims = value.type.tensor_type.shape.dim
        model_shape = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
                            for d in dims)
        given = shapes.get(value.name)
        if given is None:
            if None in model_shape or not value.type.tensor_type.HasField("shape"):
                shown = ",".join(d.dim_param or "?" if s is None else str(s)
                                 for d, s in zip(dims, model_shape))
                raise ShapeError(f"input {value.name!r} has a dynamic shape ({shown}); pass "
                                 f"--input-shape {value.name}:D,D,...", model=source)
            continue
        if len(given) != len(model_shape) or any(
                s is not None and s != g for s, g in zip(model_shape, given)) or min(given) <= 0:
            raise ShapeError(f"--input-shape {value.name}:{','.join(map(str, given))} does not "
                             f"fit the model's shape {model_shape}", model=source)
        del dims[:]
        for g in given:
            dims.add().dim_value = int(g)


def _infer(model, source: str):
    import onnx
    try:
        return onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False,
                                                 data_prop=True)
    except Exception as exc:  # onnx raises InferenceError and others from its C++ core
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ShapeError(f"ONNX shape inference failed: {first_line}", model=source) from None


def _fold_constants(model, source: str):
    """Evaluate every node whose inputs are all constants (and Shape of a static tensor)
    with onnx's reference implementation; its outputs become initializers."""
    from onnx import numpy_helper
    from onnx.reference import ReferenceEvaluator

    opsets = {o.domain: o.version for o in model.opset_import}
    while True:
        model = _infer(model, source)
        graph = model.graph
        consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        shapes = _value_shapes(graph)
        keep, folded = [], []
        for node in graph.node:
            values = _constant_outputs(node, consts, shapes, opsets, ReferenceEvaluator)
            if values is None:
                keep.append(node)
                continue
            for name, value in zip(node.output, values):
                consts[name] = value
                folded.append(numpy_helper.from_array(np.asarray(value), name))
        if not folded:
            return model
        del graph.node[:]
        graph.node.extend(keep)
        graph.initializer.extend(folded)
        names = {t.name for t in folded}
        kept_info = [v for v in graph.value_info if v.name not in names]
        del graph.value_info[:]
        graph.value_info.extend(kept_info)


def _constant_outputs(node, consts, shapes, opsets, evaluator_cls):
    if node.op_type in _NOT_FOLDED or node.domain not in ("", "ai.onnx"):
        return None
    if node.op_type == "Shape":
        shape = shapes.get(node.input[0])
        if shape is None or None in shape:
            return None
        start = next((a.i for a in node.attribute if a.name == "start"), 0)
        end = next((a.i for a in node.attribute if a.name == "end"), len(shape))
        return [np.array(shape[start:end], dtype=np.int64)]
    if node.op_type == "Size":
        shape = shapes.get(node.input[0])
        return None if shape is None or None in shape else [np.array(np.prod(shape), np.int64)]
    present = [n for n in node.input if n]
    if node.op_type != "Constant" and (not present or any(n not in consts for n in present)):
        return None
    try:
        ev = evaluator_cls(node, opsets=opsets)
        return [np.asarray(v) for v in ev.run(None, {n: consts[n] for n in present})]
    except Exception:  # an op onnx's reference lacks: leave it to the converters
        return None


def _value_shapes(graph) -> dict[str, tuple[int | None, ...]]:
    shapes = {}
    for v in (*graph.input, *graph.value_info, *graph.output):
        tt = v.type.tensor_type
        if tt.HasField("shape"):
            shapes[v.name] = tuple(d.dim_value if d.HasField("dim_value") else None
                                   for d in tt.shape.dim)
    return shapes


def _graph_tensors(graph, source: str) -> dict[str, Tensor]:
    from onnx import numpy_helper
    tensors: dict[str, Tensor] = {}
    for init in graph.initializer:
        data = numpy_helper.to_array(init)
        dtype = _dtype(init.data_type, init.name, source) if data.dtype != np.float64 else "float32"
        tensors[init.name] = Tensor(init.name, data.shape, dtype, data=data)
    for v in (*graph.input, *graph.value_info, *graph.output):
        if v.name in tensors or not v.type.HasField("tensor_type"):
            continue
        tt = v.type.tensor_type
        if not tt.HasField("shape") or any(not d.HasField("dim_value") for d in tt.shape.dim):
            continue  # unknown: _Context.tensor reports it if a converter needs it
        dtype = _dtype(tt.elem_type, v.name, source)
        tensors[v.name] = Tensor(v.name, tuple(d.dim_value for d in tt.shape.dim), dtype)
    return tensors


def _dtype(elem_type: int, name: str, source: str) -> str:
    import onnx
    dtype = _ELEM_TYPES.get(elem_type)
    if dtype is None:
        raise UnsupportedError(f"tensor {name!r} has unsupported type "
                               f"{onnx.TensorProto.DataType.Name(elem_type)}", model=source)
    return dtype


def _attach_quantization(graph, ctx: _Context) -> None:
    """Quantized tensors get their (scale, zero point) from the Quantize/DequantizeLinear and
    QLinear nodes that name them. uint8 becomes int8 throughout: q - 128 with zero point z - 128
    is exactly the same real value."""
    for node in graph.node:
        attr_axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        for tensor_index, scale_index, axis in _QUANT_PARAMS.get(node.op_type, ()):
            name = node.input[tensor_index] if tensor_index >= 0 else node.output[0]
            zp_name = node.input[scale_index + 1] if len(node.input) > scale_index + 1 else ""
            scale = ctx.consts.get(node.input[scale_index])
            if scale is None or (zp_name and zp_name not in ctx.consts) or name not in ctx.tensors:
                continue  # the converter reports it
            t = ctx.tensors[name]
            if zp_name:
                dtype, zp = ctx.tensors[zp_name].dtype, ctx.consts[zp_name]
            else:  # ONNX's default zero point is uint8 0, except for int32 biases
                dtype, zp = ("int32" if t.dtype == "int32" else "uint8"), 0
            rank = max(len(t.shape), 1)
            ctx.add_tensor(_quantized(t.with_(dtype=dtype), scale, zp,
                                      (attr_axis if axis is None else axis) % rank))
    for name, t in ctx.tensors.items():
        if t.dtype == "uint8" and t.quant is None and not t.is_const:
            raise UnsupportedError(f"tensor {name!r} is uint8 without quantization",
                                   model=ctx.source)


def _quantized(t: Tensor, scale, zero_point, axis: int) -> Tensor:
    zp = np.atleast_1d(np.asarray(zero_point, dtype=np.int64))
    data, dtype = t.data, t.dtype
    if dtype == "uint8":
        zp, dtype = zp - 128, "int8"
        if data is not None:
            data = (data.astype(np.int16) - 128).astype(np.int8)
    quant = Quant.of(np.asarray(scale, dtype=np.float64).ravel(), zp, axis)
    if not quant.per_channel:
        quant = Quant(quant.scale, quant.zero_point, 0)
    return t.with_(dtype=dtype, quant=quant, data=data)


#: op type -> (quantized tensor's input index (-1: the output), its scale's input index,
#: channel axis of per-channel scales (None: the node's `axis` attribute))
_QUANT_PARAMS = {
    "QuantizeLinear": ((-1, 1, None),),
    "DequantizeLinear": ((0, 1, None),),
    "QLinearConv": ((0, 1, 0), (3, 4, 0), (-1, 6, 0)),
    "QLinearMatMul": ((0, 1, 0), (3, 4, 1), (-1, 6, 0)),
}
