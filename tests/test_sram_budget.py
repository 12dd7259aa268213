"""`tinyml compile --sram SIZE`: RAM total (arena + the input and output buffers outside it +
the estimated stack) must fit; when it does not, one line names the total, its parts, the
peak step and the buffers alive there, the exit is non-zero and nothing is written."""

from __future__ import annotations

import json

import pytest

from test_bad_input import _tiny_fc_tflite
from test_cli import tinyml
from tinyml.targets.budget import STACK_BYTES, parse_size


def test_sizes():
    assert parse_size("65536") == 65536 and parse_size("64K") == parse_size("64kb") == 65536
    assert parse_size("1M") == 1024 * 1024
    for bad in ("", "K", "12Q", "-3K", "1.5K"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_fits_and_does_not_fit(tmp_path):
    _tiny_fc_tflite(tmp_path / "m.tflite")
    ok = tinyml("compile", "m.tflite", "--sram", "64K", "-o", "out", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "fits --sram 65,536 bytes: RAM" in ok.stdout and (tmp_path / "out").is_dir()
    tight = STACK_BYTES + 4   # below the stack estimate plus I/O: cannot fit
    bad = tinyml("compile", "m.tflite", "--sram", str(tight), "-o", "out2", cwd=tmp_path)
    assert bad.returncode == 1 and bad.stdout == ""
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and "m.tflite" in lines[0] and f"--sram {tight:,} bytes" in lines[0]
    assert "over by" in lines[0] and "stack ~" in lines[0]
    assert not (tmp_path / "out2").exists()
    assert tinyml("compile", "m.tflite", "--sram", "lots", cwd=tmp_path).returncode == 2


def test_the_line_names_the_peak_step(shared_models, tmp_path):
    """Layer by layer, VWW's peak is its first pointwise layer (a 48x48x8 input and its
    48x48x16 output alive together): with patches off, the line names it."""
    model = shared_models / "mlperf_tiny/vww/vww_96_int8.tflite"
    bad = tinyml("compile", model, "--target", "cortex-m4", "--sram", "64K", "--patch", "off",
                 cwd=tmp_path)
    assert bad.returncode == 1
    line = bad.stderr.strip()
    assert "\n" not in line and "the peak is step 2 (Conv2D" in line
    assert "36,864" in line and "18,432" in line and "scratch of step 2" in line


def test_a_budget_turns_patches_on(shared_models, tmp_path):
    """64 KB does not hold VWW layer by layer (RAM 85,058 bytes with the input outside the
    arena); the planner then runs its first layers by patches, the fewest extra MACs that
    fit."""
    model = shared_models / "mlperf_tiny/vww/vww_96_int8.tflite"
    ok = tinyml("compile", model, "--target", "cortex-m4", "--sram", "64K", "-o", "out", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    report = json.loads((tmp_path / "out/report.json").read_text())
    outside = 96 * 96 * 3 + 2 + STACK_BYTES   # the input, the output, the stack estimate
    assert report["patch_plan"] is not None
    assert report["layer_by_layer_arena_bytes"] + outside > 64 * 1024 >= report["arena_bytes"] + outside
    assert "fits --sram 65,536 bytes" in ok.stdout


def test_out_of_reach_names_the_least_total_and_the_peak(shared_models, tmp_path):
    model = shared_models / "mlperf_tiny/vww/vww_96_int8.tflite"
    bad = tinyml("compile", model, "--target", "cortex-m4", "--sram", "32K", "-o", "out", cwd=tmp_path)
    line = bad.stderr.strip()
    assert bad.returncode == 1 and "\n" not in line and not (tmp_path / "out").exists()
    assert "the least the planner reaches" in line and "the peak is" in line
    least = int(line.split("RAM needs ")[1].split(" bytes")[0].replace(",", ""))
    assert 32 * 1024 < least < 64 * 1024
