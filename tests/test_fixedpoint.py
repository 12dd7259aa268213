"""tinyml/ops/fixedpoint.py vs codegen/kernels/tm_fixedpoint.h: bit-exact on random raw values
over each function's whole input domain (the op tests cover only the values int8 reaches)."""

import shutil
import subprocess

import numpy as np
import pytest

from tinyml.harness.host import SANITIZE_FLAGS, STRICT_FLAGS
from tinyml.ops import fixedpoint as fx
from tinyml.resources import data_dir

DRIVER = r"""
#include <stdio.h>
#include "tm_fixedpoint.h"

int main(void)
{
    long long a;
    while (scanf("%lld", &a) == 1) {
        const int32_t x = (int32_t)a;
        const int32_t neg = x > 0 ? -x : x;
        const int32_t unit = x < 0 ? (int32_t)(x & INT32_MAX) : x; /* [0, 1) in Q0 */
        int bits;
        const int32_t r = tm_fx_reciprocal(unit > 0 ? unit : 1, 12, &bits);
        printf("%d %d %d %d %d %d %d %d %d\n", tm_fx_exp_on_negative_values(neg, 5),
               tm_fx_exp_on_negative_values(neg, 4),
               tm_fx_one_over_one_plus_x_for_x_in_0_1(unit),
               tm_fx_one_minus_x_over_one_plus_x_for_x_in_0_1(unit), tm_fx_tanh(x, 4),
               tm_fx_logistic(x, 4), tm_fx_rounding_half_sum(x, INT32_MAX), r, bits);
    }
    return 0;
}
"""


def python_columns(x: np.ndarray) -> np.ndarray:
    neg = np.where(x > 0, -x, x)
    unit = np.where(x < 0, x & 0x7FFFFFFF, x)
    r, bits = fx.reciprocal(np.maximum(unit, 1), 12)
    return np.stack([fx.exp_on_negative_values(neg, 5), fx.exp_on_negative_values(neg, 4),
                     fx.one_over_one_plus_x_for_x_in_0_1(unit),
                     fx.one_minus_x_over_one_plus_x_for_x_in_0_1(unit), fx.tanh(x, 4),
                     fx.logistic(x, 4), fx.rounding_half_sum(x, fx.ONE_Q0), r, bits], axis=1)


@pytest.mark.skipif(shutil.which("cc") is None, reason="no host C compiler")
def test_c_matches_numpy(tmp_path):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.integers(-(1 << 31), 1 << 31, 20000),
                        rng.integers(-(1 << 16), 1 << 16, 2000),
                        [0, 1, -1, (1 << 31) - 1, -(1 << 31) + 1, 1 << 26, -(1 << 26)]])
    (tmp_path / "driver.c").write_text(DRIVER)
    exe = tmp_path / "driver"
    subprocess.run(["cc", *STRICT_FLAGS, *SANITIZE_FLAGS, "-O1",
                    "-I", str(data_dir("codegen") / "kernels"), str(tmp_path / "driver.c"),
                    "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], input="\n".join(map(str, x)), capture_output=True,
                         text=True, check=True).stdout
    got = np.array([line.split() for line in out.splitlines()], dtype=np.int64)
    np.testing.assert_array_equal(got, python_columns(x.astype(np.int64)))
