"""VWW in 64 KB, shown rather than computed: compiled with --patch auto --io arena --sram 64K,
its eval firmware is linked with 64 KB of SRAM (arena, stack, protocol buffers and all) and
runs in QEMU on mps2-an386, over the serial protocol and in batch mode, with outputs
bit-identical to the tflite-micro interpreter's and the painted stack inside its reserve."""

from __future__ import annotations

import json

import numpy as np
import pytest

from test_cli import tinyml
from tinyml.harness.evaluate import evaluate
from tinyml.harness.firmware import build_firmware
from tinyml.harness.qemu import run_on_board
from tinyml.references import tflm_run
from tinyml.targets.boards import get_board
from tinyml.targets.budget import STACK_BYTES

VWW = "mlperf_tiny/vww/vww_96_int8.tflite"


@pytest.mark.emulator
@pytest.mark.slow
def test_vww_runs_in_64k_of_sram(shared_models, tmp_path):
    done = tinyml("compile", shared_models / VWW, "--target", "cortex-m4", "--patch", "auto",
                  "--io", "arena", "--sram", "64K", "-o", "vww", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "vww/report.json").read_text())
    assert report["sram_budget_bytes"] == 65536 and report["patch_plan"] is not None
    assert report["io_in_arena"] and 10 * report["arena_bytes"] <= 6 * 73_728

    fw = build_firmware(tmp_path / "vww", "mps2-an386")
    board = get_board("mps2-an386")
    assert fw.ram_size == 65536 < board.ram.size
    assert fw.symbols["__stack_top"] == board.ram.origin + 65536
    reserve = fw.symbols["__stack_top"] - fw.symbols["__stack_limit"]
    assert reserve == STACK_BYTES and fw.static_ram_bytes + reserve <= 65536

    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (4, 1, 96, 96, 3)).astype(np.int8)
    want = tflm_run(shared_models / VWW, [x])[0]
    np.savez(tmp_path / "data.npz", x=x)
    result = evaluate(tmp_path / "vww", tmp_path / "data.npz", board="mps2-an386", timeout=20)
    assert result.passed and result.exact == 4
    np.testing.assert_array_equal(result.device_outputs[0].reshape(want.shape), want)

    got, stats = run_on_board(tmp_path / "vww", "mps2-an386", [x[:2]], timeout=300)
    np.testing.assert_array_equal(got[0].reshape(want[:2].shape), want[:2])
    assert stats.status == 0 and 0 < stats.peak_stack < reserve
