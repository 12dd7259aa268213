"""`tinyml validate`: the C model on the target against the original model, as STM32Cube.AI's
`validate` does.

Every sample of the data set runs on the device (QEMU via --board, boards via --port; --jobs
emulators at once), through the original model in its own framework (onnxruntime for ONNX,
TFLite Micro for .tflite, TensorFlow for Keras and SavedModels) and through tinyml's own
reference of that original (the float graph, or the int8 one of a quantized .tflite, run by
tinyml's numpy executor). Rows, per model output, with the device's outputs dequantized:

- `original`: C model on the target vs the original in its framework;
- `cross`: C model on the target vs tinyml's reference of the original;
- `reference`: tinyml's reference vs the original (where the two rows differ, this is why).

Metrics: acc (top-1 against labels y, else against the compared model's), rmse, mae, l2r,
cos, nse; then the duration per inference (the device's counter: QEMU's instructions or DWT
cycles) and MACs per count.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyml.harness.devices import where_to_run
from tinyml.harness.errors import InputError
from tinyml.harness.evaluate import (error_metrics, load_dataset, run_float_model,
                                     run_on_devices)
from tinyml.harness.host import read_report
from tinyml.numerics import dequantize, quantize

ROWS = ("original", "cross", "reference")


@dataclass
class ValidateResult:
    model: str
    target: str
    original: str
    runtime: str                  # the original's framework
    samples: int
    rows: list[dict]              # {"row", "output", metrics...}
    duration: dict                # counter, median, macs per count
    failed_status: int
    wall_seconds: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def run_reference(original: Path, floats: list[np.ndarray]) -> list[np.ndarray]:
    """tinyml's own reference of the original model: its graph (after tinyml's passes) run by
    the numpy executor; a quantized graph gets its inputs quantized and its outputs
    dequantized, as the framework's."""
    from tinyml.compiler import compile_model
    from tinyml.ref.executor import run
    graph = compile_model(original).graph
    count = floats[0].shape[0]
    specs = [graph.tensor(t) for t in graph.inputs]
    outs = [graph.tensor(t) for t in graph.outputs]
    per = []
    for k in range(count):
        xs = []
        for f, t in zip(floats, specs):
            x = f[k].reshape(t.shape)
            if t.dtype != "float32":
                x = quantize(x, t.quant.scale[0], t.quant.zero_point[0], t.dtype)
            xs.append(x)
        ys = run(graph, xs)
        per.append([dequantize(y, t.quant.scale[0], t.quant.zero_point[0])
                    if t.dtype != "float32" else y.astype(np.float32) for y, t in zip(ys, outs)])
    return [np.stack([p[j] for p in per]) for j in range(len(outs))]


def validate(model_dir: str | Path, dataset: str | Path, original: str | Path, *,
             board: str | None = None, port: str | list[str] | None = None,
             baud: int = 115200, limit: int | None = None, timeout: float = 2.0,
             jobs: int | None = None, progress: bool | None = None) -> ValidateResult:
    model_dir, original = Path(model_dir), Path(original)
    ports = where_to_run(board, port)
    if not original.exists():
        raise InputError(f"--original {original}: no such file")
    report = read_report(model_dir)
    data = load_dataset(dataset, report["inputs"], limit)
    count = data.inputs[0].shape[0]
    specs = report["outputs"]
    like = [np.empty((count, *s["shape"]), np.dtype(s["dtype"])) for s in specs]
    start = time.monotonic()
    run = run_on_devices(model_dir, data, like, board, ports, baud, timeout, jobs, progress)
    wall = time.monotonic() - start
    device = [dequantize(d, s["scale"], s["zero_point"]) if s.get("scale") is not None
              and np.dtype(s["dtype"]).kind in "iu" else d.astype(np.float32)
              for d, s in zip(run.outputs, specs)]
    framework, runtime = run_float_model(original, data.floats, len(specs))
    reference = run_reference(original, data.floats)
    if len(framework) != len(device) or len(reference) != len(device):
        raise InputError(f"--original {original}: {len(framework)} outputs, the compiled model "
                         f"has {len(device)}")
    rows = []
    for name, got, want in (("original", device, framework), ("cross", device, reference),
                            ("reference", reference, framework)):
        for i, (g, w) in enumerate(zip(got, want)):
            if g[0].size != w[0].size:
                raise InputError(f"--original {original}: output {i} has {w[0].size} values, "
                                 f"the compiled model's {g[0].size}")
            rows.append({"row": name, "output": i, **error_metrics(g, w, data.labels)})
    median = float(np.median(run.counts)) if run.counter != "none" else None
    duration = {"counter": run.counter, "median": median,
                "macs": report["macs"],
                "macs_per_count": report["macs"] / median if median else None}
    return ValidateResult(report["name"], run.target, str(original), runtime, count, rows,
                          duration, sum(1 for s in run.statuses if s), wall)


def format_markdown(r: ValidateResult) -> str:
    """The rows as a markdown table, then the duration."""
    lines = [f"{r.model} on {r.target} against {r.original} ({r.runtime}), {r.samples} samples",
             "", "| row | output | acc | rmse | mae | l2r | cos | nse |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    cell = lambda v, p: "-" if v is None else f"{v:.{p}f}"  # noqa: E731
    for row in r.rows:
        lines.append(f"| {row['row']} | {row['output']} | {cell(row['acc'], 4)} | "
                     f"{cell(row['rmse'], 6)} | {cell(row['mae'], 6)} | {cell(row['l2r'], 6)} | "
                     f"{cell(row['cos'], 6)} | {cell(row['nse'], 6)} |")
    d = r.duration
    lines.append("")
    if d["median"] is None:
        lines.append("duration: the device has no counter; not measured")
    else:
        lines.append(f"duration: {d['median']:,.0f} {d['counter']} per inference (median), "
                     f"{d['macs']:,} MACs, {d['macs_per_count']:.3f} MACs per "
                     f"{d['counter'].rstrip('s')}")
    if r.failed_status:
        lines.append(f"{r.failed_status} inferences returned an error status")
    return "\n".join(lines)
