"""The memory planner per shared model (Cortex-M4 kernels), in bytes. With the model's input
and output in the arena (--io arena), as TFLite Micro keeps them, so RAM total = the arena:

  layer by layer  --optimize speed --patch off: one buffer per tensor, nothing run in place
                  but what costs no time (views, pointwise and elementwise kernels over their
                  input, concatenations in their slices)
  lower bound     the largest set of aligned bytes alive at one step of that schedule
  in place        the default (--optimize balanced): also layers in place by bands of rows
  ram             --optimize ram: also lighter-scratch kernels at the peak
  patches         --patch auto (within 15% extra MACs), with its grid, split layer and extra MACs
  best            the least of the above: RAM total
  TFLM act        TFLite Micro's activation arena (tflite-micro interpreter, print_allocations)

and the caller-held layout's RAM total (arena + input + output) for the default and patches.
Prints a table and writes JSON.

    .venv/bin/python benchmarks/memory_report.py [--models DIR] [--json benchmarks/results/memory.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from compile_report import MODELS   # the same models, beside this script
from tinyml.compiler import compile_model
from tinyml.references import tflm_arena_bytes


def _code(path: Path, io: str, **options):
    return compile_model(path, target="cortex-m4", io=io, **options).code


def measure(path: Path) -> dict:
    flat = _code(path, "arena", optimize="speed", patch="off")
    balanced = _code(path, "arena", patch="off")
    ram = _code(path, "arena", optimize="ram", patch="off")
    patched = _code(path, "arena", patch="auto")
    stage = patched.layout.decisions.stage
    io_bytes = sum(t.nbytes for t in (*flat.inputs, *flat.outputs))
    caller = _code(path, "caller", patch="off")
    caller_patched = _code(path, "caller", patch="auto")
    macs = sum(layer.macs for layer in flat.layers)
    row = {
        "model": path.name,
        "layer_by_layer_bytes": flat.plan.size,
        "lower_bound_bytes": flat.plan.lower_bound,
        "in_place_bytes": balanced.plan.size,
        "ram_mode_bytes": ram.plan.size,
        "patch_bytes": patched.plan.size,
        "patch_grid": list(stage.grid) if stage else None,
        "patch_split_layer": len(stage.nodes) - 1 if stage else None,
        "extra_macs": stage.extra_macs if stage else 0,
        "extra_macs_percent": round(100 * stage.extra_macs / macs, 2) if stage else 0.0,
        "ram_total_bytes": min(flat.plan.size, balanced.plan.size, ram.plan.size, patched.plan.size),
        "caller_io_ram_total_bytes": caller.plan.size + io_bytes,
        "caller_io_patch_ram_total_bytes": caller_patched.plan.size + io_bytes,
        "every_plan_at_its_bound": all(c.plan.size == c.plan.lower_bound
                                       for c in (flat, balanced, ram, patched, caller, caller_patched)),
        "tflm_activation_bytes": None,
    }
    if path.suffix == ".tflite":
        row["tflm_activation_bytes"] = tflm_arena_bytes(path).get("head")
    return row


def main() -> None:
    default_models = Path(__file__).resolve().parents[2] / "shared" / "models"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=default_models)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/memory.json"))
    args = parser.parse_args()
    rows = [measure(args.models / rel) for rel in MODELS if (args.models / rel).exists()]
    cols = [("model", "model", 30), ("layer by layer", "layer_by_layer_bytes", 14),
            ("lower bd", "lower_bound_bytes", 9), ("in place", "in_place_bytes", 9),
            ("ram", "ram_mode_bytes", 9), ("patches", "patch_bytes", 9),
            ("grid@layer", None, 10), ("extra MACs", "extra_macs_percent", 10),
            ("RAM total", "ram_total_bytes", 9), ("TFLM act", "tflm_activation_bytes", 9),
            ("vs TFLM", None, 7), ("caller I/O", "caller_io_ram_total_bytes", 10),
            ("+patches", "caller_io_patch_ram_total_bytes", 9)]
    print("bytes; I/O in the arena unless 'caller I/O' (arena + input + output); Cortex-M4 kernels")
    print("  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, _, w) in enumerate(cols)))
    for r in rows:
        cells = []
        for i, (h, key, w) in enumerate(cols):
            if h == "grid@layer":
                v = f"{r['patch_grid'][0]}x{r['patch_grid'][1]}@{r['patch_split_layer']}" if r["patch_grid"] else "-"
            elif h == "vs TFLM":
                t = r["tflm_activation_bytes"]
                v = f"{r['ram_total_bytes'] / t:.2f}x" if t else "-"
            elif h == "extra MACs":
                v = f"{r[key]:.1f}%"
            else:
                value = r[key]
                v = value if isinstance(value, str) else ("-" if value is None else f"{value:,}")
            cells.append(v.rjust(w) if i else v.ljust(w))
        print("  ".join(cells))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
