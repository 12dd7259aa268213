"""Lower a planned graph to plain records, then render the C library with jinja2."""

from .lower import lower_model
from .render import write_library

__all__ = ["lower_model", "write_library"]
