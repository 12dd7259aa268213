"""On-device training: memory of the training step per update scheme, and adaptation with
quantization-aware scaling on and off.

Memory (no emulator): for each MLPerf Tiny int8 model, compiled with --train full, last:1,
last:2 and sparse (the subset tinyml chooses under 256 KB, tinyml/train/select.py): bytes of
the state (integer copies and float masters of what is updated), of the train arena (the
inference arena's bytes reused for gradients, plus the forward tensors the backward reads)
and RAM in all (train arena + state + input and output buffers + 2 KB of stack, estimated),
beside the inference's RAM.

Adaptation (QEMU, mps2-an386; --no-adapt skips it): examples/adapt_digits.py with QAS on and
off: the digits CNN learning inverted digits on the device against float fine-tuning of the
same parameters on the host; and the instructions of one VWW training step.

    .venv/bin/python benchmarks/train_report.py [--models DIR] [--json benchmarks/results/train.json]
        [--no-adapt]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from tinyml.codegen.report import build_report
from tinyml.compiler import compile_model, write
from tinyml.targets.budget import needs
from tinyml.train.spec import parse

MODELS = {
    "kws": "mlperf_tiny/kws/kws_ref_model.tflite",
    "vww": "mlperf_tiny/vww/vww_96_int8.tflite",
    "ic": "mlperf_tiny/ic/pretrainedResnet_quant.tflite",
    "ad": "mlperf_tiny/ad/ad01_int8.tflite",
}
SCHEMES = ("full", "last:1", "last:2", "sparse")
SRAM = 256 * 1024
HERE = Path(__file__).resolve().parent


def memory_rows(name: str, model: Path) -> list[dict]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inference = build_report(compile_model(model, target="cortex-m4").code)
        rows = []
        for scheme in SCHEMES:
            report = build_report(compile_model(model, target="cortex-m4", train=parse(scheme),
                                                train_sram=SRAM).code)
            t = report["train"]
            rows.append({"model": name, "scheme": scheme,
                         "updated_tensors": len(t["updated"]),
                         "updated_params": sum(u["params"] for u in t["updated"]),
                         "state_bytes": t["state_bytes"], "train_arena_bytes": t["train_arena_bytes"],
                         "saved_bytes": t["saved_bytes"], "gradient_bytes": t["gradient_bytes"],
                         "ram_bytes": needs(report)[1].total,
                         "inference_ram_bytes": needs(inference)[1].total})
    return rows


def adaptation(qas: bool, work: Path) -> dict:
    out = work / ("qas" if qas else "no_qas")
    cmd = [sys.executable, str(HERE.parent / "examples" / "adapt_digits.py"), "--out", str(out)]
    subprocess.run(cmd + ([] if qas else ["--no-qas"]), check=True, capture_output=True)
    return json.loads((out / "results.json").read_text())


def vww_step(models: Path, work: Path) -> dict:
    """Instructions of one sparse training step of VWW on the M4, and of one inference."""
    from tinyml.harness.firmware import build_firmware
    from tinyml.harness.qemu import QemuSession
    compiled = compile_model(models / MODELS["vww"], target="cortex-m4", train=parse("sparse"),
                             train_sram=SRAM)
    write(compiled, work / "vww", "cortex-m4", SRAM)
    x = np.random.default_rng(0).integers(-128, 128, compiled.graph.tensor(
        compiled.graph.inputs[0]).shape).astype(np.int8)
    with QemuSession(build_firmware(work / "vww", "mps2-an386", sram=SRAM), timeout=60) as s:
        _, infer = s.device.run([x])
        step = s.device.train(1, 0.01)
    return {"train_step_instructions": step.count, "inference_instructions": infer.count,
            "peak_stack_bytes": step.peak_stack}


def report_text(rows: list[dict], adapt: dict | None, vww: dict | None) -> str:
    lines = ["Training memory per update scheme (bytes; RAM = train arena + state + I/O + ~2 KB stack)",
             f"{'model':5} {'scheme':7} {'tensors':>7} {'params':>8} {'state':>10} {'train arena':>12} "
             f"{'(saved':>8} {'grads)':>8} {'RAM':>10} {'inference RAM':>14} {'<= 256 KB':>9}"]
    for r in rows:
        lines.append(f"{r['model']:5} {r['scheme']:7} {r['updated_tensors']:7} "
                     f"{r['updated_params']:8,} {r['state_bytes']:10,} "
                     f"{r['train_arena_bytes']:12,} {r['saved_bytes']:8,} {r['gradient_bytes']:8,} "
                     f"{r['ram_bytes']:10,} {r['inference_ram_bytes']:14,} "
                     f"{'yes' if r['ram_bytes'] <= SRAM else 'no':>9}")
    if adapt:
        lines += ["", "Adaptation to inverted digits (examples/adapt_digits.py, mps2-an386): test accuracy",
                  f"{'QAS':4} {'float before':>12} {'float after':>11} {'device before':>13} "
                  f"{'device after':>12} {'device/float gain':>17}"]
        for label, r in adapt.items():
            lines.append(f"{label:4} {r['float']['before']:12.3f} {r['float']['after']:11.3f} "
                         f"{r['device']['before']:13.3f} {r['device']['after']:12.3f} "
                         f"{r['gain_ratio']:17.2f}")
    if vww:
        lines += ["", f"VWW sparse training step on mps2-an386: {vww['train_step_instructions']:,} "
                  f"instructions (inference {vww['inference_instructions']:,}), peak stack "
                  f"{vww['peak_stack_bytes']:,} B"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=HERE.parents[1] / "shared" / "models")
    parser.add_argument("--json", type=Path, default=HERE / "results" / "train.json")
    parser.add_argument("--no-adapt", action="store_true")
    args = parser.parse_args()
    rows = [row for name, rel in MODELS.items() for row in memory_rows(name, args.models / rel)]
    adapt = vww = None
    if not args.no_adapt:
        with tempfile.TemporaryDirectory() as tmp:
            adapt = {"on": adaptation(True, Path(tmp)), "off": adaptation(False, Path(tmp))}
            vww = vww_step(args.models, Path(tmp))
    print(report_text(rows, adapt, vww))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"memory": rows, "adaptation": adapt, "vww_step": vww},
                                    indent=1))


if __name__ == "__main__":
    main()
