"""TFLite flatbuffers (float32 and int8) to the IR.

TFLite is already NHWC, so tensors keep their shapes; quantization parameters are imported
as they are. One converter per builtin op in `tflite_ops.CONVERTERS`; an unknown op is
collected so that every unsupported op of the model is reported at once.

Every index the file holds (tensor, buffer, opcode) is range-checked before it is used, and
each problem is one error naming the node and op: "corrupt" is kept for a flatbuffer that
cannot be read at all.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import tflite

from ..errors import ModelError, ShapeError, TinymlError, UnsupportedError
from ..ir import Graph, Quant, Tensor
from .makes import check_made
from .tflite_ops import CONVERTERS, MAKES, OpReader

_TENSOR_TYPES = {0: "float32", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16", 9: "int8"}
_BUILTIN_NAMES = {v: k for k, v in vars(tflite.BuiltinOperator).items() if k.isupper()}
#: what reading a damaged flatbuffer raises (out-of-range offsets, short buffers)
_FLATBUFFER_ERRORS = (struct.error, IndexError, ValueError, TypeError, OverflowError,
                      UnicodeDecodeError)
_NAME_LIMIT = 200


def _text(raw: bytes | None, limit: int = _NAME_LIMIT) -> str:
    """A string field of the file as text: invalid UTF-8 replaced, cut to `limit`."""
    return raw.decode("utf-8", "replace")[:limit] if raw else ""


def _read_tensor(model, sg, i: int, source: str) -> Tensor:
    t = sg.Tensors(i)
    name = t.Name()
    name = name.decode("utf-8", "replace") if name else f"tensor_{i}"   # unnamed: its position
    dtype = _TENSOR_TYPES.get(t.Type())
    if dtype is None:
        raise UnsupportedError(f"tensor {name!r} has unsupported type code {t.Type()}", model=source)
    shape = tuple(int(t.Shape(k)) for k in range(t.ShapeLength()))
    if any(d < 0 for d in shape):
        raise ModelError(f"tensor {name!r} has a negative dimension in its shape {shape}",
                         model=source)
    return Tensor(name, shape, dtype, _read_quant(t, name, source),
                  _read_data(model, t, name, shape, dtype, source))


def _read_quant(t, name: str, source: str) -> Quant | None:
    q = t.Quantization()
    if q is None or q.ScaleLength() == 0:
        return None
    scales, zps = q.ScaleAsNumpy(), q.ZeroPointAsNumpy() if q.ZeroPointLength() else np.zeros(1)
    if len(zps) not in (1, len(scales)):
        raise ModelError(f"tensor {name!r} has {len(scales)} scales but {len(zps)} zero points",
                         model=source)
    return Quant.of(scales, zps, int(q.QuantizedDimension()))


def _read_data(model, t, name: str, shape, dtype: str, source: str) -> np.ndarray | None:
    index = t.Buffer()
    if index >= model.BuffersLength():
        raise ModelError(f"tensor {name!r} names buffer {index}; the model has "
                         f"{model.BuffersLength()} buffers", model=source)
    buf = model.Buffers(index)
    needed = int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize
    if index > 0 and needed == 0:   # a constant without elements: there is nothing to store
        return np.zeros(shape, dtype)
    if buf is None or buf.DataLength() == 0:
        return None
    if buf.DataLength() != needed:
        raise ModelError(f"tensor {name!r} of shape {shape} ({dtype}) needs {needed} bytes; its "
                         f"buffer {index} holds {buf.DataLength()}", model=source)
    raw = buf.DataAsNumpy().tobytes()
    return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)


def _unique(names: list[str]) -> list[str]:
    """The names with repeats suffixed `_1`, `_2`, ...: the first of each keeps its name and
    no suffixed name takes another tensor's."""
    taken, kept = set(names), set()
    suffix: dict[str, int] = {}
    out = []
    for name in names:
        candidate = name
        if name in kept:
            while candidate in taken:
                suffix[name] = suffix.get(name, 0) + 1
                candidate = f"{name}_{suffix[name]}"
            taken.add(candidate)
        kept.add(name)
        out.append(candidate)
    return out


def _opname(model, op, j: int, source: str) -> str:
    """The builtin op's name, or `custom op <custom code>` for a CUSTOM op."""
    index = op.OpcodeIndex()
    if index >= model.OperatorCodesLength():
        raise ModelError(f"operator {j} names opcode {index}; the model has "
                         f"{model.OperatorCodesLength()} opcodes", model=source, node=f"op_{j}")
    entry = model.OperatorCodes(index)
    code = max(entry.BuiltinCode(), entry.DeprecatedBuiltinCode())
    if code == tflite.BuiltinOperator.CUSTOM:
        return f"custom op {_text(entry.CustomCode()) or 'without a custom code'}"
    return _BUILTIN_NAMES.get(code, f"builtin op code {code}")


def _indices(vector_length: int, get, count: int, what: str, optional: bool, where) -> list[int]:
    """Tensor indices of a vector, each in range (-1 allowed where an operand is optional)."""
    out = []
    for k in range(vector_length):
        i = int(get(k))
        if not (0 <= i < count or (optional and i == -1)):
            raise ModelError(f"{what} {k} is tensor index {i}; the subgraph has {count} tensors",
                             **where)
        out.append(i)
    return out


def _read_graph(model, source: str):
    """Tensors, converted nodes, inputs and outputs of subgraph 0."""
    if model.SubgraphsLength() < 1:
        raise ModelError("the model has no subgraph", model=source)
    sg = model.Subgraphs(0)
    count = sg.TensorsLength()
    tensors = [_read_tensor(model, sg, i, source) for i in range(count)]
    names = _unique([t.name for t in tensors])
    pool = {n: t.with_(name=n) for t, n in zip(tensors, names)}
    where = {"model": source}
    inputs = [names[i] for i in _indices(sg.InputsLength(), sg.Inputs, count, "graph input",
                                          False, where)]
    outputs = [names[i] for i in _indices(sg.OutputsLength(), sg.Outputs, count, "graph output",
                                           False, where)]
    computed = set(inputs) | {n for n, t in pool.items() if t.is_const}
    nodes, unsupported = [], []
    for j in range(sg.OperatorsLength()):
        op = sg.Operators(j)
        where = {"model": source, "node": f"op_{j}"}
        opname = _opname(model, op, j, source)
        where["op"] = opname
        outs = _indices(op.OutputsLength(), op.Outputs, count, "output", False, where)
        if not outs:
            raise ModelError("the operator has no outputs", **where)
        where["node"] = names[outs[0]]
        ins = _indices(op.InputsLength(), op.Inputs, count, "input", True, where)
        for i in ins:
            if i >= 0 and names[i] not in computed:
                raise ModelError(f"reads tensor {names[i]!r}, which no earlier operator computes",
                                 **where)
        for i in outs:
            if names[i] in computed:
                raise ModelError(f"writes tensor {names[i]!r}, which is already defined", **where)
            computed.add(names[i])
        reader = OpReader(op, names[outs[0]], opname, tuple(names[i] if i >= 0 else "" for i in ins),
                          tuple(names[i] for i in outs), pool, source)
        convert = CONVERTERS.get(opname)
        if convert is None:
            unsupported.append(f"{opname} (node {reader.name!r})")
            continue
        try:
            made = convert(reader)
        except _FLATBUFFER_ERRORS as exc:   # its options table points outside the file
            raise ModelError(f"corrupt options table ({type(exc).__name__}: {exc})",
                             **where) from None
        check_made(made, MAKES[opname], source, reader.name, opname)
        nodes.extend(made)
    if unsupported:
        raise UnsupportedError("unsupported ops: " + ", ".join(unsupported), model=source)
    return pool, nodes, inputs, outputs


def load_tflite(path: str | Path, data: bytes | None = None) -> Graph:
    """Import a flatbuffer from `path`, or from `data` (then `path` only names the model)."""
    source = str(path)
    buf = Path(path).read_bytes() if data is None else bytes(data)
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ModelError("not a TFLite flatbuffer (no TFL3 identifier)", model=source)
    try:
        pool, nodes, inputs, outputs = _read_graph(tflite.Model.GetRootAsModel(buf, 0), source)
    except TinymlError:
        raise
    except _FLATBUFFER_ERRORS as exc:   # offsets pointing outside the file, short buffers
        raise ModelError(f"corrupt TFLite file ({type(exc).__name__}: {exc})", model=source) from None
    for name in inputs:
        if any(d <= 0 for d in pool[name].shape):
            raise ShapeError(f"input {name!r} has a dynamic shape {pool[name].shape}", model=source)
    graph = Graph.build(Path(path).stem, nodes, pool.values(), inputs, outputs, source)
    return graph.replace()
