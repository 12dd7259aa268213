"""Per shared model: compile time, tinyml's arena beside TFLite Micro's, the activation lower
bound, weight bytes and MACs. Prints a table and writes JSON.

    .venv/bin/python benchmarks/compile_report.py [--models DIR] [--json benchmarks/results/compile.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

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
    row = {"model": str(path.name), "dtype": compiled.dtype, "compile_s": round(seconds, 3),
           "arena_bytes": report["arena_bytes"],
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
             f"{'TFLM act':>9} {'TFLM tot':>9} {'weights':>9} {'MACs':>11}"
    print(header)
    print("-" * len(header))
    for r in rows:
        def opt(v):
            return f"{v:>9,}" if v is not None else f"{'-':>9}"
        print(f"{r['model']:<32} {r['dtype']:<7} {r['compile_s']:>9.2f} {r['arena_bytes']:>9,} "
              f"{r['arena_lower_bound_bytes']:>9,} {opt(r['tflm_arena_activations_bytes'])} "
              f"{opt(r['tflm_arena_total_bytes'])} {r['weight_bytes']:>9,} {r['macs']:>11,}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
