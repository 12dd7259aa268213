"""The MLPerf Tiny float models quantized with --dtype ternary: the C library's outputs, on
the host and in QEMU (mps2-an386, Cortex-M4 kernels), bit-identical to the numpy reference of
the ternary graph."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import run_ref
from tinyml.compiler import compile_model, write
from tinyml.harness.host import run_host
from tinyml.harness.qemu import run_on_board

FLOAT_MODELS = ["mlperf_tiny/vww/vww_96_float.tflite", "mlperf_tiny/ic/pretrainedResnet.tflite",
                "mlperf_tiny/ad/ad01_fp32.tflite"]


@pytest.mark.emulator
@pytest.mark.slow
@pytest.mark.parametrize("rel", FLOAT_MODELS)
def test_ptq_ternary_model_bit_identical_on_host_and_qemu(rel, shared_models, tmp_path):
    compiled = compile_model(shared_models / rel, target="cortex-m4", dtype="ternary",
                             calib="random")
    graph = compiled.graph
    kinds = [graph.tensor(n.inputs[1]).dtype for n in graph.nodes
             if n.op in ("Conv2D", "DepthwiseConv2D", "FullyConnected")]
    assert kinds[0] == kinds[-1] == "int8" and set(kinds[1:-1]) == {"ternary"}
    write(compiled, tmp_path / "lib", "cortex-m4")
    x = graph.tensor(graph.inputs[0])
    rng = np.random.default_rng(0)
    inputs = [rng.integers(-128, 128, (2, *x.shape)).astype(np.int8)]
    want = run_ref(graph, inputs)[0]
    np.testing.assert_array_equal(run_host(tmp_path / "lib", inputs, sanitize=True)[0], want)
    got, stats = run_on_board(tmp_path / "lib", "mps2-an386", inputs, timeout=600)
    assert stats.status == 0
    np.testing.assert_array_equal(got[0].reshape(want.shape), want)


@pytest.mark.emulator
@pytest.mark.slow
@pytest.mark.parametrize("rel", FLOAT_MODELS)
def test_ternary_layers_take_at_most_int8_instructions(rel, shared_models, tmp_path):
    """Every ternary layer of the model (pointwise, 3x3, depthwise, fully connected) runs in
    at most the instructions of the same layer on int8 weights: QEMU's exact counts for one
    inference on the same input, as benchmarks/ternary_report.py counts them."""
    counts = {}
    for dtype in ("int8", "ternary"):
        compiled = compile_model(shared_models / rel, target="cortex-m4", dtype=dtype,
                                 calib="random")
        write(compiled, tmp_path / dtype, "cortex-m4")
        x = compiled.graph.tensor(compiled.graph.inputs[0])
        sample = np.random.default_rng(0).integers(-128, 128, size=x.shape).astype(np.int8)
        counts[dtype] = run_on_board(tmp_path / dtype, "mps2-an386", [sample], timeout=600)[1]
    tern, int8 = counts["ternary"], counts["int8"]
    ternary_layers = [i for i, layer in enumerate(tern.layers) if layer["weights"] == "ternary"]
    assert ternary_layers
    slower = {tern.layers[i]["name"]: (tern.layer_instructions[i], int8.layer_instructions[i])
              for i in ternary_layers
              if tern.layer_instructions[i] > int8.layer_instructions[i]}
    assert not slower
