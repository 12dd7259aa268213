"""The harness's errors: one line that says what failed and what to do."""

from tinyml.errors import BuildError, TinymlError, UsageError


class HarnessError(TinymlError):
    """Building, running or talking to firmware failed."""


class HarnessBuildError(HarnessError, BuildError):
    """The firmware (or the QEMU plugin) did not compile or link: a BuildError too."""


class InputError(UsageError):
    """The arrays or files given to a command do not fit the model (shape, dtype, names,
    NaN, lengths): exit code 2 in every command."""
