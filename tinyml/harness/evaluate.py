"""`tinyml eval`: stream a data set through the device over the serial protocol and check it.

Every sample goes to the device (QEMU via --board, or a board via --port) and through the
host build of the same C (tinyml.harness.host.run_host). Reported, STM32Cube.AI
`validate` style:
- bit-exact rate: device outputs identical to the host's, sample by sample (the pass
  criterion for integer outputs; float32 outputs pass within FLOAT_TOLERANCE);
- top-1 accuracy of device, host (and float model) when the data set has labels `y`;
- with a float model: acc, rmse, mae, l2r, cos of the dequantized device outputs against
  the float model's (onnxruntime for .onnx, TFLite Micro for .tflite, else tinyml's own
  float reference executor);
- latency: the device's counter per inference (cycles, or QEMU's exact instruction
  count): min, median, max.
Only what was compared is reported; `passed` needs every sample compared and matching.
With --port the device must first show (INFO) that it runs this folder's model: its name,
its tensors' dtypes and shapes, and a build id this folder's sources give on some board.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyml.harness.errors import HarnessError, InputError
from tinyml.harness.host import read_report, run_host
from tinyml.harness.board_run import board_for_run
from tinyml.harness.devices import Devices, job_count, where_to_run
from tinyml.harness.inputs import match_inputs, model_batch, read_arrays
from tinyml.numerics import dequantize, quantize


@dataclass
class Dataset:
    inputs: list[np.ndarray]          # per model input, [N, *shape] in the model's dtype
    floats: list[np.ndarray] | None   # the same as float32, for a float model
    labels: np.ndarray | None
    note: str                         # how inputs were brought to the model's dtype


def load_dataset(path: str | Path, specs: list[dict], limit: int | None = None) -> Dataset:
    """The inputs by name (`x` for a one-input model), shaped and typed as `tinyml run`
    takes them (tinyml.harness.inputs), and optional labels `y`: class indices [N] or
    one-hot [N, C], one per sample."""
    what = f"--dataset {path}"
    arrays = read_arrays(path, "--dataset")
    if not isinstance(arrays, dict):
        raise InputError(f"{what}: expected an .npz (the inputs by name, or x, and optional labels y)")
    batch = model_batch(match_inputs(arrays, specs, what, extra=("y",)), specs, what)
    count = batch.count
    labels = arrays.get("y")
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim not in (1, 2) or len(labels) != count or labels.dtype.kind not in "iuf":
            raise InputError(f"{what}: labels y of shape {list(labels.shape)} for {count} samples "
                             f"(expected [{count}] class indices or [{count}, C] one-hot)")
        if labels.dtype.kind == "f" and not np.isfinite(labels).all():
            raise InputError(f"{what}: labels y hold NaN or infinite values")
        labels = labels.argmax(-1) if labels.ndim > 1 else labels.astype(np.int64)
    keep = slice(None) if limit is None else slice(0, limit)
    return Dataset([x[keep] for x in batch.inputs], [f[keep] for f in batch.floats],
                   None if labels is None else labels[keep], batch.note)


def run_float_model(path: str | Path, floats: list[np.ndarray], n_outputs: int
                    ) -> tuple[list[np.ndarray], str]:
    """The original model on float inputs, sample by sample; outputs [N, ...] as float32."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"--float-model {path}: no such file")
    count = floats[0].shape[0]
    if path.suffix == ".onnx":
        from tinyml.references import onnxruntime_run
        import onnx
        graph = onnx.load(str(path), load_external_data=False).graph
        inits = {i.name for i in graph.initializer}
        names = [i.name for i in graph.input if i.name not in inits]
        per = [onnxruntime_run(path, {n: f[k] for n, f in zip(names, floats)}) for k in range(count)]
        runtime = "onnxruntime"
    elif path.suffix == ".tflite":
        from tinyml.references import tflm_interpreter
        interp = tflm_interpreter(path)
        per = []
        for k in range(count):
            for i, f in enumerate(floats):
                d = interp.get_input_details(i)
                q = d["quantization_parameters"]
                x = f[k].reshape(tuple(d["shape"]))
                if len(q["scales"]):
                    x = quantize(x, q["scales"][0], q["zero_points"][0], np.dtype(d["dtype"]).name)
                interp.set_input(x.astype(d["dtype"]), i)
            interp.invoke()
            per.append([_dequant_tflm(interp, j) for j in range(n_outputs)])
        runtime = "TFLite Micro"
    else:   # Keras (.keras, .h5) or a SavedModel folder: TensorFlow itself
        per, runtime = _run_keras(path, floats), "TensorFlow"
    outs = [np.stack([np.asarray(p[j], dtype=np.float32) for p in per]) for j in range(len(per[0]))]
    return outs, runtime


def _run_keras(path: Path, floats: list[np.ndarray]) -> list[list[np.ndarray]]:
    """A Keras model run by TensorFlow, sample by sample, as the converter traced it (batch
    1); per sample its outputs."""
    from tinyml.frontends.keras import _import_tensorflow, keras_model
    tf = _import_tensorflow(str(path))
    model = keras_model(tf, path)
    per = []
    for k in range(floats[0].shape[0]):
        xs = [tf.constant(f[k][None] if f[k].ndim < len(t.shape) else f[k])
              for f, t in zip(floats, model.inputs)]
        out = model(xs if len(xs) > 1 else xs[0])
        out = list(out.values()) if isinstance(out, dict) else out
        per.append([np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])])
    return per


def _dequant_tflm(interp, j: int) -> np.ndarray:
    y, q = np.array(interp.get_output(j)), interp.get_output_details(j)["quantization_parameters"]
    return dequantize(y, q["scales"][0], q["zero_points"][0]) if len(q["scales"]) else y.astype(np.float32)


def error_metrics(device: np.ndarray, ref: np.ndarray, labels: np.ndarray | None) -> dict:
    """STM32Cube.AI's per-output metrics, over all samples' elements (acc: top-1 against
    the labels, else against the float model's own top-1)."""
    a, b = device.reshape(len(device), -1).astype(np.float64), ref.reshape(len(ref), -1).astype(np.float64)
    diff = a - b
    norm_b, norm_a = np.linalg.norm(b), np.linalg.norm(a)
    truth = labels if labels is not None else b.argmax(1)
    spread = float(np.sum((b - b.mean()) ** 2))
    return {"acc": float(np.mean(a.argmax(1) == truth)) if a.shape[1] > 1 else None,
            "rmse": float(np.sqrt(np.mean(diff ** 2))), "mae": float(np.mean(np.abs(diff))),
            "l2r": float(np.linalg.norm(diff) / norm_b) if norm_b else None,
            "cos": float(np.sum(a * b) / (norm_a * norm_b)) if norm_a and norm_b else None,
            # Nash-Sutcliffe efficiency: 1 - the squared error over the reference's variance
            "nse": 1.0 - float(np.sum(diff ** 2)) / spread if spread else None}


def _top1(outputs: list[np.ndarray], labels: np.ndarray) -> float:
    scores = outputs[0].reshape(len(labels), -1)
    return float(np.mean(scores.argmax(1) == labels))


# float32 outputs: the host and the device compile the same C with other compilers, libm
# (expf, tanhf) and FMA contraction, so they agree to rounding, not to the bit. Integer
# outputs must be bit-exact.
FLOAT_TOLERANCE = 1e-4
BIT_EXACT = "bit-exact"
WITHIN_TOLERANCE = (f"float32 within {FLOAT_TOLERANCE:g} x max(1, largest |host output|), "
                    "integers bit-exact")


def outputs_match(device: np.ndarray, host: np.ndarray) -> bool:
    """One sample's output on the device against the host's, by the criterion of its dtype."""
    if host.dtype.kind != "f":
        return device.tobytes() == host.tobytes()
    d, h = device.astype(np.float64), host.astype(np.float64)
    if not (np.isfinite(d).all() and np.isfinite(h).all()):
        return device.tobytes() == host.tobytes()
    scale = max(1.0, float(np.max(np.abs(h), initial=0.0)))
    return bool(np.max(np.abs(d - h), initial=0.0) <= FLOAT_TOLERANCE * scale)


@dataclass
class EvalResult:
    model: str
    target: str
    dataset: str
    samples: int
    inputs: str
    exact: int                   # samples whose outputs are bit-identical to the host's
    matched: int                 # samples that meet `criterion`
    first_mismatch: int | None   # the first that does not
    failed_status: int
    accuracy: dict | None
    latency: dict
    wall_per_sample: float
    criterion: str = BIT_EXACT
    float_model: dict | None = None
    device_outputs: list[np.ndarray] = field(default_factory=list, repr=False)

    @property
    def passed(self) -> bool:
        return self.matched == self.samples and not self.failed_status

    def to_dict(self) -> dict:
        return {"model": self.model, "target": self.target, "dataset": self.dataset,
                "samples": self.samples, "inputs": self.inputs,
                "bit_exact": {"compared": self.samples, "exact": self.exact,
                              "rate": self.exact / self.samples,
                              "reference": "host build of the same C (tinyml run)"},
                "match": {"criterion": self.criterion, "matched": self.matched,
                          "rate": self.matched / self.samples, "first_mismatch": self.first_mismatch},
                "failed_status": self.failed_status, "accuracy": self.accuracy,
                "float_model": self.float_model, "latency": self.latency,
                "wall_seconds_per_sample": self.wall_per_sample, "passed": self.passed}


def open_devices(model_dir: Path, board: str | None, ports: list[str] | None, baud: int,
                 timeout: float, jobs: int | None = None) -> Devices:
    """--board (`jobs` emulators of it, the firmware built once) or --port (one device per
    port, each checked to run this folder's model); where_to_run has checked which."""
    count = job_count(jobs, ports)
    if board:
        emulated = board_for_run(board, model_dir)   # before any build
        from tinyml.harness.firmware import build_firmware
        from tinyml.harness.qemu import QemuSession
        fw = build_firmware(model_dir, emulated)

        def open_one(_port):
            session = QemuSession(fw, timeout=timeout)
            return session, session.device, f"{emulated.name} (QEMU)"
    else:
        from tinyml.harness.protocol import Device

        def open_one(port):
            device = Device(port, baud=baud, timeout=timeout)
            try:
                check_device_model(device.info(), model_dir, port)
            except BaseException:
                device.close()
                raise
            return device, device, port
    return Devices(open_one, count, ports)


@dataclass
class DeviceRun:
    outputs: list[np.ndarray]     # per model output, [N, *shape]
    counts: list[int]             # per sample, the device's counter
    statuses: list[int]
    counter: str
    target: str
    wall_per_sample: float


def run_on_devices(model_dir: Path, data: Dataset, like: list[np.ndarray], board, ports, baud,
                   timeout, jobs, progress) -> DeviceRun:
    """Every sample of `data` through the devices (`like`: arrays of the outputs' form)."""
    count = data.inputs[0].shape[0]
    outs = [np.empty_like(h) for h in like]
    with open_devices(model_dir, board, ports, baud, timeout, jobs) as devices:
        bar = progress_bar(count, "sample", progress)
        start = time.monotonic()
        results = devices.map(count, lambda device, n: device.run([x[n] for x in data.inputs]),
                              bar.update)
        wall = (time.monotonic() - start) / count
        bar.close()
    for n, (got, _) in enumerate(results):
        for d, o in zip(outs, got):
            d[n] = o.reshape(d.shape[1:])
    return DeviceRun(outs, [r.count for _, r in results], [r.status for _, r in results],
                     results[-1][1].counter, devices.target, wall)


def progress_bar(total: int, unit: str, progress: bool | None):
    from tqdm import tqdm
    return tqdm(total=total, unit=unit, file=sys.stderr, leave=False,
                disable=not (sys.stderr.isatty() if progress is None else progress))


def evaluate(model_dir: str | Path, dataset: str | Path, *, board: str | None = None,
             port: str | list[str] | None = None, baud: int = 115200, limit: int | None = None,
             float_model: str | Path | None = None, timeout: float = 2.0,
             progress: bool | None = None, jobs: int | None = None) -> EvalResult:
    """`jobs` emulators (or one device per `port`) share the samples."""
    model_dir = Path(model_dir)
    ports = where_to_run(board, port)
    report = read_report(model_dir)
    data = load_dataset(dataset, report["inputs"], limit)
    count = data.inputs[0].shape[0]
    host = run_host(model_dir, data.inputs)
    run = run_on_devices(model_dir, data, host, board, ports, baud, timeout, jobs, progress)
    dev_outs, counts, statuses, counter, target, wall = (
        run.outputs, run.counts, run.statuses, run.counter, run.target, run.wall_per_sample)
    exact = [all(d[n].tobytes() == h[n].tobytes() for d, h in zip(dev_outs, host))
             and statuses[n] == 0 for n in range(count)]
    same = [all(outputs_match(d[n], h[n]) for d, h in zip(dev_outs, host)) and statuses[n] == 0
            for n in range(count)]
    accuracy = None
    if data.labels is not None:
        accuracy = {"device": _top1(dev_outs, data.labels), "host": _top1(host, data.labels),
                    "labels": "y", "samples": count}
    floats = any(h.dtype.kind == "f" for h in host)
    result = EvalResult(report["name"], target, str(dataset), count, data.note, sum(exact), sum(same),
                        next((n for n, ok in enumerate(same) if not ok), None),
                        sum(1 for s in statuses if s), accuracy, _latency(counter, counts), wall,
                        criterion=WITHIN_TOLERANCE if floats else BIT_EXACT, device_outputs=dev_outs)
    if float_model is not None:
        result.float_model = _float_section(float_model, data, dev_outs, report["outputs"], accuracy)
    return result


def check_device_model(info, model_dir: Path, where: str) -> None:
    """Refuse a device (its INFO) that runs another model, or another build of this one,
    than `model_dir`: the name, each tensor's dtype and shape, then the build id."""
    from tinyml.harness.firmware import build_ids, device_name
    from tinyml.harness.model_dir import read_model_dir

    model = read_model_dir(model_dir)
    flash = f"flash it with `tinyml flash {model_dir} --board <board>`"
    if info.name != device_name(model):
        raise HarnessError(f"{where} runs model {info.name!r}, not {device_name(model)!r} of {model_dir}; {flash}")
    for kind, theirs, ours in (("input", info.inputs, model.inputs), ("output", info.outputs, model.outputs)):
        if len(theirs) != len(ours):
            raise HarnessError(f"{where}: the device's {info.name} has {len(theirs)} {kind}s, "
                               f"{model_dir} has {len(ours)}; {flash}")
        for i, (t, o) in enumerate(zip(theirs, ours)):
            if t.dtype != o.dtype or t.shape != (o.shape or (1,)):
                raise HarnessError(f"{where}: {kind} {i} is {t.dtype} {list(t.shape)} on the device, "
                                   f"{o.dtype} {list(o.shape)} in {model_dir}; {flash}")
    if info.build_id not in build_ids(model):
        raise HarnessError(f"{where} runs another build of {info.name} (build id 0x{info.build_id:08X}, "
                           f"none of this folder's for any board); {flash}")


def _latency(counter: str, counts: list[int]) -> dict:
    if counter == "none":
        return {"counter": "none", "note": "the device has no counter; not measured"}
    return {"counter": counter, "min": int(np.min(counts)), "median": float(np.median(counts)),
            "max": int(np.max(counts))}


def _float_section(path, data: Dataset, dev_outs, out_specs, accuracy) -> dict:
    ref, runtime = run_float_model(path, data.floats, len(dev_outs))
    if len(ref) != len(dev_outs):
        raise InputError(f"--float-model {path}: {len(ref)} outputs, the compiled model has {len(dev_outs)}")
    metrics = []
    for i, (d, r, spec) in enumerate(zip(dev_outs, ref, out_specs)):
        if d[0].size != r[0].size:
            raise InputError(f"--float-model {path}: output {i} has {r[0].size} values, the device's {d[0].size}")
        deq = dequantize(d, spec["scale"], spec["zero_point"]) if spec.get("scale") is not None else d
        metrics.append({"output": i, **error_metrics(deq, r, data.labels)})
    section = {"path": str(path), "runtime": runtime, "metrics": metrics}
    if accuracy is not None:
        accuracy["float"] = _top1(ref, data.labels)
    return section


def format_table(r: EvalResult) -> str:
    """The human summary printed by `tinyml eval`."""
    rate = 100.0 * r.exact / r.samples
    lines = [f"{r.model} on {r.target}: {r.samples} samples of {r.dataset}",
             f"inputs     {r.inputs}",
             f"bit-exact  {r.exact} / {r.samples} samples identical to the host reference ({rate:.2f}%)"]
    if r.criterion != BIT_EXACT:
        lines.append(f"match      {r.matched} / {r.samples} samples: {r.criterion}")
    if r.failed_status:
        lines.append(f"status     {r.failed_status} inferences returned an error")
    if r.accuracy:
        acc = f"device {r.accuracy['device']:.4f}   host {r.accuracy['host']:.4f}"
        if "float" in r.accuracy:
            acc += f"   float {r.accuracy['float']:.4f}"
        lines.append(f"accuracy   {acc}   (top-1 vs labels y)")
    lat = r.latency
    if lat["counter"] == "none":
        lines.append("latency    not measured (the device has no counter)")
    else:
        lines.append(f"latency    {lat['counter']}: min {lat['min']:,}  median {lat['median']:,.0f}  "
                     f"max {lat['max']:,}")
    lines.append(f"wall       {1000 * r.wall_per_sample:.1f} ms per sample over the serial protocol")
    if r.float_model:
        fm = r.float_model
        lines += ["", f"device vs float model {fm['path']} ({fm['runtime']}):",
                  f"{'output':<8}{'acc':>8}{'rmse':>12}{'mae':>12}{'l2r':>12}{'cos':>10}"]
        fmt = lambda v, w, p: f"{'-':>{w}}" if v is None else f"{v:>{w}.{p}f}"  # noqa: E731
        for m in fm["metrics"]:
            lines.append(f"{m['output']:<8}{fmt(m['acc'], 8, 4)}{fmt(m['rmse'], 12, 6)}"
                         f"{fmt(m['mae'], 12, 6)}{fmt(m['l2r'], 12, 6)}{fmt(m['cos'], 10, 6)}")
    lines += ["", f"PASS: every output matches the host reference ({r.criterion})" if r.passed else
              f"FAIL: {r.samples - r.matched} of {r.samples} samples differ from the host reference "
              f"({r.criterion}; first: sample {r.first_mismatch})"]
    return "\n".join(lines)
