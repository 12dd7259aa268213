"""TFLite flatbuffers (float32 and int8) to the IR.

TFLite is already NHWC, so tensors keep their shapes; quantization parameters are imported
as they are. One converter per builtin op in `CONVERTERS`; an unknown op is collected so that
every unsupported op of the model is reported at once.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import ModelError, ShapeError, UnsupportedError
from ..ir import Graph, Node, Quant, Tensor

_TENSOR_TYPES = {0: "float32", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16", 9: "int8"}

#: fused activation function -> clamp range
ACTIVATIONS = {0: (-math.inf, math.inf), 1: (0.0, math.inf), 2: (-1.0, 1.0), 3: (0.0, 6.0)}


class OpReader:
    """What a converter sees of one TFLite operator."""

    def __init__(self, model, op, name: str, opname: str, tensor_names: list[str], source: str):
        self._model, self._op = model, op
        self.name, self.opname, self.source = name, opname, source
        self.inputs = tuple(tensor_names[i] if i >= 0 else "" for i in op.InputsAsNumpy())
        self.outputs = tuple(tensor_names[i] for i in op.OutputsAsNumpy())

    def options(self, options_cls):
        table = self._op.BuiltinOptions()
        opts = options_cls()
        if table is None:
            return None
        opts.Init(table.Bytes, table.Pos)
        return opts

    def activation(self, opts) -> tuple[float, float]:
        code = opts.FusedActivationFunction() if opts is not None else 0
        if code not in ACTIVATIONS:
            raise UnsupportedError(f"fused activation {code} is not supported",
                                   model=self.source, node=self.name, op=self.opname)
        return ACTIVATIONS[code]

    def node(self, op: str, attrs=None, inputs=None, outputs=None) -> Node:
        return Node(self.name, op, tuple(self.inputs if inputs is None else inputs),
                    tuple(self.outputs if outputs is None else outputs), attrs)

    def unsupported(self, what: str) -> UnsupportedError:
        return UnsupportedError(what, model=self.source, node=self.name, op=self.opname)


Converter = Callable[[OpReader, dict[str, Tensor]], list[Node]]
CONVERTERS: dict[str, Converter] = {}


def converter(*opnames: str):
    def deco(fn: Converter) -> Converter:
        for name in opnames:
            CONVERTERS[name] = fn
        return fn
    return deco


def _builtin_names() -> dict[int, str]:
    import tflite
    ops = tflite.BuiltinOperator
    return {getattr(ops, k): k for k in dir(ops) if k.isupper()}


def _read_tensor(model, sg, i: int, source: str) -> Tensor:
    t = sg.Tensors(i)
    name = t.Name().decode("utf-8", "replace") or f"tensor_{i}"
    dtype = _TENSOR_TYPES.get(t.Type())
    if dtype is None:
        raise UnsupportedError(f"tensor {name!r} has unsupported type code {t.Type()}", model=source)
    shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
    quant = None
    q = t.Quantization()
    if q is not None and q.ScaleLength() > 0:
        zps = q.ZeroPointAsNumpy() if q.ZeroPointLength() else np.zeros(q.ScaleLength(), np.int64)
        quant = Quant.of(q.ScaleAsNumpy(), zps, int(q.QuantizedDimension()))
    data = None
    buf = model.Buffers(t.Buffer()) if t.Buffer() < model.BuffersLength() else None
    if buf is not None and buf.DataLength() > 0:
        raw = buf.DataAsNumpy().tobytes()
        data = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)
    return Tensor(name, shape, dtype, quant, data)


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        if n in seen:
            seen[n] += 1
            n = f"{n}_{seen[n]}"
        else:
            seen[n] = 0
        out.append(n)
    return out


def load_tflite(path: str | Path, data: bytes | None = None) -> Graph:
    """Import a flatbuffer from `path`, or from `data` (then `path` only names the model)."""
    import tflite
    from . import tflite_ops  # noqa: F401  (registers the converters)

    source = str(path)
    buf = Path(path).read_bytes() if data is None else bytes(data)
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ModelError("not a TFLite flatbuffer (no TFL3 identifier)", model=source)
    try:
        model = tflite.Model.GetRootAsModel(buf, 0)
        if model.SubgraphsLength() < 1:
            raise ModelError("the model has no subgraph", model=source)
        sg = model.Subgraphs(0)
        tensors = [_read_tensor(model, sg, i, source) for i in range(sg.TensorsLength())]
        names = _unique([t.name for t in tensors])
        tensors = [t.with_(name=n) for t, n in zip(tensors, names)]
        pool = {t.name: t for t in tensors}
        builtin = _builtin_names()
        nodes, unsupported = [], []
        for j in range(sg.OperatorsLength()):
            op = sg.Operators(j)
            code_entry = model.OperatorCodes(op.OpcodeIndex())
            code = max(code_entry.BuiltinCode(), code_entry.DeprecatedBuiltinCode())
            opname = builtin.get(code, f"CUSTOM({code_entry.CustomCode()!r})")
            out_names = [names[k] for k in op.OutputsAsNumpy()]
            reader = OpReader(model, op, out_names[0] if out_names else f"op_{j}", opname, names,
                              source)
            conv = CONVERTERS.get(opname)
            if conv is None:
                unsupported.append(f"{opname} (node {reader.name!r})")
                continue
            nodes.extend(conv(reader, pool))
        if unsupported:
            raise UnsupportedError("unsupported ops: " + ", ".join(unsupported), model=source)
        inputs = [names[i] for i in sg.InputsAsNumpy()]
        outputs = [names[i] for i in sg.OutputsAsNumpy()]
    except (UnsupportedError, ModelError):
        raise
    except Exception as exc:  # a corrupt flatbuffer raises anything from struct to IndexError
        raise ModelError(f"corrupt TFLite file ({type(exc).__name__}: {exc})", model=source) from None
    for name in inputs:
        if any(d <= 0 for d in pool[name].shape):
            raise ShapeError(f"input {name!r} has a dynamic shape {pool[name].shape}", model=source)
    graph = Graph.build(Path(path).stem, nodes, pool.values(), inputs, outputs, source)
    return graph.replace()
