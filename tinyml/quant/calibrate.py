"""Calibration: run the float reference over samples and observe each activation's range.

Observers see every value a tensor takes and report a (lo, hi) range:
- `minmax`: the extremes seen (TFLite's converter does this);
- `percentile`: the p-th and (100 - p)-th percentiles, which ignore rare outliers. Values are
  kept in a bounded, seeded subsample per tensor, so memory stays flat for large sets.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

from ..errors import ShapeError, UsageError
from ..ir import Graph
from ..ref import run_trace

METHODS = ("minmax", "percentile")
RANDOM_SAMPLES = 32
RANDOM_SEED = 0


class CalibrationWarning(UserWarning):
    """Calibration ran on data that does not tell how accurate the int8 model is."""


class MinMaxObserver:
    def __init__(self):
        self.lo, self.hi = np.inf, -np.inf

    def observe(self, values: np.ndarray) -> None:
        if values.size:
            self.lo = min(self.lo, float(values.min()))
            self.hi = max(self.hi, float(values.max()))

    def range(self) -> tuple[float, float]:
        return (self.lo, self.hi) if self.lo <= self.hi else (0.0, 0.0)


class PercentileObserver:
    #: values kept per tensor over the whole calibration set
    BUDGET = 1 << 18

    def __init__(self, percentile: float, n_samples: int, seed: int = 0):
        if not 50.0 < percentile <= 100.0:
            raise UsageError(f"calibration percentile must be in (50, 100], got {percentile}")
        self.percentile = percentile
        self.per_sample = max(self.BUDGET // max(n_samples, 1), 256)
        self.rng = np.random.default_rng(seed)
        self.kept: list[np.ndarray] = []

    def observe(self, values: np.ndarray) -> None:
        flat = values.reshape(-1)
        if flat.size > self.per_sample:
            flat = self.rng.choice(flat, self.per_sample, replace=False)
        self.kept.append(flat.astype(np.float32))

    def range(self) -> tuple[float, float]:
        if not self.kept:
            return (0.0, 0.0)
        values = np.concatenate(self.kept)
        lo, hi = np.percentile(values, [100.0 - self.percentile, self.percentile])
        return float(lo), float(hi)


def make_observer(method: str, percentile: float, n_samples: int):
    if method == "minmax":
        return MinMaxObserver()
    if method == "percentile":
        return PercentileObserver(percentile, n_samples)
    raise UsageError(f"calibration method must be one of {', '.join(METHODS)}, got {method!r}")


def calibration_samples(graph: Graph, calib) -> np.ndarray:
    """The calibration set as float32 [N, *input_shape] for the graph's single input."""
    if calib is None:
        raise UsageError("quantizing a float model to int8 needs calibration data: pass "
                         "--calib data.npz (array 'x' of input samples) or --calib random "
                         "(accuracy unknown)", model=graph.source or None)
    if len(graph.inputs) != 1:
        raise UsageError(f"calibration supports single-input models; this one has "
                         f"{len(graph.inputs)} inputs", model=graph.source or None)
    shape = graph.tensor(graph.inputs[0]).shape
    if isinstance(calib, str):
        if calib != "random":
            raise UsageError(f"--calib {calib!r}: expected an .npz file or 'random'")
        warnings.warn("calibrating on random data (--calib random): the int8 model's accuracy "
                      "is unknown", CalibrationWarning, stacklevel=3)
        rng = np.random.default_rng(RANDOM_SEED)
        return rng.standard_normal((RANDOM_SAMPLES, *shape)).astype(np.float32)
    x = np.asarray(calib)
    if not np.issubdtype(x.dtype, np.number) or x.ndim == 0 or x.shape[0] == 0:
        raise ShapeError(f"calibration data must be a non-empty numeric array [N, "
                         f"{', '.join(map(str, shape))}], got dtype {x.dtype} shape {x.shape}",
                         model=graph.source or None)
    sample = x.shape[1:]
    # Shapes that differ only in unit axes (e.g. NCHW [1,1,28,28] vs NHWC [1,28,28,1], or no
    # leading batch axis of 1) hold the same bytes in the same order.
    squeezed = tuple(d for d in sample if d != 1)
    if sample != shape and squeezed != tuple(d for d in shape if d != 1):
        raise ShapeError(f"calibration data has samples of shape {sample}, the model input is "
                         f"{shape} (expected [N, {', '.join(map(str, shape))}])",
                         model=graph.source or None)
    return x.reshape(x.shape[0], *shape).astype(np.float32)


def calibrate(graph: Graph, samples: np.ndarray, *, method: str = "minmax",
              percentile: float = 99.99, progress: bool = False) -> dict[str, tuple[float, float]]:
    """(lo, hi) of every float activation (graph inputs included) over the samples."""
    from tqdm import tqdm

    names = [n for n, t in graph.tensors.items() if t.dtype == "float32" and not t.is_const]
    observers = {n: make_observer(method, percentile, len(samples)) for n in names}
    for x in tqdm(samples, desc="calibrating", unit="sample", disable=not progress,
                  file=sys.stderr, leave=False):
        values = run_trace(graph, [x])
        for name, obs in observers.items():
            obs.observe(values[name])
    return {name: obs.range() for name, obs in observers.items()}
