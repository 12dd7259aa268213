"""`tinyml train`: on-device training of a model compiled with --train, over the serial
protocol (QEMU or a real board): each labelled sample is uploaded as input 0 and trained on
with the TRAIN command; accuracy is measured on the device before and after, on --eval's
samples or else on the training ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyml.errors import UsageError
from tinyml.harness.devices import where_to_run
from tinyml.harness.errors import HarnessError
from tinyml.harness.evaluate import load_dataset, open_devices, progress_bar
from tinyml.harness.host import read_report
from tinyml.harness.model_dir import read_model_dir


@dataclass
class TrainRun:
    name: str
    target: str
    samples: int
    epochs: int
    lr: float
    eval_samples: int
    eval_on: str                      # the dataset accuracy is measured on
    accuracy_before: float
    accuracy_after: float
    epoch_losses: list[float]         # mean loss per epoch
    counter: str                      # what step_count is: instructions | cycles | none
    step_count: float                 # per training step, mean
    peak_stack: int
    state: bytes = field(repr=False, default=b"")

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d.pop("state")
        return d


def _accuracy(devices, inputs: np.ndarray, labels: np.ndarray) -> float:
    def hit(device, n: int) -> bool:
        outputs, result = device.run([inputs[n]])
        if result.status != 0:
            raise HarnessError(f"inference failed on the device with status {result.status}")
        return int(np.argmax(outputs[0].reshape(-1)) == labels[n])
    return sum(devices.map(len(labels), hit)) / len(labels)


def train(model_dir: str | Path, dataset: str | Path, *, board: str | None = None,
          port: str | list[str] | None = None, baud: int = 115200, epochs: int = 1,
          lr: float = 0.01, eval_set: str | Path | None = None, timeout: float = 2.0,
          seed: int = 0, progress: bool | None = None, jobs: int | None = None) -> TrainRun:
    """Training runs on the first device (SGD is sequential); with `jobs` emulators or
    several ports, the others share the accuracy measurements, the trained state copied to
    them."""
    ports = where_to_run(board, port)
    if epochs < 1:
        raise UsageError("--epochs must be at least 1")
    if not np.isfinite(lr) or lr <= 0:
        raise UsageError("--lr must be a positive number")
    model_dir = Path(model_dir)
    report = read_report(model_dir)
    if not report.get("train"):
        raise UsageError(f"{model_dir} was compiled without --train: compile it with "
                         "--train full, last:K or sparse[:CONFIG]")
    classes = int(report["train"]["num_classes"])
    data = load_dataset(dataset, report["inputs"])
    if data.labels is None:
        raise UsageError(f"--dataset {dataset}: training needs labels y")
    test = load_dataset(eval_set, report["inputs"]) if eval_set else data
    if test.labels is None:
        raise UsageError(f"--eval {eval_set}: accuracy needs labels y")
    for name, labels in (("--dataset", data.labels), ("--eval", test.labels)):
        if labels.min() < 0 or labels.max() >= classes:
            raise UsageError(f"{name}: labels must lie in [0, {classes}) (the model's classes)")
    state_bytes = read_model_dir(model_dir).train.state_size
    with open_devices(model_dir, board, ports, baud, timeout, jobs) as devices:
        target = devices.target
        for d in devices.devices:
            d.train_reset()
        before = _accuracy(devices, test.inputs[0], test.labels)
        device = devices.devices[0]
        count = len(data.labels)
        bar = progress_bar(count * epochs, "step", progress)
        rng = np.random.default_rng(seed)
        losses, counts, peak, counter = [], [], 0, "none"
        for _ in range(epochs):
            epoch = []
            for n in rng.permutation(count):
                device.load_input(0, np.ascontiguousarray(data.inputs[0][n]).tobytes())
                r = device.train(int(data.labels[n]), lr)
                if r.status != 0:
                    raise HarnessError(f"the training step failed on the device with status {r.status}")
                epoch.append(r.loss)
                counts.append(r.count)
                peak, counter = max(peak, r.peak_stack), r.counter
                bar.update()
                bar.set_postfix(loss=f"{np.mean(epoch):.3f}")
            losses.append(float(np.mean(epoch)))
        bar.close()
        state = device.read_state(state_bytes)
        for other in devices.devices[1:]:
            other.write_state(state)
        after = _accuracy(devices, test.inputs[0], test.labels)
    return TrainRun(report["name"], target, count, epochs, lr, len(test.labels),
                    str(eval_set or dataset), before, after, losses, counter,
                    float(np.mean(counts)), peak, state)


def format_run(run: TrainRun) -> str:
    unit = {"instructions": "instructions", "cycles": "cycles"}.get(run.counter)
    step = f"; {run.step_count:,.0f} {unit} per step" if unit else ""
    return (f"{run.name} on {run.target}: {run.epochs} epoch(s) of {run.samples} samples, "
            f"lr {run.lr:g}; loss {' -> '.join(f'{l:.3f}' for l in run.epoch_losses)}{step}, "
            f"peak stack {run.peak_stack:,} B\n"
            f"accuracy on {run.eval_on} ({run.eval_samples} samples): "
            f"{run.accuracy_before:.3f} before, {run.accuracy_after:.3f} after")
