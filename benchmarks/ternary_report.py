"""Ternary (1.58-bit) weights against int8, on the MLPerf Tiny float models quantized after
training (--dtype ternary, calibrated on random data: no labelled data here, so no accuracy
claim), on an emulated Cortex-M4 (mps2-an386, QEMU):

- divergence from the float model: over the same random inputs, the top-1 agreement with the
  float model's class (classifiers) and the relative RMS error of the dequantized outputs,
  for int8, ternary with the median scale (the default) and with the absmean scale;
- weight flash (report.json's flash_bytes: every constant the kernels read) and the bits per
  weight of the ternary layers;
- instructions per MAC of every layer, ternary build beside int8 build, with the kernels
  chosen (the QEMU plugin's exact count for one inference on default_rng(0) input).

    .venv/bin/python benchmarks/ternary_report.py [--models DIR] [--samples 16]
        [--json benchmarks/results/ternary.json] [--no-emulator]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import warnings
from pathlib import Path

import numpy as np

from tinyml.compiler import compile_model, write
from tinyml.harness.qemu import run_on_board
from tinyml.ref import run as ref_run

MODELS = {
    "vww": "mlperf_tiny/vww/vww_96_float.tflite",
    "ic": "mlperf_tiny/ic/pretrainedResnet.tflite",
    "ad": "mlperf_tiny/ad/ad01_fp32.tflite",
}
CLASSIFIERS = {"vww", "ic"}
BOARD = "mps2-an386"


def _quantize(x: np.ndarray, t) -> np.ndarray:
    scale, zp = t.quant.scale[0], t.quant.zero_point[0]
    return np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8)


def _dequantize(y: np.ndarray, t) -> np.ndarray:
    return (y.astype(np.float64) - t.quant.zero_point[0]) * t.quant.scale[0]


def divergence(float_graph, graph, samples: np.ndarray, classifier: bool) -> dict:
    """How far a quantized graph's outputs are from the float graph's on `samples`."""
    x_t, y_t = graph.tensor(graph.inputs[0]), graph.tensor(graph.outputs[0])
    want = np.stack([ref_run(float_graph, [s])[0] for s in samples]).astype(np.float64)
    got = np.stack([_dequantize(ref_run(graph, [_quantize(s, x_t)])[0], y_t) for s in samples])
    out = {"relative_rms_error": float(np.sqrt(np.mean((got - want) ** 2) / np.mean(want ** 2)))}
    if classifier:
        flat = lambda a: a.reshape(len(samples), -1)  # noqa: E731
        out["top1_agreement"] = float(np.mean(flat(got).argmax(1) == flat(want).argmax(1)))
    return out


def shape_class(layer: dict, graph) -> str:
    """pointwise, 3x3 conv, other conv, depthwise or FC: what a kernel's speed depends on."""
    if layer["op"] == "FullyConnected":
        return "fc"
    node = next(n for n in graph.nodes if n.name == layer["name"])
    kh, kw = graph.tensor(node.inputs[1]).shape[1:3]
    if layer["op"] == "DepthwiseConv2D":
        return f"depthwise {kh}x{kw}"
    return "pointwise" if (kh, kw) == (1, 1) else f"conv {kh}x{kw}"


def layers_side_by_side(name: str, builds: dict, work: Path) -> list[dict]:
    counts = {}
    for label, compiled in builds.items():
        folder = work / f"{name}_{label}"
        write(compiled, folder, "cortex-m4")
        spec = compiled.graph.tensor(compiled.graph.inputs[0])
        x = np.random.default_rng(0).integers(-128, 128, size=spec.shape).astype(np.int8)
        _, stats = run_on_board(folder, BOARD, [x], timeout=1200)
        counts[label] = stats
    rows = []
    int8, tern = counts["int8"], counts["ternary"]
    for i, info in enumerate(tern.layers):
        if info["op"] not in ("Conv2D", "DepthwiseConv2D", "FullyConnected"):
            continue
        macs = info["macs"]
        rows.append({
            "layer": i, "name": info["name"], "op": info["op"],
            "shape": shape_class(info, builds["ternary"].graph), "macs": macs,
            "weights": info.get("weights"), "ternary_kernel": info["kernel"],
            "int8_kernel": int8.layers[i]["kernel"],
            "ternary_instructions_per_mac": tern.layer_instructions[i] / macs,
            "int8_instructions_per_mac": int8.layer_instructions[i] / macs,
        })
    return rows


def measure(name: str, model: Path, samples: int, emulator: bool, work: Path) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        float_graph = compile_model(model).graph
        builds = {"int8": compile_model(model, target="cortex-m4", dtype="int8", calib="random"),
                  "ternary": compile_model(model, target="cortex-m4", dtype="ternary",
                                           calib="random", ternary_scale="median"),
                  "ternary_absmean": compile_model(model, target="cortex-m4", dtype="ternary",
                                                   calib="random", ternary_scale="absmean")}
    rng = np.random.default_rng(1)
    x = rng.standard_normal((samples, *float_graph.tensor(float_graph.inputs[0]).shape))
    x = x.astype(np.float32)
    from tinyml.codegen.report import build_report
    reports = {k: build_report(b.code, target="cortex-m4") for k, b in builds.items()}
    ternary_layers = [l for l in reports["ternary"]["layers"] if l["weights"] == "ternary"]
    row = {
        "model": name, "file": model.name,
        "divergence": {k: divergence(float_graph, b.graph, x, name in CLASSIFIERS)
                       for k, b in builds.items()},
        "flash_bytes": {k: r["flash_bytes"] for k, r in reports.items()},
        "ternary_layers": len(ternary_layers),
        "ternary_weight_bits": sorted({l["weight_bits"] for l in ternary_layers}),
    }
    if emulator:
        row["layers"] = layers_side_by_side(name, {k: builds[k] for k in ("int8", "ternary")},
                                            work)
    return row


def report_text(rows: list[dict]) -> str:
    lines = ["Divergence from the float model (random inputs; calibration on random data)",
             f"{'model':6} {'build':15} {'top-1 agree':>11} {'rel. RMS err':>12} {'weight flash B':>15}"]
    for r in rows:
        for build, d in r["divergence"].items():
            agree = f"{d['top1_agreement']:.2f}" if "top1_agreement" in d else "-"
            lines.append(f"{r['model']:6} {build:15} {agree:>11} {d['relative_rms_error']:12.3f} "
                         f"{r['flash_bytes'][build]:15,}")
    for r in rows:
        if "layers" not in r:
            continue
        lines += ["", f"{r['model']}: instructions per MAC, mps2-an386 (Cortex-M4)",
                  f"{'#':>3} {'shape':13} {'MACs':>10} {'int8':>6} {'ternary':>8}  kernels (int8 / ternary)"]
        for l in r["layers"]:
            lines.append(f"{l['layer']:3} {l['shape']:13} {l['macs']:10,} "
                         f"{l['int8_instructions_per_mac']:6.2f} {l['ternary_instructions_per_mac']:8.2f}"
                         f"  {l['int8_kernel']} / {l['ternary_kernel']}"
                         + ("" if l["weights"] == "ternary" else "  (int8 weights)"))
    return "\n".join(lines)


def main() -> None:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=here.parents[1] / "shared" / "models")
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--json", type=Path, default=here / "results" / "ternary.json")
    parser.add_argument("--no-emulator", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, rel in MODELS.items():
            rows.append(measure(name, args.models / rel, args.samples, not args.no_emulator,
                                Path(tmp)))
    print(report_text(rows))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
