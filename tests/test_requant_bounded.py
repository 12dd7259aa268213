"""codegen/kernels/tm_requant.h: the fast output stage equals tm_requantize (TFLite's
MultiplyByQuantizedMultiplier) for every accumulator the bound admits, over multipliers in
[2^30, 2^31), left and right shifts, the exact rounding ties of both roundings, and random
values; tinyml/kernels/output_stage.py's bound refuses what could leave int32."""

from __future__ import annotations

import os
import subprocess

import numpy as np

from tinyml.kernels.output_stage import accumulator_bounds, rounding_fits
from tinyml.numerics import multiply_by_quantized_multiplier
from tinyml.resources import data_dir

KERNELS = data_dir("codegen") / "kernels"

PROGRAM = r"""
#include <stdio.h>
#include "tm_requant.h"

int main(void)
{
    long acc, mult, shift;
    while (scanf("%ld %ld %ld", &acc, &mult, &shift) == 3) {
        printf("%ld %ld\n", (long)tm_requantize_bounded((int32_t)acc, (int32_t)mult, (int32_t)shift),
               (long)tm_requantize((int32_t)acc, (int32_t)mult, (int32_t)shift));
    }
    return 0;
}
"""


def _cases(rng):
    rows = []
    for shift in range(-31, 8):
        for mult in (1 << 30, (1 << 31) - 1, int(rng.integers(1 << 30, 1 << 31)), 1518500250):
            right = max(-shift, 0)
            limit = (2**31 - 1 - ((1 << (right - 1)) if right else 0)) >> max(shift, 0)
            accs = {0, 1, -1, limit, -limit, limit // 3, -(limit // 3)}
            if right:
                # ties of the second rounding: x = (2k + 1) * 2^(right - 1)
                accs |= {(2 * k + 1) << (right - 1) for k in (-3, -1, 0, 2) if
                         abs((2 * k + 1) << (right - 1)) <= limit}
            accs |= set(int(v) for v in rng.integers(-limit, limit + 1, 40))
            rows += [(a, mult, shift) for a in accs]
    return rows


def test_bounded_requantize_equals_tflite(tmp_path):
    rng = np.random.default_rng(31)
    rows = _cases(rng)
    src = tmp_path / "requant.c"
    src.write_text(PROGRAM)
    exe = tmp_path / "requant"
    subprocess.run([os.environ.get("CC", "cc"), "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror",
                    "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                    f"-I{KERNELS}", str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], input="\n".join(f"{a} {m} {s}" for a, m, s in rows),
                         capture_output=True, text=True, check=True).stdout.split("\n")
    pairs = [tuple(map(int, line.split())) for line in out if line]
    assert len(pairs) == len(rows) > 5000
    fast, exact = np.array(pairs).T
    assert (fast == exact).all()
    acc, mult, shift = (np.array(c, dtype=np.int64) for c in zip(*rows))
    want = multiply_by_quantized_multiplier(acc, mult, shift)
    assert (exact == want).all()


def test_bound_admits_what_fits_and_refuses_what_does_not():
    w = np.array([[127, -128, 3], [1, 1, 1]], dtype=np.int8)
    bounds = accumulator_bounds(w, 0, np.array([1000, -5], dtype=np.int32))
    assert bounds.tolist() == [255 * 258 + 1000, 255 * 3 + 5]
    assert rounding_fits(bounds, np.array([-31, 0]))
    assert not rounding_fits(np.array([2**31 - 2**29]), np.array([-30]))
    assert rounding_fits(np.array([2**31 - 2**29]), np.array([-29]))
