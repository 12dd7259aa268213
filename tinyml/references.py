"""The independent reference runtimes tinyml is checked against: TFLite Micro and onnxruntime."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def _capture_fd2():
    """Capture what C code writes to the process's stderr (fd 2)."""
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            yield tmp
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def tflm_interpreter(model: bytes | Path, arena_size: int = 4_000_000):
    from tflite_micro import runtime
    if isinstance(model, (bytes, bytearray)):
        return runtime.Interpreter.from_bytes(bytes(model), arena_size=arena_size)
    return runtime.Interpreter.from_file(str(model), arena_size=arena_size)


def tflm_run(model: bytes | Path, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """TFLite Micro over a batch ([N, ...] per input); returns [N, ...] per output."""
    interp = tflm_interpreter(model)
    count = inputs[0].shape[0]
    per_sample = []
    for n in range(count):
        for i, x in enumerate(inputs):
            interp.set_input(x[n], i)
        interp.invoke()
        outs, k = [], 0
        while True:
            try:
                outs.append(np.array(interp.get_output(k)))
            except (IndexError, RuntimeError, ValueError):
                break
            k += 1
        per_sample.append(outs)
    return [np.stack([s[i] for s in per_sample]) for i in range(len(per_sample[0]))]


def tflm_arena_bytes(model: bytes | Path) -> dict[str, int]:
    """TFLite Micro's arena, parsed from print_allocations() on the C-level stderr:
    `total`, and `head` (activations and scratch, the part comparable to tinyml's arena)."""
    interp = tflm_interpreter(model)
    with _capture_fd2() as tmp:
        interp.print_allocations()
        tmp.seek(0)
        text = tmp.read().decode(errors="replace")
    found = dict(re.findall(r"Arena allocation (total|head) (\d+) bytes", text))
    if "total" not in found:
        raise RuntimeError("TFLite Micro printed no arena total")
    return {k: int(v) for k, v in found.items()}


def onnxruntime_run(model: bytes | Path, inputs: dict[str, np.ndarray],
                    optimize: bool = False) -> list[np.ndarray]:
    """onnxruntime on one feed; graph optimizations off by default (see the QDQ notes)."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    if not optimize:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model if isinstance(model, bytes) else str(model), opts,
                                   providers=["CPUExecutionProvider"])
    return session.run(None, inputs)
