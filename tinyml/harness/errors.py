"""The harness's error type: one line that says what failed and what to do."""

try:  # the project's error family, once the compiler core provides it
    from tinyml.errors import TinymlError as _Base
except ImportError:  # pragma: no cover - depends on the other half of the tree
    _Base = Exception


class HarnessError(_Base):
    """Building, running or talking to firmware failed."""
