"""Per shared float32 model on an emulated Cortex-M4F (QEMU mps2-an386): instructions per
inference with the portable float kernels ("before") and with the kernel variants chosen for
the core ("after", the FPU variants of tinyml/kernels), per model and per layer, beside TFLite
Micro's reference float kernels when their counts are given. Prints tables and writes JSON.

    .venv/bin/python benchmarks/float_report.py [--models DIR] [--board mps2-an386]
        [--tflm-results DIR] [--json benchmarks/results/float.json]

"before" is the library compiled for cortex-m3 (no FPU feature: every layer takes its portable
kernel), "after" the library compiled for the board's core; both are built with the board's
flags (-mfpu, -O2, GNU C: multiply-adds contract to VFMA in both). Instructions are the QEMU
plugin's exact count for one inference on a fixed input, np.random.default_rng(0).uniform(-1,
1); the outputs of both runs must be equal bit for bit (the variants keep each sum's order).
--tflm-results: a folder of <model>_ref.json files written by shared/tools/tflm-side's
run_qemu.py for TFLM reference-kernel firmware on the same input (that tool's gen_model.py
draws integer inputs; for float models it must draw this script's input); without it the
TFLM column shows the counts recorded below (RECORDED_TFLM_REFERENCE). Needs
arm-none-eabi-gcc and qemu-system-arm.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from tinyml.compiler import compile_model, write
from tinyml.errors import TinymlError
from tinyml.harness.model_dir import read_model_dir
from tinyml.harness.qemu import run_on_board
from tinyml.targets.boards import get_board

MODELS = {
    "vww": "mlperf_tiny/vww/vww_96_float.tflite",
    "ic": "mlperf_tiny/ic/pretrainedResnet.tflite",
    "ad": "mlperf_tiny/ad/ad01_fp32.tflite",
}
#: a core without the FPU feature, so every float layer takes its portable kernel
PORTABLE_TARGET = "cortex-m3"
#: TFLM reference float kernels, instructions of one Invoke on this script's input, measured
#: with shared/tools/tflm-side (tflite-micro 90b983c2, release, cortex-m4+fp, the same QEMU
#: plugin) with its input drawn as fixed_input's; used when --tflm-results is not given
RECORDED_TFLM_REFERENCE = {"vww": 86_299_664, "ic": 99_931_156, "ad": 1_360_213}


def fixed_input(folder: Path) -> np.ndarray:
    spec = read_model_dir(folder).inputs[0]
    return np.random.default_rng(0).uniform(-1.0, 1.0, size=spec.shape).astype(spec.dtype)


def run_build(name: str, model: Path, target: str, board: str, work: Path) -> dict:
    folder = work / f"{name}_{target}"
    report = write(compile_model(model, name=name, target=target), folder, target)
    outputs, stats = run_on_board(folder, board, [fixed_input(folder)], timeout=900)
    if stats.status != 0:
        raise TinymlError(f"{name} ({target}) exited with status {stats.status}")
    layers = [{"name": l["name"], "op": l["op"], "kernel": l["kernel"], "macs": l["macs"],
               "instructions": n}
              for l, n in zip(report["layers"], stats.layer_instructions)]
    return {"instructions": stats.instructions, "macs": report["macs"], "layers": layers,
            "flash_bytes": stats.text + stats.data, "outputs": outputs}


def tflm_counts(results: Path | None, name: str) -> dict | None:
    """TFLM reference kernels: the second Invoke's count (the first is the warm-up)."""
    path = results / f"{name}_ref.json" if results else None
    if path is None:
        recorded = RECORDED_TFLM_REFERENCE.get(name)
        return {"instructions": recorded, "source": "recorded"} if recorded else None
    if not path.is_file():
        return None
    doc = json.loads(path.read_text())
    if doc.get("exit_status") != 0 or len(doc.get("invoke_instructions", ())) != 2:
        return None
    return {"instructions": doc["invoke_instructions"][1], "text": doc["text"],
            "max_abs_diff_vs_tflm_python": doc.get("max_abs_diff_vs_tflm_python")}


def measure(name: str, model: Path, board: str, work: Path, tflm_results: Path | None) -> dict:
    core = get_board(board).core.name
    before = run_build(name, model, PORTABLE_TARGET, board, work)
    after = run_build(name, model, core, board, work)
    same = all(np.array_equal(a, b) for a, b in zip(before.pop("outputs"), after.pop("outputs")))
    layers = [{"index": i, "name": b["name"], "op": b["op"], "macs": b["macs"],
               "kernel_before": b["kernel"], "kernel_after": a["kernel"],
               "instructions_before": b["instructions"], "instructions_after": a["instructions"]}
              for i, (b, a) in enumerate(zip(before["layers"], after["layers"]))]
    return {"model": name, "file": model.name, "board": board, "core": core,
            "macs": after["macs"], "instructions_before": before["instructions"],
            "instructions_after": after["instructions"],
            "speedup": before["instructions"] / after["instructions"],
            "macs_per_instruction_after": after["macs"] / after["instructions"],
            "flash_bytes_before": before["flash_bytes"], "flash_bytes_after": after["flash_bytes"],
            "outputs_bit_identical": same, "tflm_reference": tflm_counts(tflm_results, name),
            "layers": layers}


def print_tables(rows: list[dict], board: str) -> None:
    print(f"board {board}: instructions per inference, float32")
    header = (f"{'model':<5} {'portable':>13} {'FPU variants':>13} {'speedup':>8} "
              f"{'MACs/instr':>10} {'TFLM ref':>13} {'bit-identical':>13}")
    print(header)
    print("-" * len(header))
    for r in rows:
        tflm = r["tflm_reference"]
        print(f"{r['model']:<5} {r['instructions_before']:>13,} {r['instructions_after']:>13,} "
              f"{r['speedup']:>7.2f}x {r['macs_per_instruction_after']:>10.3f} "
              f"{format(tflm['instructions'], ',') if tflm else 'not measured':>13} "
              f"{str(r['outputs_bit_identical']):>13}")
    for r in rows:
        print(f"\n{r['model']}: per layer")
        print(f"{'#':>3} {'op':<16} {'MACs':>10} {'portable':>12} {'after':>12} {'x':>6}  kernel")
        for l in r["layers"]:
            ratio = l["instructions_before"] / max(l["instructions_after"], 1)
            print(f"{l['index']:>3} {l['op']:<16} {l['macs']:>10,} {l['instructions_before']:>12,} "
                  f"{l['instructions_after']:>12,} {ratio:>5.2f}x  {l['kernel_after']}")


def main() -> None:
    default_models = Path(__file__).resolve().parents[2] / "shared" / "models"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=default_models)
    parser.add_argument("--board", default="mps2-an386")
    parser.add_argument("--tflm-results", type=Path, default=None)
    parser.add_argument("--only", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/float.json"))
    args = parser.parse_args()
    rows, skipped = [], []
    with tempfile.TemporaryDirectory(prefix="tinyml-float-bench-") as tmp:
        for name in args.only:
            path = args.models / MODELS[name]
            if not path.exists():
                skipped.append({"model": name, "reason": f"{path} not present"})
                continue
            try:
                rows.append(measure(name, path, args.board, Path(tmp), args.tflm_results))
            except TinymlError as exc:
                skipped.append({"model": name, "reason": str(exc)[:200]})
    print_tables(rows, args.board)
    for s in skipped:
        print(f"{s['model']:<5} skipped: {s['reason']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"board": args.board, "models": rows, "skipped": skipped},
                                    indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
