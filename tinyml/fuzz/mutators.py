"""Mutations of a model file: each takes the seed and a seeded `random.Random` and returns the
mutant's bytes and a one-line description of what was changed.

- byte flips and truncations, on any file;
- TFLite field corruption: the flatbuffer is parsed with the `tflite` package, its scalar
  fields (shapes, tensor/buffer/opcode indices, option values, quantization) located, and one
  or a few rewritten in place with a hostile value;
- hostile ONNX graphs: the protobuf is parsed with `onnx` and dims, attributes, input names,
  op types, opset versions or names rewritten (names with comment terminators, newlines,
  NUL, invalid UTF-8, 10 kB);
- hostile names in generated TFLite models, rebuilt through their recipe.
"""

from __future__ import annotations

import functools
import inspect
import random
import re
import struct
from typing import Callable

from .seeds import Seed

Mutant = tuple[bytes, str]

HOSTILE_NAMES = ["a*/ int x; /*", "*/ system(\"echo pwned\"); /*", "line\nbreak", "cr\rlf",
                 "nul\x00byte", "back\\\nslash", "#include <stdio.h>", "??=trigraph", "%s%n",
                 "x" * 10_000, "", " ", "é ü 中文", "{{ name }}", "$(rm -rf x)", "../../etc/x",
                 "tm_arena", "main", "a b\tc"]
_INVALID_UTF8 = b"\xff\xfe\xc3("


def byte_flips(seed: Seed, rng: random.Random) -> Mutant:
    data = bytearray(seed.data)
    count = rng.choice([1, 1, 2, 4, 16])
    where = [rng.randrange(len(data)) for _ in range(count)]
    for i in where:
        data[i] ^= 1 << rng.randrange(8) if rng.random() < 0.7 else rng.randrange(1, 256)
    return bytes(data), f"byte flips at {sorted(where)[:8]}"


def truncation(seed: Seed, rng: random.Random) -> Mutant:
    cut = rng.choice([rng.randrange(len(seed.data)), len(seed.data) - rng.randrange(1, 64),
                      rng.randrange(min(64, len(seed.data)))])
    cut = max(cut, 0)
    return seed.data[:cut], f"truncated to {cut} of {len(seed.data)} bytes"


# -- TFLite fields -----------------------------------------------------------------------------

_FORMATS = {"Int8": "b", "Uint8": "B", "Bool": "B", "Int16": "h", "Uint16": "H", "Int32": "i",
            "Uint32": "I", "Int64": "q", "Uint64": "Q", "Float32": "f", "Float64": "d"}
_SLOT = re.compile(r"Offset\((\d+)\)")
_TYPE = re.compile(r"number_types\.(\w+)Flags, (o|a) \+")


@functools.cache
def _accessors(cls) -> tuple[tuple[str, int, str, bool], ...]:
    """(field, vtable slot, struct format, is a vector) of a generated table class's scalars."""
    out = []
    for name, fn in vars(cls).items():
        if not callable(fn) or name.startswith("_") or name.endswith(("AsNumpy", "Length",
                                                                      "IsNone")):
            continue
        try:
            src = inspect.getsource(fn)
        except (OSError, TypeError):
            continue
        slot, kind = _SLOT.search(src), _TYPE.search(src)
        if slot and kind and kind.group(1) in _FORMATS:
            out.append((name, int(slot.group(1)), _FORMATS[kind.group(1)], kind.group(2) == "a"))
    return tuple(out)


def _fields_of(obj, label: str) -> list[tuple[str, int, str]]:
    """(description, absolute position, format) of every scalar present in table `obj`."""
    import flatbuffers
    tab = obj._tab
    out = []
    for name, slot, fmt, is_vector in _accessors(type(obj)):
        o = tab.Offset(slot)
        if not o:
            continue
        if is_vector:
            start, length = tab.Vector(o), tab.VectorLen(o)
            size = struct.calcsize(fmt)
            for j in range(min(length, 64)):
                out.append((f"{label}.{name}[{j}]", start + j * size, fmt))
        else:
            out.append((f"{label}.{name}", tab.Pos + o, fmt))
    del flatbuffers
    return out


@functools.lru_cache(maxsize=64)
def tflite_fields(data: bytes) -> tuple[tuple[str, int, str], ...]:
    """Every rewritable scalar of a TFLite file's first subgraph, its tensors, quantization,
    operators, options and opcodes (weights are left alone: byte flips cover them)."""
    import tflite
    model = tflite.Model.GetRootAsModel(data, 0)
    fields = _fields_of(model, "model")
    for i in range(model.OperatorCodesLength()):
        fields += _fields_of(model.OperatorCodes(i), f"opcode{i}")
    sg = model.Subgraphs(0)
    fields += _fields_of(sg, "subgraph")
    for i in range(sg.TensorsLength()):
        t = sg.Tensors(i)
        fields += _fields_of(t, f"tensor{i}")
        if t.Quantization() is not None:
            fields += _fields_of(t.Quantization(), f"tensor{i}.quant")
    options = {v: k for k, v in vars(tflite.BuiltinOptions).items() if not k.startswith("_")}
    for j in range(sg.OperatorsLength()):
        op = sg.Operators(j)
        fields += _fields_of(op, f"op{j}")
        table, cls = op.BuiltinOptions(), getattr(tflite, options.get(op.BuiltinOptionsType(), ""),
                                                    None)
        if table is not None and cls is not None:
            opts = cls()
            opts.Init(table.Bytes, table.Pos)
            fields += _fields_of(opts, f"op{j}.{cls.__name__}")
    return tuple(fields)


def _hostile_value(fmt: str, old, rng: random.Random):
    if fmt in "fd":
        return rng.choice([0.0, -0.0, float("nan"), float("inf"), float("-inf"), 1e38, -1e38,
                           1e-38, 1e-45, -1.0, old * 2, old * 1e6, rng.uniform(-10, 10)])
    bits = struct.calcsize(fmt) * 8
    lo, hi = (0, 2 ** bits - 1) if fmt.isupper() else (-2 ** (bits - 1), 2 ** (bits - 1) - 1)
    value = rng.choice([0, -1, 1, 2, 3, 4, 5, 7, 9, 17, 127, -128, 255, 1000, 65535, 2 ** 31 - 1,
                        -2 ** 31, old + 1, old - 1, old * 2, old * 1000, -old,
                        rng.randrange(lo, hi + 1)])
    return min(max(value, lo), hi)


_GROUPS = {"Shape": "shape", "Inputs": "index", "Outputs": "index", "Buffer": "index",
           "OpcodeIndex": "index", "Scale": "quant", "ZeroPoint": "quant",
           "QuantizedDimension": "quant"}


@functools.lru_cache(maxsize=64)
def _field_groups(data: bytes) -> dict[str, list[tuple[str, int, str]]]:
    """The fields by what they are (shapes, indices, options, quantization, other), so that a
    model's thousands of per-channel scales do not crowd out its few strides."""
    groups: dict[str, list] = {}
    for field in tflite_fields(data):
        name = field[0].rsplit(".", 1)[-1].split("[")[0]
        group = "options" if "Options." in field[0] else _GROUPS.get(name, "other")
        groups.setdefault(group, []).append(field)
    return groups


def tflite_field(seed: Seed, rng: random.Random) -> Mutant:
    groups = _field_groups(seed.data)
    data = bytearray(seed.data)
    changes = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        label, pos, fmt = rng.choice(groups[rng.choice(sorted(groups))])
        old = struct.unpack_from(fmt, data, pos)[0]
        new = _hostile_value(fmt, old, rng)
        struct.pack_into(fmt, data, pos, new)
        changes.append(f"{label} {old!r} -> {new!r}")
    return bytes(data), "; ".join(changes)


def tflite_hostile_name(seed: Seed, rng: random.Random) -> Mutant:
    """Rebuild a generated TFLite seed with one tensor renamed hostilely."""
    victim = rng.choice(["x", "w", "b", "h", "y", "p", "c"])
    hostile = rng.choice(HOSTILE_NAMES)
    data = seed.recipe(lambda n: hostile if n == victim else n)
    if rng.random() < 0.3:   # invalid UTF-8 needs byte surgery: replace the name's bytes
        marker = ("Q" * 12).encode()
        data = seed.recipe(lambda n: marker.decode() if n == victim else n)
        data = data.replace(marker, _INVALID_UTF8 + marker[len(_INVALID_UTF8):], 1)
        hostile = "<invalid UTF-8>"
    return data, f"tensor {victim!r} named {hostile[:40]!r}"


# -- ONNX graphs -------------------------------------------------------------------------------

def onnx_graph(seed: Seed, rng: random.Random) -> Mutant:
    import onnx
    model = onnx.ModelProto()
    model.ParseFromString(seed.data)
    g = model.graph
    what = rng.choice(["dims", "attribute", "input name", "op type", "opset", "name",
                       "invalid utf-8 name", "drop input", "initializer data", "duplicate node"])
    nodes = list(g.node)
    node = rng.choice(nodes) if nodes else None
    desc = what
    if what == "dims":
        shaped = [*g.initializer, *g.input, *g.output, *g.value_info]
        item = rng.choice(shaped)
        dims = item.dims if hasattr(item, "dims") else [
            d for d in item.type.tensor_type.shape.dim]
        if len(dims):
            k = rng.randrange(len(dims))
            value = rng.choice([0, -1, -45, 1, 3, 1000, 2 ** 31 - 1, 2 ** 40])
            if hasattr(item, "dims"):
                item.dims[k] = value
            else:
                dims[k].dim_value = value
            desc = f"dims: {item.name!r}[{k}] = {value}"
    elif what == "attribute" and node is not None and node.attribute:
        attr = rng.choice(node.attribute)
        value = rng.choice([0, -1, 1, 2, 1000, 2 ** 31 - 1, -2 ** 31])
        if attr.ints:
            attr.ints[rng.randrange(len(attr.ints))] = value
            if rng.random() < 0.3:
                attr.ints.append(value)
        elif attr.type == onnx.AttributeProto.INT:
            attr.i = value
        elif attr.type == onnx.AttributeProto.FLOAT:
            attr.f = rng.choice([0.0, float("nan"), float("inf"), -1e38])
        desc = f"attribute {node.op_type}.{attr.name} = {value}"
    elif what == "input name" and node is not None and node.input:
        k = rng.randrange(len(node.input))
        node.input[k] = rng.choice(["", "nonexistent", node.output[0] if node.output else "x",
                                    rng.choice(HOSTILE_NAMES)])
        desc = f"{node.op_type} input {k} renamed {node.input[k][:40]!r}"
    elif what == "op type" and node is not None:
        node.op_type = rng.choice(["Conv", "Relu", "Gemm", "Softmax", "Transpose", "Concat",
                                   "MaxPool", "Add", "NotAnOp", "QuantizeLinear",
                                   "DequantizeLinear", "Reshape", "Pad", "Clip",
                                   rng.choice(HOSTILE_NAMES)])
        desc = f"node {node.name!r} op type {node.op_type[:40]!r}"
    elif what == "opset":
        version = rng.choice([1, 6, 7, 10, 13, 21, 22, 28, 29, 1000, -1])
        model.opset_import[0].version = version
        desc = f"opset {version}"
    elif what in ("name", "invalid utf-8 name"):
        hostile = rng.choice(HOSTILE_NAMES) if what == "name" else "Q" * 12
        _rename_everywhere(g, rng, hostile)
        data = model.SerializeToString()
        if what == "invalid utf-8 name":
            data = data.replace(b"Q" * 12, _INVALID_UTF8 + b"Q" * 8)
        return data, f"onnx {what} {hostile[:40]!r}"
    elif what == "drop input" and node is not None and node.input:
        del node.input[rng.randrange(len(node.input))]
        desc = f"{node.op_type} lost an input"
    elif what == "initializer data" and g.initializer:
        init = rng.choice(g.initializer)
        if init.raw_data:
            init.raw_data = init.raw_data[:rng.randrange(len(init.raw_data) + 1)]
        else:
            del init.float_data[rng.randrange(len(init.float_data) + 1):]
        desc = f"initializer {init.name!r} data cut"
    elif what == "duplicate node" and node is not None:
        g.node.append(node)
        desc = f"node {node.name!r} duplicated"
    return model.SerializeToString(), desc


def _rename_everywhere(g, rng: random.Random, hostile: str) -> None:
    """A tensor or node renamed, consistently, so the graph stays valid otherwise."""
    tensors = sorted({*(i for n in g.node for i in n.input if i), *(o for n in g.node
                                                                   for o in n.output)})
    if rng.random() < 0.3 or not tensors:
        node = rng.choice(list(g.node))
        node.name = hostile
        return
    old = rng.choice(tensors)
    for n in g.node:
        n.input[:] = [hostile if i == old else i for i in n.input]
        n.output[:] = [hostile if o == old else o for o in n.output]
    for item in [*g.input, *g.output, *g.initializer, *g.value_info]:
        if item.name == old:
            item.name = hostile


Mutator = Callable[[Seed, random.Random], Mutant]


def mutators_for(seed: Seed) -> list[tuple[str, Mutator, int]]:
    """(name, mutator, weight) that apply to `seed`."""
    table: list[tuple[str, Mutator, int]] = [("byte_flips", byte_flips, 3),
                                             ("truncation", truncation, 1)]
    if seed.kind == "tflite":
        table.append(("tflite_field", tflite_field, 8))
        if seed.recipe is not None:
            table.append(("hostile_name", tflite_hostile_name, 1))
    else:
        table.append(("onnx_graph", onnx_graph, 8))
    return table
