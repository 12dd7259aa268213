"""Add and Sub int8 where both inputs have the output's shape: each input's rescaling
(offset, shift left by 20, its own multiplier) depends on one int8 value, so it is tabulated
at compile time, 256 int32 per input; the kernel does two table loads and the output stage
per element (codegen/kernels/tm_add_lut.h). A Sub is the same kernel with the second table
negated.

Exact by exhaustion: the condition runs the kernel's formula over all 65,536 input pairs in
int64, requires every intermediate inside int32 and every output equal to the op's own
reference (TFLite's arithmetic), so no bound needs deriving and none can be wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..ops import REGISTRY, get_op
from ..ops.add import AddInt8Params, rescaled_inputs
from ..ops.base import Arg, ConstArray, KernelCall, tensor_args
from ..targets.cores import DSP
from .registry import variant

INT32_MIN, INT32_MAX = -2**31, 2**31 - 1
#: the int8 value of each table index (the input's byte read as unsigned)
BYTE_VALUES = np.arange(256, dtype=np.int64) - np.where(np.arange(256) >= 128, 256, 0)
PARAMS_TYPE = "tm_add_lut_s8_params"


@dataclass(frozen=True)
class AddTables:
    table1: np.ndarray
    table2: np.ndarray
    output_multiplier: int
    output_round: int
    output_right_shift: int


def _inside_int32(*arrays: np.ndarray) -> bool:
    return all(a.min() >= INT32_MIN and a.max() <= INT32_MAX for a in arrays)


def kernel_outputs(t: AddTables, p: AddInt8Params) -> np.ndarray | None:
    """The kernel's output for every (input1 byte, input2 byte), None where an intermediate
    would leave int32: tm_add_lut.h's formula, operation for operation."""
    s = t.table1[:, None] + t.table2[None, :]
    high = (s * t.output_multiplier + (1 << 31)) >> 32
    rounded = t.output_round + high
    if not _inside_int32(t.table1, t.table2, s, rounded):
        return None
    out = (rounded + np.where(s < 0, -1, 0)) >> t.output_right_shift
    return np.clip(out, p.act_min, p.act_max)


@lru_cache(maxsize=256)
def tables(p: AddInt8Params, op: str) -> AddTables | None:
    """The tables and output constants of an Add or Sub, or None where the kernel would not
    equal the reference on every input pair."""
    right = max(-p.output_shift, 0)
    if right < 1:
        return None            # the rounding step of tm_add_lut.h needs a right shift
    a, b = rescaled_inputs(p, BYTE_VALUES, BYTE_VALUES)
    if op == "Sub":
        b = -b
    scale = 1 << (1 + max(p.output_shift, 0))   # doubled: SMMLAR's 2^32 is the 2^31 of TFLite
    t = AddTables(a * scale, b * scale, p.output_multiplier,
                  (1 << (right - 1)) + p.output_offset * (1 << right), right)
    got = kernel_outputs(t, p)
    want = REGISTRY[op].evaluate_int8(p, BYTE_VALUES[:, None], BYTE_VALUES[None, :])
    if got is None or not np.array_equal(got, want):
        return None
    return t


def _prepared(node, graph) -> AddInt8Params:
    return get_op(node, graph).prepare_int8(node, graph)


def _applies(node, graph) -> bool:
    a, b, y = (graph.tensor(n) for n in (*node.inputs[:2], node.outputs[0]))
    if not (a.shape == b.shape == y.shape and b.dtype == "int8"):
        return False
    return tables(_prepared(node, graph), node.op) is not None


def _call(kernel: str, node, graph) -> KernelCall:
    p = _prepared(node, graph)
    t = tables(p, node.op)
    params = (("size", graph.tensor(node.outputs[0]).size),
              ("output_multiplier", t.output_multiplier), ("output_round", t.output_round),
              ("output_right_shift", t.output_right_shift),
              ("act_min", p.act_min), ("act_max", p.act_max))
    # element i of the output from element i of each input, read first: may overwrite one
    return KernelCall(kernel=kernel, sources=(kernel + ".c",), in_place=(0, 1), flat=True,
                      args=(Arg("params"), *tensor_args(*node.inputs[:2]),
                            Arg("const", "table1"), Arg("const", "table2"),
                            *tensor_args(node.outputs[0])),
                      params_type=PARAMS_TYPE, params=params,
                      consts=(ConstArray("table1", "int32_t", t.table1.astype(np.int32)),
                              ConstArray("table2", "int32_t", t.table2.astype(np.int32))))


SAME_SHAPE = "same shapes: inputs rescaled by table, exact on all input pairs"
SAME_SHAPE_SUB = SAME_SHAPE + " (second table negated)"


@variant(op="Add", act="int8", condition=_applies, reason=SAME_SHAPE, priority=10)
def tm_add_lut_s8(node, graph):
    return _call("tm_add_lut_s8", node, graph)


@variant(op="Add", act="int8", features=(DSP,), condition=_applies,
         reason=SAME_SHAPE + ", 4 per word", priority=20)
def tm_add_lut_dsp_s8(node, graph):
    return _call("tm_add_lut_dsp_s8", node, graph)


# Sub runs the Add kernels: its second table holds the negated rescaled input.
@variant(op="Sub", act="int8", condition=_applies, reason=SAME_SHAPE_SUB, priority=10)
def tm_sub_lut_s8(node, graph):
    return _call("tm_add_lut_s8", node, graph)


@variant(op="Sub", act="int8", features=(DSP,), condition=_applies,
         reason=SAME_SHAPE_SUB + ", 4 per word", priority=20)
def tm_sub_lut_dsp_s8(node, graph):
    return _call("tm_add_lut_dsp_s8", node, graph)
