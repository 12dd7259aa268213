"""Per shared MLPerf Tiny int8 model on an emulated board (mps2-an386, Cortex-M4F, in QEMU):
instructions per inference, MACs per instruction, firmware flash and SRAM. Prints a table
and writes JSON.

    .venv/bin/python benchmarks/firmware_report.py [--models DIR] [--board mps2-an386]
                                                    [--json benchmarks/results/firmware.json]

Needs arm-none-eabi-gcc and qemu-system-arm (./setup.sh installs them). Instructions are the
QEMU plugin's exact count for one inference on a fixed random input; MACs come from the
model's report.json. Flash = text + data of the eval firmware (weights, kernels, harness).
SRAM = static data (data + bss: arena, I/O buffers, the protocol's buffers) + peak stack;
the arena is shown apart, and is part of bss. A model the compiler cannot compile yet is
listed as skipped with its reason.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from tinyml.compiler import compile_model, write
from tinyml.errors import TinymlError
from tinyml.harness.model_dir import read_model_dir
from tinyml.harness.qemu import run_on_board

MODELS = {
    "kws": "mlperf_tiny/kws/kws_ref_model.tflite",
    "vww": "mlperf_tiny/vww/vww_96_int8.tflite",
    "ic": "mlperf_tiny/ic/pretrainedResnet_quant.tflite",
    "ad": "mlperf_tiny/ad/ad01_int8.tflite",
}


def measure(name: str, model: Path, board: str, work: Path) -> dict:
    folder = work / f"{name}_tinyml"
    start = time.perf_counter()
    report = write(compile_model(model, name=name, target="cortex-m4"), folder, "cortex-m4")
    compile_s = time.perf_counter() - start
    spec = read_model_dir(folder).inputs[0]
    info = np.iinfo(spec.dtype)
    x = np.random.default_rng(0).integers(info.min, info.max + 1, size=spec.shape).astype(spec.dtype)
    _, stats = run_on_board(folder, board, [x], timeout=600)
    return {
        "model": name, "file": model.name, "board": board, "status": stats.status,
        "macs": report["macs"], "instructions": stats.instructions,
        "macs_per_instruction": stats.macs_per_instruction,
        "layers": len(stats.layer_instructions),
        "flash_bytes": stats.text + stats.data, "text": stats.text, "data": stats.data, "bss": stats.bss,
        "arena_bytes": stats.arena_bytes, "peak_stack_bytes": stats.peak_stack,
        "static_ram_bytes": stats.data + stats.bss,
        "sram_bytes": stats.data + stats.bss + stats.peak_stack,
        "compile_s": round(compile_s, 2), "emulator_s": round(stats.wall_seconds, 2),
    }


def main() -> None:
    default_models = Path(__file__).resolve().parents[2] / "shared" / "models"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=default_models)
    parser.add_argument("--board", default="mps2-an386")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/firmware.json"))
    args = parser.parse_args()
    rows, skipped = [], []
    with tempfile.TemporaryDirectory(prefix="tinyml-fw-bench-") as tmp:
        for name, rel in MODELS.items():
            path = args.models / rel
            if not path.exists():
                skipped.append({"model": name, "reason": f"{path} not present"})
                continue
            try:
                rows.append(measure(name, path, args.board, Path(tmp)))
            except TinymlError as exc:
                skipped.append({"model": name, "reason": str(exc)[:200]})
    header = (f"{'model':<5} {'instructions':>13} {'MACs':>12} {'MACs/instr':>10} {'flash B':>9} "
              f"{'arena B':>9} {'stack B':>8} {'static B':>9} {'SRAM B':>9}")
    print(f"board {args.board}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['model']:<5} {r['instructions']:>13,} {r['macs']:>12,} {r['macs_per_instruction']:>10.3f} "
              f"{r['flash_bytes']:>9,} {r['arena_bytes']:>9,} {r['peak_stack_bytes']:>8,} "
              f"{r['static_ram_bytes']:>9,} {r['sram_bytes']:>9,}")
    for s in skipped:
        print(f"{s['model']:<5} skipped: {s['reason']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"board": args.board, "models": rows, "skipped": skipped}, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
