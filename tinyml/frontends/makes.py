"""What each frontend converter makes: its declared IR ops (`makes=` at registration), held
true at every conversion, so the op table generated from the declarations (docs/ops.md,
tinyml/opsdoc.py) cannot drift from what the converters do."""

from __future__ import annotations

from ..errors import TinymlError

#: what any converter may add around the op it converts
LAYOUT_OPS = frozenset({"Reshape", "Transpose", "Pad", "Quantize", "Dequantize"})


def check_made(nodes, declared: tuple[str, ...], source: str, name: str, op: str) -> None:
    """Refuse, as an internal error, nodes of an op the converter did not declare."""
    extra = {n.op for n in nodes} - set(declared) - LAYOUT_OPS
    if extra:
        raise TinymlError(f"internal error: the {op} converter made {', '.join(sorted(extra))}, "
                          "which its registration does not declare", model=source, node=name,
                          op=op)
