"""The op registry. Adding an op: one module here, imported below, plus its test."""

from . import (  # noqa: F401  (each module registers its op)
    clamp, conv2d, depthwise_conv2d, fully_connected, hard_swish, leaky_relu, logistic,
    reshape, softmax, tanh
)
from . import (  # noqa: F401
    add, avgpool2d, concatenation, dequantize, maxpool2d, mean, mul, pad, quantize, sub, transpose
)
from .base import REGISTRY, get_op

__all__ = ["REGISTRY", "get_op"]
