"""Div: x1 / x2 with numpy broadcasting and a fused clamp (TFLite DIV, ONNX Div), float32 only.

Division by zero is IEEE's (+-inf, or NaN for 0 / 0), not an error; the fused clamp then
treats the result as any other value (TFLite's bounds: an unbounded side is +-FLT_MAX).
"""

from __future__ import annotations

import numpy as np

from .base import register
from .binary import BinaryOp


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(a, b)


@register
class Div(BinaryOp):
    name = "Div"
    kernel_op = "div"
    dtypes = ("float32",)
    float_fn = staticmethod(_divide)
