"""Per shared model: compile time, tinyml's arena beside TFLite Micro's, the activation lower
bound, RAM total (arena + the input and output buffers outside it) with the I/O in the
caller's buffers and with `--io arena`, weight bytes and MACs. Prints a table and writes JSON.

    .venv/bin/python benchmarks/compile_report.py [--models DIR] [--json benchmarks/results/compile.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from tinyml.compiler import compile_model
from tinyml.codegen.report import build_report
from tinyml.references import tflm_arena_bytes

MODELS = ["mlperf_tiny/kws/kws_ref_model.tflite", "mlperf_tiny/vww/vww_96_int8.tflite",
          "mlperf_tiny/ic/pretrainedResnet_quant.tflite", "mlperf_tiny/ad/ad01_int8.tflite",
          "tflm/hello_world_int8.tflite", "mlperf_tiny/vww/vww_96_float.tflite",
          "mlperf_tiny/ic/pretrainedResnet.tflite", "mlperf_tiny/ad/ad01_fp32.tflite",
          "tflm/hello_world_float.tflite", "onnx/mnist-8/model.onnx"]


def measure(path: Path) -> dict:
    start = time.perf_counter()
    compiled = compile_model(path, target="cortex-m4")
    seconds = time.perf_counter() - start
    report = build_report(compiled.code, target="cortex-m4", dtype=compiled.dtype)
    io_bytes = sum(int(np.prod(t["shape"])) * np.dtype(t["dtype"]).itemsize
                   for t in (*report["inputs"], *report["outputs"]))
    inside = compile_model(path, target="cortex-m4", io="arena").code.plan.size
    row = {"model": str(path.name), "dtype": compiled.dtype, "compile_s": round(seconds, 3),
           "arena_bytes": report["arena_bytes"],
           "ram_total_bytes": report["arena_bytes"] + io_bytes,
           "ram_total_io_in_arena_bytes": inside,
           "arena_lower_bound_bytes": report["arena_lower_bound_bytes"],
           "weight_bytes": report["flash_bytes"], "macs": report["macs"],
           "tflm_arena_total_bytes": None, "tflm_arena_activations_bytes": None}
    if path.suffix == ".tflite":
        tflm = tflm_arena_bytes(path)
        row["tflm_arena_total_bytes"] = tflm["total"]
        row["tflm_arena_activations_bytes"] = tflm.get("head")
    return row


def main() -> None:
    default_models = Path(__file__).resolve().parents[2] / "shared" / "models"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=default_models)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/compile.json"))
    args = parser.parse_args()
    rows = [measure(args.models / rel) for rel in MODELS if (args.models / rel).exists()]
    header = f"{'model':<32} {'dtype':<7} {'compile s':>9} {'arena':>9} {'lower bd':>9} " \
             f"{'+ I/O':>9} {'I/O in':>9} {'TFLM act':>9} {'TFLM tot':>9} {'weights':>9} {'MACs':>11}"
    print("arena: activations and kernel scratch (cortex-m4 kernels); + I/O: with the input and "
          "output buffers the caller holds; I/O in: the arena with --io arena (nothing outside)")
    print(header)
    print("-" * len(header))
    for r in rows:
        def opt(v):
            return f"{v:>9,}" if v is not None else f"{'-':>9}"
        print(f"{r['model']:<32} {r['dtype']:<7} {r['compile_s']:>9.2f} {r['arena_bytes']:>9,} "
              f"{r['arena_lower_bound_bytes']:>9,} {r['ram_total_bytes']:>9,} "
              f"{r['ram_total_io_in_arena_bytes']:>9,} {opt(r['tflm_arena_activations_bytes'])} "
              f"{opt(r['tflm_arena_total_bytes'])} {r['weight_bytes']:>9,} {r['macs']:>11,}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
