"""codegen/kernels/tm_dsp_bytes.h: tm_smax8/tm_smin8 (SSUB8 + SEL) and tm_splat8 in portable
C on the host (under ASan/UBSan) against a per-byte model of the instructions, over edge and
random words. Their ACLE form runs in the Cortex-M4 tests of the kernels that use them
(tests/test_kernel_add_lut_s8.py, test_kernel_maxpool2d_dsp_s8.py)."""

from __future__ import annotations

import os
import subprocess

import numpy as np

from tinyml.resources import data_dir

KERNELS = data_dir("codegen") / "kernels"
PROGRAM = r"""
#include <inttypes.h>
#include <stdio.h>
#include "tm_dsp_bytes.h"
int main(void)
{
    uint32_t x, y;
    int32_t v;
    while (scanf("%" SCNu32 " %" SCNu32 " %" SCNd32, &x, &y, &v) == 3) {
        printf("%" PRIu32 " %" PRIu32 " %" PRIu32 "\n", tm_smax8(x, y), tm_smin8(x, y),
               tm_splat8(v));
    }
    return 0;
}
"""


def _bytes(w: int) -> list[int]:
    return [((w >> (8 * i)) & 0xFF) - (256 if (w >> (8 * i)) & 0x80 else 0) for i in range(4)]


def _word(lanes) -> int:
    return sum((b & 0xFF) << (8 * i) for i, b in enumerate(lanes))


def test_byte_lanes_match_the_instructions(tmp_path):
    src, exe = tmp_path / "bytes.c", tmp_path / "bytes"
    src.write_text(PROGRAM)
    subprocess.run([os.environ.get("CC", "cc"), "-std=c11", "-O1", "-Wall", "-Wextra", "-Werror",
                    "-fsanitize=address,undefined", "-fno-sanitize-recover=all", f"-I{KERNELS}",
                    str(src), "-o", str(exe)], check=True)
    rng = np.random.default_rng(0)
    edges = [0, 0xFFFFFFFF, 0x80808080, 0x7F7F7F7F, 0x807F0100, 0x01FF7F80]
    xs = edges + [int(v) for v in rng.integers(0, 2**32, 500, dtype=np.uint64)]
    ys = edges[::-1] + [int(v) for v in rng.integers(0, 2**32, 500, dtype=np.uint64)]
    vs = [int(v) for v in rng.integers(-128, 128, len(xs))]
    text = "".join(f"{x} {y} {v}\n" for x, y, v in zip(xs, ys, vs))
    out = subprocess.run([str(exe)], input=text, capture_output=True, text=True, check=True)
    rows = [tuple(map(int, line.split())) for line in out.stdout.splitlines()]
    assert len(rows) == len(xs)
    for (x, y, v), (mx, mn, splat) in zip(zip(xs, ys, vs), rows):
        assert mx == _word(max(a, b) for a, b in zip(_bytes(x), _bytes(y))), (hex(x), hex(y))
        assert mn == _word(min(a, b) for a, b in zip(_bytes(x), _bytes(y))), (hex(x), hex(y))
        assert splat == _word([v] * 4)
