"""What the memory planner's tests share: run a lowered model's C on the host."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyml.codegen import write_library
from tinyml.codegen.lower import ModelCode
from tinyml.harness.host import run_host


def run_lowered(code: ModelCode, inputs: list[np.ndarray], outdir: Path,
                sanitize: bool = True) -> list[np.ndarray]:
    """Write `code` as a library, build it with the host compiler (ASan/UBSan) and run it."""
    write_library(code, outdir)
    return run_host(outdir, inputs, sanitize=sanitize)
