"""int8 post-training quantization of float graphs: calibrate, then convert."""

from __future__ import annotations

from ..ir import Graph
from .calibrate import METHODS, CalibrationWarning, calibrate, calibration_samples
from .ptq import convert


def quantize_graph(graph: Graph, calib, progress: bool = False, *, method: str = "minmax",
                   percentile: float = 99.99) -> Graph:
    """The int8 version of a float graph.

    calib: float samples [N, *input_shape] of the single input, or "random" (seeded normal
    data, with a CalibrationWarning), or None (a UsageError asking for calibration data).
    method: "minmax" or "percentile" (ranges cut at `percentile` and 100 - `percentile`).
    """
    samples = calibration_samples(graph, calib)
    ranges = calibrate(graph, samples, method=method, percentile=percentile, progress=progress)
    return convert(graph, ranges)


__all__ = ["METHODS", "CalibrationWarning", "calibrate", "calibration_samples", "convert",
           "quantize_graph"]
