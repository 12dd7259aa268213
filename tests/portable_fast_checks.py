"""What the portable fast variants' tests share (tinyml/kernels/*_fast_s8.py on
codegen/kernels/tm_gemm_fast_s8.h): the cores that must choose them (no DSP) and those that
must not (the DSP variants win there), and the host checks every variant runs."""

from __future__ import annotations

import numpy as np
from helpers import random_inputs
from kernel_checks import assert_scratch_matches_c
from region_checks import assert_regions_match_whole
from variant_checks import assert_host_matches_ref

from tinyml.kernels import select
from tinyml.targets.cores import CORES

PLAIN_CORES = ("cortex-m0", "cortex-m0plus", "cortex-m3", "host")
DSP_CORES = ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
HOST = CORES["host"]
BOARDS = ("mps2-an385", "microbit")   # Cortex-M3, Cortex-M0


def kernel_on(graph, node: str, core: str) -> str:
    return select(graph, CORES[core])[node].call.kernel


def assert_chosen_without_dsp(graph, node: str, kernel: str) -> None:
    for core in PLAIN_CORES:
        assert kernel_on(graph, node, core) == kernel, core
    for core in DSP_CORES:
        assert kernel_on(graph, node, core) != kernel, core


def assert_host_scratch_regions(graph, node: str, kernel: str, tmp_path, seed: int,
                                sanitize: bool = True) -> None:
    """Bit-exact against the reference on the host, the scratch size Python declares equal
    to C's, and (one image, more than one output pixel) region by region equal to whole."""
    rng = np.random.default_rng(seed)
    assert_host_matches_ref(graph, random_inputs(graph, 3, rng), tmp_path / "host",
                            core=HOST, sanitize=sanitize)
    (tmp_path / "scratch").mkdir()
    assert_scratch_matches_c(select(graph, HOST)[node].call, tmp_path / "scratch")
    y = graph.tensor(graph.nodes[0].outputs[0])
    if len(y.shape) == 4 and y.shape[0] == 1 and y.shape[1] * y.shape[2] > 1:
        (tmp_path / "regions").mkdir()
        cuts = (min(3, y.shape[1]), min(2, y.shape[2]))
        ran = assert_regions_match_whole(graph, node, HOST, tmp_path / "regions", rng, cuts)
        assert ran == kernel
