"""Cuts operators out of a real .tflite into a small model (real weights, real options).

    for index in operator_indices(path, "CONV_2D"):
        single_op_bytes = cut_operator(path, index)
    first_nine_ops = cut_operators(path, range(9))

Only scalar option fields are copied, which covers conv, pooling and activation options.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import tflite

from tflite_builder import TFLiteBuilder

_DTYPES = {0: "float32", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16", 9: "int8"}


def _model(path):
    model = tflite.Model.GetRootAsModel(Path(path).read_bytes(), 0)
    return model, model.Subgraphs(0)


def _opname(model, op) -> str:
    code = model.OperatorCodes(op.OpcodeIndex())
    number = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    return next(k for k in dir(tflite.BuiltinOperator)
                if k.isupper() and getattr(tflite.BuiltinOperator, k) == number)


def operator_indices(path, opname: str) -> list[int]:
    model, sg = _model(path)
    return [j for j in range(sg.OperatorsLength()) if _opname(model, sg.Operators(j)) == opname]


def _copy_tensor(b: TFLiteBuilder, model, sg, i: int) -> int:
    t = sg.Tensors(i)
    dtype = _DTYPES[t.Type()]
    shape = tuple(int(d) for d in t.ShapeAsNumpy())
    data = None
    buf = model.Buffers(t.Buffer())
    if buf is not None and buf.DataLength() > 0:
        data = np.frombuffer(buf.DataAsNumpy().tobytes(), np.dtype(dtype).newbyteorder("<"))
    q = t.Quantization()
    scale = zero_point = None
    axis = 0
    if q is not None and q.ScaleLength() > 0:
        scale, zero_point, axis = q.ScaleAsNumpy(), q.ZeroPointAsNumpy(), q.QuantizedDimension()
    return b.tensor(t.Name().decode(), shape, dtype, data=data, scale=scale,
                    zero_point=zero_point, axis=axis)


def _scalar_options(op) -> tuple[str | None, dict]:
    kind = op.BuiltinOptionsType()
    name = next((k for k in dir(tflite.BuiltinOptions)
                 if getattr(tflite.BuiltinOptions, k) == kind and kind != 0), None)
    if name is None:
        return None, {}
    opts = getattr(tflite, name)()
    table = op.BuiltinOptions()
    opts.Init(table.Bytes, table.Pos)
    fields = {}
    for key, method in inspect.getmembers(opts, inspect.ismethod):
        if (key[0].isupper() and key not in ("Init",) and not key.startswith("GetRootAs")
                and not key.endswith(("AsNumpy", "Length", "IsNone"))
                and not inspect.signature(method).parameters):
            fields[key] = method()
    return name, fields


def cut_operators(path, indices) -> bytes:
    """The operators `indices` (in order) as one model: real weights, real options.

    Its inputs are the variable tensors they read but do not compute; its outputs are the
    tensors they compute that no operator of the cut reads.
    """
    model, sg = _model(path)
    b = TFLiteBuilder()
    copied: dict[int, int] = {}
    produced, read = [], set()

    def tensor(i: int) -> int:
        if i not in copied:
            copied[i] = _copy_tensor(b, model, sg, i)
        return copied[i]

    variable_inputs = []
    for index in indices:
        op = sg.Operators(index)
        for i in op.InputsAsNumpy():
            is_const = i >= 0 and model.Buffers(sg.Tensors(i).Buffer()).DataLength() > 0
            if i >= 0 and not is_const and i not in produced and i not in variable_inputs:
                variable_inputs.append(i)
            read.add(int(i))
        inputs = [tensor(i) if i >= 0 else -1 for i in op.InputsAsNumpy()]
        outputs = [tensor(i) for i in op.OutputsAsNumpy()]
        produced.extend(int(i) for i in op.OutputsAsNumpy())
        options, fields = _scalar_options(op)
        b.op(_opname(model, op), inputs, outputs, options, **fields)
    return b.build([copied[i] for i in variable_inputs],
                   [copied[i] for i in produced if i not in read])


def cut_operator(path, index: int) -> bytes:
    return cut_operators(path, [index])
