"""The harness's errors: one line that says what failed and what to do."""

from tinyml.errors import BuildError, TinymlError


class HarnessError(TinymlError):
    """Building, running or talking to firmware failed."""


class HarnessBuildError(HarnessError, BuildError):
    """The firmware (or the QEMU plugin) did not compile or link: a BuildError too."""
