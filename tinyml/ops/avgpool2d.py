"""AveragePool2D (TFLite AVERAGE_POOL_2D, ONNX AveragePool with count_include_pad=0).

The average counts only the window cells inside the image. int8 is TFLM's: the sum of the
raw values divided by the count, rounded half away from zero, then clamped; input and
output share their quantization.
"""

from __future__ import annotations

import numpy as np

from .base import register
from .pool2d import Pool2D


@register
class AveragePool2D(Pool2D):
    name = "AveragePool2D"
    kernel_stem = "tm_avgpool2d_generic"

    def reduce_float(self, cells, inside):
        total = cells.sum(axis=(3, 4), dtype=np.float32)
        return total / inside.sum(axis=(3, 4)).astype(np.float32)

    def reduce_int8(self, cells, inside):
        total = cells.sum(axis=(3, 4))
        count = inside.sum(axis=(3, 4)).astype(np.int64)
        half = count // 2
        # C division truncates: round half away from zero on either sign
        return np.where(total > 0, (total + half) // count, -((half - total) // count))
