"""Add: C kernel vs numpy reference (bit-exact), reference vs TFLite Micro (broadcasting)."""

import pytest

from binary_op_cases import SHAPES, check_c_matches_reference, check_reference_matches_tflm


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", range(len(SHAPES)))
def test_c_matches_reference(dtype, case, tmp_path):
    check_c_matches_reference("Add", dtype, case, tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case,act", [(0, 0), (1, 1), (2, 3), (4, 0), (5, 2)])
def test_reference_matches_tflite_micro(dtype, case, act, tmp_path):
    check_reference_matches_tflm("ADD", "AddOptions", dtype, case, act, tmp_path)
