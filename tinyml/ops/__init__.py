"""The op registry. Adding an op: one module here, imported below, plus its test."""

from . import fully_connected, reshape  # noqa: F401  (each module registers its op)
from .base import REGISTRY, get_op

__all__ = ["REGISTRY", "get_op"]
