"""ONNX models (every opset the installed onnx defines; float, QDQ and QOperator) to the IR.

Tensors keep their ONNX shapes (NCHW). Converters for ops that the IR defines on NHWC data
(convolutions, pooling) wrap the op between two Transposes and transpose constant weights at
import; `tinyml.passes.remove_transposes` then cancels the Transposes. Before conversion,
onnxruntime's com.microsoft QLinear ops are written out as DequantizeLinear -> op ->
QuantizeLinear (`onnx_qoperator`), the static shapes of the inputs are fixed, ONNX shape
inference runs, and every node whose inputs are all constants (shape arithmetic, Constant
nodes, weight reshapes) is evaluated with onnx's reference implementation, so converters only
meet constants and activations. Each node is checked against its op's schema version in force
(`onnx_reader.CONVERTERS`); every unsupported op and every refusal is reported at once.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import ModelError, ShapeError, UnsupportedError
from ..ir import Graph, Quant, Tensor
from . import onnx_ops, onnx_quant_ops  # noqa: F401  (register the converters)
from .onnx_qoperator import expand_qoperators
from .makes import check_made
from .onnx_reader import CONVERTERS, DEFAULT_DOMAINS, Context, NodeError, NodeReader

_ELEM_TYPES = {1: "float32", 2: "uint8", 3: "int8", 5: "int16", 6: "int32", 7: "int64",
               9: "bool"}
#: kept as nodes even with constant inputs: the QDQ pass reads their quantization
_NOT_FOLDED = {"QuantizeLinear", "DequantizeLinear"}


def load_onnx(path: str | Path, input_shapes: dict[str, tuple[int, ...]] | None = None) -> Graph:
    source = str(path)
    model = _read_model(Path(path), source)
    opset = _default_opset(model, source)
    expand_qoperators(model, source)
    _fix_input_shapes(model, input_shapes or {}, source)
    model = _fold_constants(model, source)
    graph = model.graph
    versions = _schema_versions(graph, opset, source)
    tensors = _graph_tensors(graph, source)
    _check_shapes_inferred(model, tensors, source)
    inputs = [i.name for i in graph.input if i.name not in tensors or not tensors[i.name].is_const]
    outputs = [o.name for o in graph.output]
    for name in (*inputs, *outputs):
        if name not in tensors:
            raise ShapeError(f"the shape of {name!r} cannot be inferred", model=source)
        dtype = tensors[name].dtype
        if dtype not in ("float32", "int8"):
            role = "input" if name in inputs else "output"
            raise UnsupportedError(f"model {role} {name!r} has dtype {dtype}; float32 and int8 "
                                   "are supported", model=source)
    ctx = Context(source, tensors, {o: n for n in graph.node for o in n.output})
    _attach_quantization(graph, ctx)
    nodes, refused = [], []
    for node, version in zip(graph.node, versions):
        try:
            reader = NodeReader(ctx, node, version)
            CONVERTERS[node.op_type].fn(reader)
        except NodeError as exc:
            refused.append(f"{node.op_type} (node {_node_name(node)!r}: {exc.reason})")
            continue
        check_made(reader.nodes, CONVERTERS[node.op_type].makes, source, reader.name,
                   node.op_type)
        nodes.extend(reader.nodes)
    if refused:
        raise UnsupportedError("unsupported ops: " + ", ".join(refused), model=source)
    ir = Graph.build(Path(path).stem, nodes, ctx.tensors.values(), inputs, outputs, source)
    return ir.replace()


def _check_shapes_inferred(model, tensors: dict, source: str) -> None:
    """The first node whose used outputs got no static shape from ONNX shape inference (a
    malformed node: a missing input, attributes that do not fit) is named, with the reason
    strict inference gives."""
    graph = model.graph
    used = {n for node in graph.node for n in node.input} | {o.name for o in graph.output}
    for node in graph.node:
        missing = [o for o in node.output if o and o in used and o not in tensors]
        if missing and all(i in tensors for i in node.input if i):
            raise ShapeError(f"the shape of {missing[0]!r} cannot be inferred"
                             f"{_strict_inference_reason(model)}", model=source,
                             node=_node_name(node), op=node.op_type)


def _strict_inference_reason(model) -> str:
    import onnx
    try:
        onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except Exception as exc:  # onnx raises InferenceError and others from its C++ core
        line = (str(exc).strip().splitlines() or [""])[0]
        reason = re.sub(r"^\[\w+\] \(op_type:[^,]*, node name: [^)]*\): ", "", line)
        return f": {reason}" if reason and reason != line else ""
    return ""


def _node_name(node) -> str:
    return node.name or (node.output[0] if node.output else node.op_type)


def _schema_versions(graph, opset: int, source: str) -> list[int]:
    """The schema version in force for each node; every op without a converter for it is
    listed at once ("Foo-23", "com.microsoft.QGemm")."""
    import onnx
    versions, unsupported = [], []
    for node in graph.node:
        where = f"(node {_node_name(node)!r})"
        if node.domain not in DEFAULT_DOMAINS:
            unsupported.append(f"{node.domain}.{node.op_type} {where}")
            versions.append(0)
            continue
        try:
            version = onnx.defs.get_schema(node.op_type, opset, "").since_version
        except onnx.defs.SchemaError:
            unsupported.append(f"{node.op_type} {where}: not an op of ONNX opset {opset}")
            versions.append(0)
            continue
        conv = CONVERTERS.get(node.op_type)
        if conv is None:
            unsupported.append(f"{node.op_type} {where}")
        elif version not in conv.versions:
            unsupported.append(f"{node.op_type}-{version} is not supported {where}")
        versions.append(version)
    if unsupported:
        raise UnsupportedError("unsupported ops: " + ", ".join(unsupported), model=source)
    return versions


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
    _names_as_text(model)
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer):
        try:
            onnx.external_data_helper.load_external_data_for_model(model, str(path.parent))
        except Exception as exc:  # OSError, onnx's ValidationError for paths outside the folder
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ModelError(f"external weights cannot be read ({first_line})",
                             model=source) from None
    return model


def _names_as_text(model) -> None:
    """Names that are not UTF-8 (protobuf hands them over as bytes) become text with the
    bad bytes escaped, the same way everywhere, so they still connect the graph."""
    def text(value):
        return value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else value

    def fix(message, field: str) -> None:
        value = getattr(message, field)
        if isinstance(value, bytes):
            setattr(message, field, text(value))

    def fix_list(container) -> None:
        if any(isinstance(v, bytes) for v in container):
            values = [text(v) for v in container]
            del container[:]
            container.extend(values)

    graph = model.graph
    for opset in model.opset_import:
        fix(opset, "domain")
    for node in graph.node:
        for field in ("name", "op_type", "domain"):
            fix(node, field)
        fix_list(node.input)
        fix_list(node.output)
        for attribute in node.attribute:
            fix(attribute, "name")
    for value in (*graph.input, *graph.output, *graph.value_info, *graph.initializer):
        fix(value, "name")


def _default_opset(model, source: str) -> int:
    import onnx
    versions = [o.version for o in model.opset_import if o.domain in DEFAULT_DOMAINS]
    opset = versions[0] if versions else 1
    newest = onnx.defs.onnx_opset_version()
    if not 1 <= opset <= newest:
        raise UnsupportedError(f"ONNX opset {opset} is not supported (the installed onnx "
                               f"defines opsets 1-{newest})", model=source)
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
        kind = value.type.WhichOneof("value")
        if kind != "tensor_type":
            raise UnsupportedError(f"input {value.name!r} is a {kind or 'value of no type'}, not "
                                   "a tensor", model=source)
        dims = value.type.tensor_type.shape.dim
        if any(d.HasField("dim_value") and d.dim_value <= 0 for d in dims):
            raise ShapeError(f"input {value.name!r} has an empty dimension "
                             f"{[d.dim_value for d in dims]}", model=source)
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
        where = re.search(r"\(op_type:([^,]*), node name: ([^)]*)\): (.*)", first_line)
        if where:
            raise ShapeError(f"ONNX shape inference failed: {where[3]}", model=source,
                             node=where[2], op=where[1]) from None
        raise ShapeError(f"ONNX shape inference failed: {first_line}", model=source) from None


def initializer_array(tensor, source: str) -> np.ndarray:
    """An initializer's values; its bytes must fit its dims and type."""
    from onnx import numpy_helper
    try:
        return numpy_helper.to_array(tensor)
    except (ValueError, TypeError, KeyError, OverflowError, MemoryError) as exc:
        raise ModelError(f"initializer {tensor.name!r} cannot be read: its data does not fit its "
                         f"dims {list(tensor.dims)} and type ({exc})", model=source) from None


def _fold_constants(model, source: str):
    """Evaluate every node whose inputs are all constants (and Shape of a static tensor)
    with onnx's reference implementation; its outputs become initializers."""
    from onnx import numpy_helper
    from onnx.reference import ReferenceEvaluator

    opsets = {o.domain: o.version for o in model.opset_import}
    while True:
        model = _infer(model, source)
        graph = model.graph
        consts = {t.name: initializer_array(t, source) for t in graph.initializer}
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


#: constants folded at import are at most this many elements (a hostile ConstantOfShape or
#: Expand would otherwise allocate what it names)
_FOLD_LIMIT = 1 << 24


def _constant_outputs(node, consts, shapes, opsets, evaluator_cls):
    if node.op_type in _NOT_FOLDED or node.domain not in DEFAULT_DOMAINS:
        return None
    for name in node.output:
        shape = shapes.get(name)
        if shape is not None and None not in shape and \
                int(np.prod(shape, dtype=np.float64)) > _FOLD_LIMIT:
            return None
    if node.op_type in ("Shape", "Size") and not node.input:
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
    tensors: dict[str, Tensor] = {}
    for init in graph.initializer:
        data = initializer_array(init, source)
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
        known = elem_type in onnx.TensorProto.DataType.values()
        kind = onnx.TensorProto.DataType.Name(elem_type) if known else f"code {elem_type}"
        raise UnsupportedError(f"tensor {name!r} has unsupported type {kind}", model=source)
    return dtype


def _attach_quantization(graph, ctx: Context) -> None:
    """Quantized tensors get their (scale, zero point) from the Quantize/DequantizeLinear and
    QLinear nodes that name them. uint8 becomes int8 throughout: q - 128 with zero point z - 128
    is exactly the same real value. Parameters that are missing or not constants are left to
    the converter to report; parameters that cannot be right are refused here."""
    for node in graph.node:
        for tensor_index, scale_index, axis in _QUANT_PARAMS.get(node.op_type, ()):
            if max(tensor_index, scale_index) >= len(node.input) or not node.output:
                continue
            name = node.input[tensor_index] if tensor_index >= 0 else node.output[0]
            zp_name = node.input[scale_index + 1] if len(node.input) > scale_index + 1 else ""
            scale = ctx.consts.get(node.input[scale_index])
            if scale is None or (zp_name and zp_name not in ctx.consts) or name not in ctx.tensors:
                continue
            t = ctx.tensors[name]
            if zp_name:
                dtype, zp = ctx.tensors[zp_name].dtype, ctx.consts[zp_name]
            else:  # ONNX's default zero point is uint8 0, except for int32 biases
                dtype, zp = ("int32" if t.dtype == "int32" else "uint8"), 0
            axis = _node_axis(node, ctx.source) if axis is None else axis
            ctx.add_tensor(_quantized(t.with_(dtype=dtype), scale, zp, axis,
                                      dict(model=ctx.source, node=_node_name(node), op=node.op_type)))
    # int8 arithmetic on raw integers is not tinyml's int8, which is quantized
    for node in graph.node:
        for name in (*node.input, *node.output):
            t = ctx.tensors.get(name) if name else None
            if t is not None and t.dtype in ("int8", "uint8") and t.quant is None and \
                    not t.is_const:
                raise UnsupportedError(f"tensor {name!r} is {t.dtype} without quantization "
                                       "parameters", model=ctx.source, node=_node_name(node),
                                       op=node.op_type)


def _node_axis(node, source: str) -> int:
    for a in node.attribute:
        if a.name == "axis":
            if a.type != 2:
                raise ModelError("attribute 'axis' must be of type int", model=source,
                                 node=_node_name(node), op=node.op_type)
            return int(a.i)
    return 1


def _quantized(t: Tensor, scale, zero_point, axis: int, where: dict) -> Tensor:
    scale = np.asarray(scale)
    if scale.dtype.kind != "f":
        raise ModelError(f"the scale of {t.name!r} is {scale.dtype}, not a float", **where)
    scale = scale.astype(np.float64).ravel()
    if scale.size == 0 or not np.all(np.isfinite(scale)) or np.any(scale <= 0):
        raise ModelError(f"the scale of {t.name!r} must be finite and > 0, not "
                         f"{scale[:4].tolist()}", **where)
    zp = np.asarray(zero_point)
    if zp.dtype.kind not in "iu":
        raise UnsupportedError(f"the zero point of {t.name!r} is {zp.dtype}, not an integer",
                               **where)
    zp = np.atleast_1d(zp.astype(np.int64)).ravel()
    rank = len(t.shape)
    if scale.size > 1:
        if not -rank <= axis < rank:
            raise ModelError(f"axis {axis} is out of range for {t.name!r} of rank {rank}",
                             **where)
        axis %= rank
        if scale.size != t.shape[axis] or zp.size not in (1, scale.size):
            raise ModelError(f"{scale.size} scales and {zp.size} zero points for the "
                             f"{t.shape[axis]} channels of {t.name!r}", **where)
    elif zp.size != 1:
        raise ModelError(f"{zp.size} zero points for the one scale of {t.name!r}", **where)
    data, dtype = t.data, t.dtype
    if dtype == "uint8":
        zp, dtype = zp - 128, "int8"
        if data is not None:
            data = (data.astype(np.int16) - 128).astype(np.int8)
    if dtype in ("int8", "int32"):
        info = np.iinfo(dtype)
        if zp.min() < info.min or zp.max() > info.max:
            raise ModelError(f"the zero point of {t.name!r} is out of the {dtype} range", **where)
    quant = Quant.of(scale, zp, axis if scale.size > 1 else 0)
    return t.with_(dtype=dtype, quant=quant, data=data)


#: op type -> (quantized tensor's input index (-1: the output), its scale's input index,
#: channel axis of per-channel scales (None: the node's `axis` attribute))
_QUANT_PARAMS = {
    "QuantizeLinear": ((-1, 1, None),),
    "DequantizeLinear": ((0, 1, None),),
    "QLinearConv": ((0, 1, 0), (3, 4, 0), (-1, 6, 0)),
    "QLinearMatMul": ((0, 1, 0), (3, 4, 1), (-1, 6, 0)),
}
