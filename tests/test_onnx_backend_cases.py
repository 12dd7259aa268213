"""The ONNX backend node cases of the installed onnx, for the ops tinyml converts.

`onnx.backend.test.case.node.collect_testcases()` builds each case (model, inputs, expected
outputs) from onnx's own generator code. A case is taken when every op of its graph has a
tinyml converter. Inputs that are parameters of their op (weights, biases, shapes, axes,
bounds, scales: what a deployed model holds as initializers, and what tinyml compiles into
flash) become initializers with the case's values; the data inputs stay inputs. Each case
is compiled (`compile_model`, target host), built with the host C compiler and run, and its
outputs compared with the expected ones: float32 within rtol 1e-3 (the cases' own) and atol
1e-5 (sums in another order), int8 within 1 LSB (TFLite's rounding against numpy's).

A case is in scope when its inputs and outputs are float32 (or int8 around quantization
ops) and its parameters of a type tinyml reads: other types (uint16 Add, float16 scales, raw
int8 arithmetic) are not tinyml's numerics. Cases whose semantics are training, not
inference, are out of scope too, as a deployed model runs inference: BatchNormalization with
training_mode=1 (it normalizes by the batch's own statistics) and Dropout in training mode
with a ratio above 0 (it draws a random mask). Of the in-scope cases >= 95% must pass; every
case that does not pass, in scope or not, must be refused with one clean TinymlError line
naming the op.
"""

from __future__ import annotations

import collections
import warnings

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from tinyml.codegen import write_library
from tinyml.compiler import compile_model
from tinyml.errors import TinymlError
from tinyml.frontends.onnx import CONVERTERS
from tinyml.harness.host import run_host

#: op -> indices of its inputs that are parameters (initializers in a deployed model)
PARAMETERS = {
    "Conv": {1, 2}, "ConvTranspose": {1, 2}, "Gemm": {1, 2}, "MatMul": {1},
    "BatchNormalization": {1, 2, 3, 4}, "Clip": {1, 2}, "Pad": {1, 2, 3}, "Reshape": {1},
    "Squeeze": {1}, "Unsqueeze": {1}, "ReduceMean": {1}, "Dropout": {1, 2},
    "QuantizeLinear": {1, 2}, "DequantizeLinear": {1, 2}, "QLinearConv": set(range(1, 9)),
    "QLinearMatMul": set(range(1, 8)),
}
IO_TYPES = {onnx.TensorProto.FLOAT, onnx.TensorProto.INT8}
PARAMETER_TYPES = IO_TYPES | {onnx.TensorProto.UINT8, onnx.TensorProto.INT32,
                              onnx.TensorProto.INT64, onnx.TensorProto.BOOL}
#: int8 is tinyml's quantized int8: integer arithmetic on raw int8 (Add of int8) is not
QUANTIZATION_OPS = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul"}
#: issue 6's figure; 165 of 167 pass. Refused in scope: QLinearMatMul of two 3-D tensors (the
#: IR's int8 matrix product needs a constant right-hand matrix) and Reshape of a tensor with a
#: 0-sized dimension (the IR has no empty tensors: every dimension is >= 1)
PASS_RATE = 0.95


def _cases():
    from onnx.backend.test.case.node import collect_testcases
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the generators divide by zero on purpose
        cases = collect_testcases()
    return [c for c in cases if {n.op_type for n in c.model.graph.node} <= set(CONVERTERS)
            and all(n.domain in ("", "ai.onnx") for n in c.model.graph.node)]


def _op(case) -> str:
    ops = sorted({n.op_type for n in case.model.graph.node})
    return ops[0] if len(ops) == 1 else "+".join(ops)


def _frozen(case):
    """The case's model with its parameter inputs as initializers, and the data inputs."""
    model = onnx.ModelProto()
    model.CopyFrom(case.model)
    graph = model.graph
    values = dict(zip([i.name for i in graph.input], case.data_sets[0][0]))
    params = {n.input[i] for n in graph.node for i in PARAMETERS.get(n.op_type, ())
              if i < len(n.input) and n.input[i]}
    data = [i for i in graph.input if i.name not in params]
    for i in graph.input:
        if i.name in params:
            value = values[i.name]
            if isinstance(value, onnx.TensorProto):
                tensor = onnx.TensorProto()
                tensor.CopyFrom(value)
                tensor.name = i.name
            else:
                tensor = numpy_helper.from_array(np.asarray(value), i.name)
            graph.initializer.append(tensor)
    del graph.input[:]
    graph.input.extend(data)
    return model, [_array(values[i.name]) for i in data]


def _array(value) -> np.ndarray:
    return numpy_helper.to_array(value) if isinstance(value, onnx.TensorProto) else \
        np.asarray(value)


def _in_scope(model) -> bool:
    """float32 (or quantized int8) inputs and outputs, parameters of types tinyml reads."""
    graph = model.graph
    quantized = any(n.op_type in QUANTIZATION_OPS for n in graph.node)
    io_types = IO_TYPES if quantized else {onnx.TensorProto.FLOAT}
    io = [v.type for v in (*graph.input, *graph.output)]
    if any(not t.HasField("tensor_type") or t.tensor_type.elem_type not in io_types for t in io):
        return False
    return all(t.data_type in PARAMETER_TYPES for t in graph.initializer) and \
        not _training_mode(model)


def _training_mode(model) -> bool:
    """BatchNormalization or Dropout computing as in training (out of scope: see above)."""
    constants = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for n in model.graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type == "BatchNormalization" and attrs.get("training_mode", 0):
            return True
        if n.op_type == "Dropout" and len(n.input) > 2 and n.input[2] and \
                bool(constants.get(n.input[2], False)):
            ratio = constants.get(n.input[1], 0.5) if n.input[1] else 0.5
            if ratio != 0:   # ratio 0 keeps every element: no random mask, so inference
                return True
    return False


def _matches(got: np.ndarray, want: np.ndarray) -> bool:
    want = _array(want)
    if got.size != want.size:
        return False
    got = got.reshape(want.shape)
    if want.dtype == np.int8:
        return got.dtype == np.int8 and np.abs(got.astype(np.int16) - want).max(initial=0) <= 1
    return np.allclose(got, want, rtol=1e-3, atol=1e-5, equal_nan=True)


def _run(case, tmp_path) -> tuple[str, str]:
    """(outcome, detail): pass, fail (wrong numbers), refused (a clean error), crash."""
    model, inputs = _frozen(case)
    path = tmp_path / f"{case.name}.onnx"
    onnx.save(model, str(path))
    try:
        compiled = compile_model(path, target="host")
        write_library(compiled.code, tmp_path / case.name)
        got = run_host(tmp_path / case.name, inputs)
    except TinymlError as exc:
        message = str(exc)
        clean = "\n" not in message and "internal error" not in message
        return ("refused" if clean else "crash"), message
    except Exception as exc:   # noqa: BLE001  (what the test is about: none may escape)
        return "crash", f"{type(exc).__name__}: {exc}"
    want = case.data_sets[0][1]
    if len(got) == len(want) and all(_matches(g, w) for g, w in zip(got, want)):
        return "pass", ""
    return "fail", "outputs differ"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("backend")
    results = []
    for case in _cases():
        model, _ = _frozen(case)
        outcome, detail = _run(case, tmp)
        results.append((case.name, _op(case), _in_scope(model), outcome, detail))
    _print_table(results)
    return results


def _print_table(results) -> None:
    per_op = collections.defaultdict(collections.Counter)
    for _, op, in_scope, outcome, _ in results:
        per_op[op][f"{outcome}{'' if in_scope else ' (out of scope)'}"] += 1
    print("\nONNX backend node cases per op:")
    for op, counts in sorted(per_op.items()):
        print(f"  {op:24s} " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for name, _, in_scope, outcome, detail in results:
        if outcome != "pass":
            print(f"  {name}: {outcome}{'' if in_scope else ' (out of scope)'}: {detail[:160]}")


def test_cases_were_generated(outcomes):
    assert len(outcomes) > 200
    assert {op for _, op, _, _, _ in outcomes} >= {"Conv", "Gemm", "MaxPool", "AveragePool",
                                                   "Softmax", "Transpose", "QuantizeLinear"}


def test_pass_rate_of_in_scope_cases(outcomes, record_property):
    in_scope = [o for o in outcomes if o[2]]
    passed = [o for o in in_scope if o[3] == "pass"]
    rate = len(passed) / len(in_scope)
    record_property("backend_cases", {"in_scope": len(in_scope), "passed": len(passed),
                                      "all": len(outcomes),
                                      "passed_all": sum(o[3] == "pass" for o in outcomes)})
    print(f"\n{len(passed)}/{len(in_scope)} in-scope cases pass ({rate:.1%}); "
          f"{sum(o[3] == 'pass' for o in outcomes)}/{len(outcomes)} of all")
    assert rate >= PASS_RATE, [o[0] for o in in_scope if o[3] != "pass"]


def test_no_wrong_answers_and_no_crashes(outcomes):
    """Whatever does not pass is refused: no wrong numbers, no escaping exception."""
    bad = [(name, outcome, detail) for name, _, _, outcome, detail in outcomes
           if outcome in ("fail", "crash")]
    assert not bad


def test_training_mode_cases_are_refused_by_name(outcomes):
    """Out of scope, but never computed as inference: each is refused naming its training mode."""
    training = [o for o in outcomes if o[0].startswith(("test_training_dropout",
                                                        "test_batchnorm_")) and
                o[0].endswith(("training_mode", "dropout", "dropout_default"))]
    assert len(training) == 4, [o[0] for o in training]
    for name, op, in_scope, outcome, detail in training:
        assert not in_scope and outcome == "refused" and "training-mode" in detail, \
            (name, outcome, detail)


def test_refusals_name_the_op(outcomes):
    """A refusal names the op, or the input or tensor (and its type) that is not tinyml's."""
    for name, op, _, outcome, detail in outcomes:
        if outcome == "refused":
            named = any(f"{o} (node" in detail or f"op '{o}'" in detail for o in op.split("+"))
            assert named or any(f"{what} '" in detail for what in ("input", "output", "tensor")), \
                (name, detail)
