"""Errors are values until the CLI: each names the file, the node and the op it is about."""

from contextlib import contextmanager


class TinymlError(Exception):
    """Base of every error the CLI turns into one line and exit code 1."""

    exit_code = 1

    def __init__(self, message: str, *, model: str | None = None, node: str | None = None,
                 op: str | None = None):
        self.message, self.model, self.node, self.op = message, model, node, op
        where = ", ".join(f"{k} {v!r}" for k, v in (("node", node), ("op", op)) if v)
        prefix = f"{model}: " if model else ""
        super().__init__(f"{prefix}{message}" + (f" ({where})" if where else ""))

    def located(self, *, model: str | None, node: str | None, op: str | None) -> "TinymlError":
        """The same error naming the model, node and op it did not name yet."""
        if self.node is not None:
            return self
        return type(self)(self.message, model=self.model or model, node=node, op=op)


@contextmanager
def about(model: str | None, node: str, op: str):
    """Errors raised inside (by shared numerics, say) name this node and op."""
    try:
        yield
    except TinymlError as exc:
        located = exc.located(model=model, node=node, op=op)
        if located is exc:
            raise
        raise located from None


class UsageError(TinymlError):
    """The command line was wrong: exit code 2."""

    exit_code = 2


class ModelError(TinymlError):
    """The model file cannot be read or is not a model."""


class UnsupportedError(TinymlError):
    """The model uses something tinyml does not compile (an op, a dtype, an attribute)."""


class ShapeError(TinymlError):
    """Shapes do not fit: a dynamic dimension, a wrong input array."""


class BuildError(TinymlError):
    """A C compiler or the generated program failed."""
