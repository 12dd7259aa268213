"""Checks every kernel variant's test runs: its Python scratch size against the C kernel's
tm_<kernel>_get_buffer_size, for the params of one lowered layer."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import jinja2

from tinyml.codegen.render import c_literal
from tinyml.ops.base import KernelCall
from tinyml.resources import data_dir

KERNELS = data_dir("codegen") / "kernels"
FIXTURES = Path(__file__).parent / "kernel_fixtures"


def c_buffer_size(call: KernelCall, workdir: Path, sources: list[Path] | None = None) -> int:
    """What tm_<kernel>_get_buffer_size returns for the call's params, built with the host
    compiler from `sources` (the call's own C files by default)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(FIXTURES)),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["c_literal"] = c_literal
    main = workdir / "buffer_size_main.c"
    main.write_text(env.get_template("buffer_size_main.c.j2").render(
        kernel=call.kernel, params_type=call.params_type, params=call.params))
    exe = workdir / "buffer_size"
    sources = sources or [KERNELS / name for name in call.sources]
    subprocess.run([os.environ.get("CC", "cc"), "-std=c11", "-Wall", "-Wextra", "-Werror",
                    f"-I{KERNELS}", str(main), *map(str, sources), "-lm", "-o", str(exe)],
                   check=True)
    return int(subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout)


def assert_scratch_matches_c(call: KernelCall, workdir: Path, sources=None) -> None:
    assert call.scratch_bytes == c_buffer_size(call, workdir, sources), call.kernel
