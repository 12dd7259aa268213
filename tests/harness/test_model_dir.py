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
