"""MaxPool2D (TFLite MAX_POOL_2D, ONNX MaxPool): the largest window cell inside the image,
then the fused clamp. int8 input and output share their quantization, so the raw values are
compared as they are.
"""

from __future__ import annotations

import numpy as np

from .base import register
from .pool2d import Pool2D


@register
class MaxPool2D(Pool2D):
    name = "MaxPool2D"
    kernel_stem = "tm_maxpool2d_generic"

    def reduce_float(self, cells, inside):
        return np.where(inside, cells, -np.inf).max(axis=(3, 4))

    def reduce_int8(self, cells, inside):
        return np.where(inside, cells, -128).max(axis=(3, 4))
