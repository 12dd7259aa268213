"""Writes small TFLite flatbuffers (one op or a few): the fuzzer's generated seed models, and
the tests' models for TFLite Micro.

    b = TFLiteBuilder()
    x = b.tensor("x", (1, 8), "int8", scale=0.1, zero_point=3)
    w = b.tensor("w", (4, 8), "int8", data=weights, scale=[...], axis=0)
    y = b.tensor("y", (1, 4), "int8", scale=0.2, zero_point=-1)
    b.op("FULLY_CONNECTED", [x, w, -1], [y], "FullyConnectedOptions", FusedActivationFunction=1)
    model_bytes = b.build([x], [y])

Options are given by their schema field names (`Padding`, `StrideW`, ...). Hostile models
for the importer's tests: a tensor named None has no name field, `buffer=` and
`opcode_index=` write any index, `op("CUSTOM", ..., custom_code=b"...")` a custom op.
"""

from __future__ import annotations

import flatbuffers
import numpy as np
import tflite

_TYPES = {"float32": 0, "int32": 2, "uint8": 3, "int64": 4, "bool": 6, "int16": 7, "int8": 9}


class TFLiteBuilder:
    def __init__(self):
        self._tensors = []   # (name, shape, dtype, buffer index, quant)
        self._buffers = [b""]
        self._ops = []       # (opcode index, inputs, outputs, options)
        self._opcodes: list[tuple[int, bytes | None]] = []   # (builtin code, custom code)

    def tensor(self, name, shape, dtype, data=None, scale=None, zero_point=None, axis=0,
               buffer=None) -> int:
        buf = 0
        if data is not None:
            arr = np.ascontiguousarray(np.asarray(data, dtype=dtype).reshape(shape))
            self._buffers.append(arr.astype(arr.dtype.newbyteorder("<")).tobytes())
            buf = len(self._buffers) - 1
        quant = None
        if scale is not None:
            scale = np.atleast_1d(np.asarray(scale, dtype=np.float32))
            zp = np.atleast_1d(np.asarray(0 if zero_point is None else zero_point, dtype=np.int64))
            if zp.size == 1 and scale.size > 1:
                zp = np.repeat(zp, scale.size)
            quant = (scale, zp, axis)
        self._tensors.append((name, tuple(shape), dtype, buf if buffer is None else buffer, quant))
        return len(self._tensors) - 1

    def op(self, opname: str, inputs, outputs, options: str | None = None,
           custom_code: bytes | None = None, opcode_index: int | None = None, **fields) -> None:
        key = (getattr(tflite.BuiltinOperator, opname), custom_code)
        if key not in self._opcodes:
            self._opcodes.append(key)
        index = self._opcodes.index(key) if opcode_index is None else opcode_index
        self._ops.append((index, list(inputs), list(outputs), options, fields))

    # -- serialization -------------------------------------------------------------------
    @staticmethod
    def _vector(b, start_fn, items, prepend):
        start_fn(b, len(items))
        for item in reversed(items):
            prepend(item)
        return b.EndVector()

    def _options(self, b, name: str, fields: dict) -> int:
        offsets = {}
        for key, value in fields.items():
            if isinstance(value, (list, tuple)):
                start = getattr(tflite, f"{name}Start{key}Vector")
                offsets[key] = self._vector(b, start, list(value), b.PrependInt32)
        getattr(tflite, f"{name}Start")(b)
        for key, value in fields.items():
            getattr(tflite, f"{name}Add{key}")(b, offsets.get(key, value))
        return getattr(tflite, f"{name}End")(b)

    def build(self, inputs, outputs) -> bytes:
        b = flatbuffers.Builder(1024)
        buffer_offsets = []
        for data in self._buffers:
            if data:
                b.StartVector(1, len(data), 16)
                b.head = b.head - len(data)
                b.Bytes[b.head:b.head + len(data)] = data
                vec = b.EndVector()
                tflite.BufferStart(b)
                tflite.BufferAddData(b, vec)
            else:
                tflite.BufferStart(b)
            buffer_offsets.append(tflite.BufferEnd(b))

        tensor_offsets = []
        for name, shape, dtype, buf, quant in self._tensors:
            name_off = None if name is None else b.CreateString(name)
            shape_off = self._vector(b, tflite.TensorStartShapeVector, list(shape), b.PrependInt32)
            q_off = None
            if quant is not None:
                scale, zp, axis = quant
                s_off = self._vector(b, tflite.QuantizationParametersStartScaleVector,
                                     [float(s) for s in scale], b.PrependFloat32)
                z_off = self._vector(b, tflite.QuantizationParametersStartZeroPointVector,
                                     [int(z) for z in zp], b.PrependInt64)
                tflite.QuantizationParametersStart(b)
                tflite.QuantizationParametersAddScale(b, s_off)
                tflite.QuantizationParametersAddZeroPoint(b, z_off)
                tflite.QuantizationParametersAddQuantizedDimension(b, axis)
                q_off = tflite.QuantizationParametersEnd(b)
            tflite.TensorStart(b)
            tflite.TensorAddShape(b, shape_off)
            tflite.TensorAddType(b, _TYPES[dtype])
            tflite.TensorAddBuffer(b, buf)
            if name_off is not None:
                tflite.TensorAddName(b, name_off)
            if q_off is not None:
                tflite.TensorAddQuantization(b, q_off)
            tensor_offsets.append(tflite.TensorEnd(b))

        op_offsets = []
        for opcode, ins, outs, options, fields in self._ops:
            opt_off = self._options(b, options, fields) if options else None
            in_off = self._vector(b, tflite.OperatorStartInputsVector, ins, b.PrependInt32)
            out_off = self._vector(b, tflite.OperatorStartOutputsVector, outs, b.PrependInt32)
            tflite.OperatorStart(b)
            tflite.OperatorAddOpcodeIndex(b, opcode)
            tflite.OperatorAddInputs(b, in_off)
            tflite.OperatorAddOutputs(b, out_off)
            if opt_off is not None:
                tflite.OperatorAddBuiltinOptionsType(b, getattr(tflite.BuiltinOptions, options))
                tflite.OperatorAddBuiltinOptions(b, opt_off)
            op_offsets.append(tflite.OperatorEnd(b))

        t_vec = self._vector(b, tflite.SubGraphStartTensorsVector, tensor_offsets, b.PrependUOffsetTRelative)
        i_vec = self._vector(b, tflite.SubGraphStartInputsVector, list(inputs), b.PrependInt32)
        o_vec = self._vector(b, tflite.SubGraphStartOutputsVector, list(outputs), b.PrependInt32)
        op_vec = self._vector(b, tflite.SubGraphStartOperatorsVector, op_offsets, b.PrependUOffsetTRelative)
        tflite.SubGraphStart(b)
        tflite.SubGraphAddTensors(b, t_vec)
        tflite.SubGraphAddInputs(b, i_vec)
        tflite.SubGraphAddOutputs(b, o_vec)
        tflite.SubGraphAddOperators(b, op_vec)
        sg = tflite.SubGraphEnd(b)

        code_offsets = []
        for code, custom in self._opcodes:
            custom_off = None if custom is None else b.CreateString(custom)
            tflite.OperatorCodeStart(b)
            tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
            tflite.OperatorCodeAddBuiltinCode(b, code)
            tflite.OperatorCodeAddVersion(b, 1)
            if custom_off is not None:
                tflite.OperatorCodeAddCustomCode(b, custom_off)
            code_offsets.append(tflite.OperatorCodeEnd(b))
        codes_vec = self._vector(b, tflite.ModelStartOperatorCodesVector, code_offsets, b.PrependUOffsetTRelative)
        sg_vec = self._vector(b, tflite.ModelStartSubgraphsVector, [sg], b.PrependUOffsetTRelative)
        buf_vec = self._vector(b, tflite.ModelStartBuffersVector, buffer_offsets, b.PrependUOffsetTRelative)
        desc = b.CreateString("tinyml test")
        tflite.ModelStart(b)
        tflite.ModelAddVersion(b, 3)
        tflite.ModelAddOperatorCodes(b, codes_vec)
        tflite.ModelAddSubgraphs(b, sg_vec)
        tflite.ModelAddBuffers(b, buf_vec)
        tflite.ModelAddDescription(b, desc)
        b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
        return bytes(b.Output())
