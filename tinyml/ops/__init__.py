"""The op registry. Adding an op: one module here, imported below, plus its test."""

from . import (  # noqa: F401  (each module registers its op)
    add, avgpool2d, clamp, concatenation, conv2d, depthwise_conv2d, dequantize, div,
    fully_connected, hard_swish, leaky_relu, logistic, maxpool2d, mean, mul, pad, quantize,
    reshape, softmax, sub, tanh, transpose,
)
from .base import REGISTRY, get_op

__all__ = ["REGISTRY", "get_op"]
