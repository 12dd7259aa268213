"""docs/ops.md from the registries: every IR op, the frontend ops that become it (the
converters' `makes` declarations, held true at every conversion), the dtypes it computes on
and its kernel variants (tinyml/kernels).

    python -m tinyml.opsdoc > docs/ops.md
"""

from __future__ import annotations

from .frontends import onnx_ops, onnx_quant_ops  # noqa: F401  (their converters register)
from .frontends.onnx_qoperator import EXPANSIONS
from .frontends.onnx_reader import CONVERTERS as ONNX
from .frontends.tflite_ops import MAKES as TFLITE
from .kernels import VARIANTS
from .ops import REGISTRY


def _variant(v) -> str:
    weights = v.weight_dtype not in (None, v.act_dtype)
    dtypes = v.act_dtype + (f"/{v.weight_dtype} weights" if weights else "")
    where = ", ".join(sorted(v.features)) or "any core"
    name = "portable" if v.is_portable else f"`{v.name}`"
    return f"{name} ({dtypes}; {where})"


def render() -> str:
    onnx_by_op: dict[str, list[str]] = {}
    for name, conv in ONNX.items():
        for op in conv.makes:
            onnx_by_op.setdefault(op, []).append(name)
    for name, (inner, *_) in EXPANSIONS.items():   # expanded to DequantizeLinear, op, QuantizeLinear
        for op in ONNX[inner].makes:
            onnx_by_op.setdefault(op, []).append(f"{name} (com.microsoft)")
    tflite_by_op: dict[str, list[str]] = {}
    for name, ops in TFLITE.items():
        for op in ops:
            tflite_by_op.setdefault(op, []).append(name)
    lines = [
        "# Operators",
        "",
        "Generated from the registries by `python -m tinyml.opsdoc` (tests/test_opsdoc.py keeps",
        "it current). Each IR op: the TFLite builtin ops and ONNX ops that become it (Keras models",
        "come through TensorFlow's TFLite converter, so a Keras layer works when the TFLite ops",
        "it converts to do), the dtypes it computes on, and its kernel variants: the portable one",
        "runs on any core, the others where the core has the features named (docs/kernels.md);",
        "the compiler picks the most specific variant that applies to each layer. Converters may",
        "also add layout ops (Reshape, Transpose, Pad, Quantize, Dequantize) around the op they",
        "convert.",
        "",
        "| IR op | TFLite | ONNX | Keras | dtypes | kernel variants |",
        "|---|---|---|---|---|---|",
    ]
    for op in sorted(REGISTRY):
        cls = REGISTRY[op]
        dtypes = ", ".join(cls.dtypes) + (", ternary weights" if cls.ternary_weights else "")
        variants = "<br>".join(_variant(v) for v in VARIANTS if v.op == op)
        tfl = ", ".join(sorted(tflite_by_op.get(op, []))) or "-"
        onx = ", ".join(sorted(onnx_by_op.get(op, []))) or "-"
        keras = "yes" if op in tflite_by_op else "-"
        lines.append(f"| {op} | {tfl} | {onx} | {keras} | {dtypes} | {variants} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
