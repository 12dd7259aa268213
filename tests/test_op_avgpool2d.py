"""AveragePool2D: C kernel vs numpy reference (bit-exact), reference vs TFLite Micro."""

import pytest

from pool_cases import CASES, check_c_matches_reference, check_reference_matches_tflm


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_c_matches_reference(dtype, case, tmp_path):
    check_c_matches_reference("AveragePool2D", dtype, case, tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case,act", [(0, 0), (1, 1), (2, 3), (3, 0), (4, 0), (5, 1)])
def test_reference_matches_tflite_micro(dtype, case, act, tmp_path):
    check_reference_matches_tflm("AVERAGE_POOL_2D", dtype, case, act, tmp_path)
