"""The portable variant of every op, for every dtype it computes on: its own `lower`.

Portable C runs on every core, so these need no feature and hold for every node the op's
check accepts; they rank lowest, below any specialised variant of the same op and dtype.
"""

from __future__ import annotations

from ..ops import REGISTRY
from .registry import KernelVariant, add_variant

PORTABLE_VARIANTS = tuple(
    add_variant(KernelVariant(f"{op.name}.{dtype}.portable", op.name, dtype,
                              dtype if 1 in op.weight_axes else None, op.lower))
    for op in REGISTRY.values() for dtype in op.dtypes)
