"""Kernel params are defined once: the fields a variant's lowering fills are exactly the
fields of its C params struct in codegen/kernels/tm_nn.h (nested structs and array elements
included), so a field the lowering forgets cannot silently be 0 and a misspelt one cannot
slip through. Checked on one-node graphs of every op and dtype, lowered for every core."""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np
import pytest

from activation_cases import one_node_graph
from binary_op_cases import binary_graph
from pool_cases import pool_graph
from test_op_concatenation import CASES as CONCAT_CASES, concat_graph
from test_op_conv2d import CASES as CONV_CASES, conv_graph
from test_op_depthwise_conv2d import CASES as DEPTHWISE_CASES, depthwise_graph
from test_op_fully_connected import fc_graph
from ternary_nets import ternary_graph
from test_op_quantize import CASES as QUANTIZE_CASES, quantize_graph
from tinyml.ir import Graph, Node, Quant, Tensor
from tinyml.kernels import VARIANTS, select
from tinyml.ops.clamp import ClipAttrs
from tinyml.ops.leaky_relu import LeakyReluAttrs
from tinyml.ops.mean import MeanAttrs
from tinyml.ops.pad import PadAttrs
from tinyml.ops.softmax import SoftmaxAttrs
from tinyml.ops.transpose import TransposeAttrs
from tinyml.resources import data_dir

NO_ACT = (-math.inf, math.inf)
SCALAR_TYPES = {"int8_t", "uint8_t", "int16_t", "int32_t", "uint32_t", "float"}


def c_structs(header: str) -> dict[str, list[str]]:
    """typedef'd structs -> their fields flattened: `outer.inner`, `array[i]`."""
    text = re.sub(r"/\*.*?\*/", "", header, flags=re.S)
    macros = {m: int(v) for m, v in re.findall(r"#define\s+(\w+)\s+(\d+)\s*$", text, re.M)}
    structs: dict[str, list[str]] = {}
    for body, name in re.findall(r"typedef\s+struct\s*\{(.*?)\}\s*(\w+)\s*;", text, re.S):
        fields = []
        for decl in filter(None, (d.strip() for d in body.split(";"))):
            ctype, declarators = decl.split(None, 1)
            for item in (d.strip() for d in declarators.split(",")):
                m = re.fullmatch(r"(\w+)(?:\[(\w+)\])?", item)
                assert m, f"{name}: cannot read {item!r}"
                field, size = m.groups()
                names = ([f"{field}[{i}]" for i in range(int(macros.get(size, size)))]
                         if size else [field])
                if ctype in SCALAR_TYPES:
                    fields += names
                else:
                    fields += [f"{n}.{inner}" for n in names for inner in structs[ctype]]
        structs[name] = fields
    return structs


STRUCTS = c_structs((data_dir("codegen") / "kernels" / "tm_nn.h").read_text())
PARAMS_STRUCTS = {name for name in STRUCTS if name.endswith("_params")}


def test_header_reader():
    assert STRUCTS["tm_conv2d_s8_params"][:2] == ["geometry.batches", "geometry.in_h"]
    assert "loops.dims[3]" in STRUCTS["tm_add_s8_params"]
    assert STRUCTS["tm_transpose_params"][-1] == "strides[5]"
    assert STRUCTS["tm_pad_s8_params"] == [*(f"shape.{a}[{i}]" for a in ("in_dims", "out_dims",
                                                                           "before")
                                             for i in range(4)), "value"]


def _q(scale, zero_point):
    return Quant.of(scale, zero_point)


def _graphs() -> list[Graph]:
    rng = np.random.default_rng(7)
    graphs = []
    # the DSP depthwise variants: a 3x3 layer and a 5x5 one (tinyml/kernels/depthwise_*_dsp_s8.py)
    graphs += [depthwise_graph(rng, (1, 6, 6, 5, 1, kernel, (1, 1), (1, 1), "same", NO_ACT), "int8")
               for kernel in ((3, 3), (5, 5))]
    for dtype in ("int8", "float32"):
        graphs += [conv_graph(rng, case, dtype) for case in CONV_CASES]
        graphs += [depthwise_graph(rng, case, dtype) for case in DEPTHWISE_CASES]
        graphs += [fc_graph(rng, 2, 9, 5, dtype, NO_ACT)]
        graphs += [pool_graph(op, rng, 1, dtype) for op in ("AveragePool2D", "MaxPool2D")]
        graphs += [concat_graph(rng, i, dtype, shared) for i in range(len(CONCAT_CASES))
                   for shared in (False, True)]
        graphs += [binary_graph(op, rng, (1, 3, 4, 5), (5,), False, dtype, NO_ACT)
                   for op in ("Add", "Sub", "Mul") + (("Div",) if dtype == "float32" else ())]
        quant = ((0.05, 3), (0.04, -2)) if dtype == "int8" else (None, None)
        for op, attrs, out in (("Relu", None, None), ("Relu6", None, None),
                               ("Clip", ClipAttrs(-1.0, 2.0), None),
                               ("LeakyRelu", LeakyReluAttrs(0.2), None),
                               ("HardSwish", None, None), ("Logistic", None, (1 / 256, -128)),
                               ("Tanh", None, (1 / 128, 0)), ("Softmax", SoftmaxAttrs(), (1 / 256, -128)),
                               ("Reshape", None, quant[0])):
            graphs.append(one_node_graph(op, (1, 4, 6), dtype, attrs, quant[0], out or quant[1]))
        q = _q(0.05, -3) if dtype == "int8" else None
        for op, attrs, y_shape in (("Mean", MeanAttrs((1, 2), True), (2, 1, 1, 3)),
                                   ("Pad", PadAttrs(((0, 0), (1, 0), (2, 1), (0, 0)), 0.0), (2, 5, 8, 3)),
                                   ("Transpose", TransposeAttrs((0, 3, 1, 2)), (2, 3, 4, 5))):
            x, y = Tensor("x", (2, 4, 5, 3), dtype, q), Tensor("y", y_shape, dtype, q)
            graphs.append(Graph.build(op, [Node("n", op, ("x",), ("y",), attrs)], [x, y],
                                      ["x"], ["y"]))
    graphs += [quantize_graph(case) for case in range(len(QUANTIZE_CASES))]
    x, y = Tensor("x", (1, 7), "int8", _q(0.1, 4)), Tensor("y", (1, 7), "float32")
    graphs.append(Graph.build("dq", [Node("dq", "Dequantize", ("x",), ("y",))], [x, y],
                              ["x"], ["y"]))
    # float32 FPU variants (tinyml/kernels/*_f32.py), chosen on the cores with an FPU
    graphs += [conv_graph(rng, (1, 6, 9, 5, 7, (3, 3), (2, 2), (1, 1), "same", 1, NO_ACT), "float32"),
               conv_graph(rng, (1, 4, 5, 6, 9, (1, 1), (1, 1), (1, 1), "valid", 1, NO_ACT), "float32"),
               depthwise_graph(rng, (1, 6, 9, 5, 1, (3, 3), (1, 1), (1, 1), "same", NO_ACT), "float32"),
               fc_graph(rng, 5, 9, 6, "float32", NO_ACT)]
    # int8 Add/Sub of same-shape inputs (tinyml/kernels/add_lut_s8.py)
    graphs += [binary_graph(op, rng, (1, 3, 4, 5), (1, 3, 4, 5), False, "int8", NO_ACT)
               for op in ("Add", "Sub")]
    # biases near 2^31 leave no room for the portable fast variants' sums (*_fast_s8.py), so
    # the pointwise kernel and the portable fully connected one still run somewhere
    for g, channels in ((conv_graph(rng, (1, 4, 5, 6, 9, (1, 1), (1, 1), (1, 1), "valid", 1,
                                          NO_ACT), "int8"), 9),
                        (fc_graph(rng, 2, 9, 5, "int8", NO_ACT), 5)):
        b = Tensor("b", (channels,), "int32", None, np.full(channels, 2**31 - 2**20, np.int32))
        graphs.append(g.replace(tensors=[b]))
    # ternary weights (tinyml/kernels/ternary.py, *_s8t2.py): every conv case, depthwise case
    # and a fully connected layer with outputs enough for the table kernel
    int8 = [conv_graph(rng, case, "int8") for case in CONV_CASES]
    int8 += [depthwise_graph(rng, case, "int8") for case in DEPTHWISE_CASES]
    int8 += [fc_graph(rng, 2, 9, 5, "int8", NO_ACT), fc_graph(rng, 1, 40, 24, "int8", NO_ACT)]
    graphs += [ternary_graph(g, rng) for g in int8]
    return graphs


@pytest.fixture(scope="module")
def lowered():
    """(graph name, core, choice) for every node of every sample graph on every core: the
    variant chosen and every other that applies (the memory planner may take a lighter one)."""
    from tinyml.kernels.registry import Choice, runs, variants_for
    from tinyml.ops.base import io_dtype
    from tinyml.targets.cores import CORES
    out = []
    for g in _graphs():
        for core in CORES.values():
            out += [(g.name, core.name, choice) for choice in select(g, core).values()]
            out += [(g.name, core.name, Choice(v, v.lower(n, g))) for n in g.nodes if runs(n, g)
                    for v in variants_for(n.op, io_dtype(n, g)) if v.applies(n, g, core)]
    return out


def test_params_fields_equal_the_c_struct(lowered):
    for graph, core, choice in lowered:
        call = choice.call
        if call.params_type is None:
            continue
        assert call.params_type in STRUCTS, (choice.variant.name, call.params_type)
        names = [name for name, _ in call.params]
        dupes = [n for n, k in Counter(names).items() if k > 1]
        assert not dupes, (choice.variant.name, dupes)
        want = STRUCTS[call.params_type]
        assert sorted(names) == sorted(want), (
            f"{choice.variant.name} on {core} ({graph}): missing "
            f"{sorted(set(want) - set(names))}, unknown {sorted(set(names) - set(want))}")


def test_every_params_struct_and_variant_is_checked(lowered):
    filled = {choice.call.params_type for _, _, choice in lowered}
    assert PARAMS_STRUCTS <= filled, sorted(PARAMS_STRUCTS - filled)
    used = {choice.variant.name for _, _, choice in lowered}
    assert used == {v.name for v in VARIANTS}, sorted({v.name for v in VARIANTS} - used)


def test_a_forgotten_field_is_caught():
    want = STRUCTS["tm_conv2d_s8_params"]
    assert sorted(want[:-1]) != sorted(want)
