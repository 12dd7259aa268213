"""`tinyml inspect --plan` prints every arena buffer with its offsets and lifetime;
`--plot mem.png` draws the memory per layer (a PNG, opened here); the per-layer table marks
the peak and how layers run; report.json carries the plan's figures."""

from __future__ import annotations

import json

import numpy as np

from test_bad_input import _tiny_fc_tflite
from test_cli import tinyml

VWW = "mlperf_tiny/vww/vww_96_int8.tflite"


def test_plan_lists_every_buffer(shared_models, tmp_path):
    done = tinyml("inspect", shared_models / VWW, "--target", "cortex-m4", "--patch", "auto",
                  "--plan", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    head = next(i for i, l in enumerate(lines) if l.startswith("arena ") and "lower bound" in l)
    assert "proved least" in lines[head]
    rows = [l for l in lines[head + 2:] if l.strip()]
    assert any("patch buffers and scratch of the patch stage" in r for r in rows)
    assert any("and its band ring" in r for r in rows)   # a depthwise layer in place by bands
    arena = int(lines[head].split()[1].replace(",", ""))
    for row in rows:
        start, end, size = (int(v.replace(",", "")) for v in row.split()[:3])
        assert end - start == size and 0 <= start and end <= arena
    table = "\n".join(lines[:head])
    assert "<- peak" in table and "patches" in table and "\npatches: " in table
    assert not list(tmp_path.iterdir())   # inspect writes nothing but what it is asked to


def test_plot_writes_a_png(shared_models, tmp_path):
    import matplotlib.image
    done = tinyml("inspect", shared_models / VWW, "--target", "cortex-m4", "--patch", "auto",
                  "--plot", "mem.png", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    png = tmp_path / "mem.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    pixels = matplotlib.image.imread(png)
    assert pixels.ndim == 3 and pixels.shape[0] > 300 and pixels.shape[1] > 600
    assert len(np.unique(pixels.reshape(-1, pixels.shape[2]), axis=0)) > 20   # drawn, not blank


def test_plot_into_a_missing_folder_is_one_line(tmp_path):
    _tiny_fc_tflite(tmp_path / "m.tflite")
    done = tinyml("inspect", "m.tflite", "--plot", "no/such/dir/mem.png", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "cannot write" in done.stderr


def test_report_keys(shared_models, tmp_path):
    done = tinyml("compile", shared_models / VWW, "--target", "cortex-m4", "--patch", "auto",
                  "--io", "arena", "-o", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    r = json.loads((tmp_path / "out/report.json").read_text())
    p = r["patch_plan"]
    assert set(p) >= {"split_layer", "grid", "per_patch_buffer_bytes", "extra_macs",
                      "extra_macs_percent", "layers"}
    assert r["arena_bytes"] == r["arena_lower_bound_bytes"] == max(l["live_bytes"] for l in r["layers"])
    assert r["layer_by_layer_arena_bytes"] > r["arena_bytes"] and r["arena_optimal"]
    assert r["macs_run"] == r["macs"] + p["extra_macs"]
    assert all(r["layers"][i]["runs"] == "patches" for i in p["layers"])
    assert r["layers"][r["peak_step"]]["live_bytes"] == r["arena_bytes"]


def test_bad_options_exit_2(tmp_path):
    _tiny_fc_tflite(tmp_path / "m.tflite")
    for args in (("--patch", "3"), ("--optimize", "fast"), ("--patch-overhead", "-1")):
        done = tinyml("inspect", "m.tflite", *args, cwd=tmp_path)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, (args, done.stderr)
