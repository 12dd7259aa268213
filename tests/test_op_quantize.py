"""Quantize (float32 -> int8 and int8 -> int8): C kernel vs numpy reference (bit-exact),
reference vs TFLite Micro, including rounding ties, 0.49999997 and saturation."""

import numpy as np
import pytest

from helpers import assert_c_matches_ref, run_ref, tflm_run
from tflite_builder import TFLiteBuilder
from tinyml.frontends import load_model
from tinyml.ir import Graph, Node, Quant, Tensor

SHAPE = (1, 3, 3, 7)
#: (input dtype, input scale, input zero point, output scale, output zero point)
CASES = [
    ("float32", None, None, 0.05, -3),
    ("float32", None, None, 1.0, 0),        # ties and 0.49999997 land on x.5 exactly
    ("int8", 0.05, 10, 0.1, -20),           # coarser
    ("int8", 0.1, -5, 0.013, 7),            # finer: multiplier > 1, saturates
    ("int8", 0.05, 10, 0.05, -2),           # zero point shift only
]


def inputs_for(dtype: str, scale: float, rng, count: int) -> np.ndarray:
    if dtype == "int8":
        return rng.integers(-128, 128, (count, *SHAPE)).astype(np.int8)
    x = (rng.standard_normal((count, *SHAPE)) * 100 * scale).astype(np.float32)
    halves = (rng.integers(-300, 300, x.size // 2) + 0.5).astype(np.float32) * np.float32(scale)
    x.reshape(-1)[:halves.size] = halves
    just_below_half = np.nextafter(np.float32(0.5), np.float32(0))
    # beyond the int32 range TFLM's float -> int conversion is undefined: stay inside it
    x.reshape(-1)[-4:] = [just_below_half, -just_below_half, 1e6 * scale, -1e6 * scale]
    return x


def quantize_graph(case: int) -> Graph:
    dtype, in_scale, in_zp, out_scale, out_zp = CASES[case]
    x = Tensor("x", SHAPE, dtype, Quant.of(in_scale, in_zp) if dtype == "int8" else None)
    y = Tensor("y", SHAPE, "int8", Quant.of(out_scale, out_zp))
    return Graph.build("q", [Node("q", "Quantize", ("x",), ("y",))], [x, y], ["x"], ["y"])


@pytest.mark.parametrize("case", range(len(CASES)))
def test_c_matches_reference(case, tmp_path):
    rng = np.random.default_rng(1300 + case)
    g = quantize_graph(case)
    x = inputs_for(CASES[case][0], CASES[case][3], rng, 6)
    assert_c_matches_ref(g, [x], tmp_path, sanitize=case in (0, 3))


@pytest.mark.parametrize("case", range(len(CASES)))
def test_reference_matches_tflite_micro(case, tmp_path):
    rng = np.random.default_rng(1400 + case)
    dtype, in_scale, in_zp, out_scale, out_zp = CASES[case]
    b = TFLiteBuilder()
    in_quant = dict(scale=in_scale, zero_point=in_zp) if dtype == "int8" else {}
    x = b.tensor("x", SHAPE, dtype, **in_quant)
    y = b.tensor("y", SHAPE, "int8", scale=out_scale, zero_point=out_zp)
    b.op("QUANTIZE", [x], [y])
    path = tmp_path / "m.tflite"
    path.write_bytes(b.build([x], [y]))
    graph = load_model(path)
    inputs = [inputs_for(dtype, out_scale, rng, 10)]
    np.testing.assert_array_equal(run_ref(graph, inputs)[0], tflm_run(path, inputs)[0])
