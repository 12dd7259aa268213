import numpy as np
import pytest

from tinyml.harness.errors import HarnessError
from tinyml.harness.model_dir import _number, read_model_dir


def test_reads_the_tiny_header(tiny_dir):
    m = read_model_dir(tiny_dir)
    assert (m.prefix, m.macro, m.arena_size, m.num_layers) == ("tiny", "TINY", 64, 2)
    assert m.inputs[0].dtype == np.int8 and m.inputs[0].shape == (1, 64)
    assert m.inputs[0].scale == 0.0625 and m.inputs[0].zero_point == -3
    assert m.outputs[1].dtype == np.float32 and m.outputs[1].scale is None


@pytest.mark.parametrize("text,value", [("16000", 16000), ("0x3E80u", 16000), ("(-128)", -128),
                                        ("0x1.2b5f3ep-1f", float.fromhex("0x1.2b5f3ep-1")),
                                        ("0.5f", 0.5), ("0xFF", 255)])
def test_c_literals(text, value):
    assert _number(text) == value


def test_not_a_model_folder(tmp_path):
    (tmp_path / "x.h").write_text("int main(void);\n")
    with pytest.raises(HarnessError, match="invoke_io"):
        read_model_dir(tmp_path)
    with pytest.raises(HarnessError, match="not a folder"):
        read_model_dir(tmp_path / "missing")


def test_dtype_table_is_the_headers():
    """INFO carries the header's TM_DTYPE_* values, so the table must be tm_nn.h's."""
    import re

    from tiny_model import TM_NN
    from tinyml.harness.model_dir import DTYPES
    from tinyml.resources import data_dir

    for text in ((data_dir("codegen") / "kernels" / "tm_nn.h").read_text(), TM_NN):
        macros = {name: int(v) for name, v in re.findall(r"#define TM_DTYPE_(\w+)\s+(\d+)", text)}
        assert macros == {name: code for name, (code, _) in DTYPES.items()}


def test_glue_scales_are_exact_c_floats():
    """The glue prints scales with the code generator's c_float: exact hex, inf as FLT_MAX."""
    from tinyml.harness.firmware import _tensor_records
    from tinyml.harness.model_dir import TensorInfo
    ts = [TensorInfo(np.dtype(np.int8), (4,), 4, s, 0) for s in (0.1, float("inf"), None)]
    assert [r["scale_c"] for r in _tensor_records(ts, [0, 16, 32])] == [
        float(np.float32(0.1)).hex() + "f", "FLT_MAX", "0.0f"]
