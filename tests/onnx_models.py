"""Small ONNX models built with onnx.helper for the importer tests, and onnxruntime runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def make_model(path: Path, nodes, inputs: dict[str, tuple], outputs: list[str],
               initializers: dict[str, np.ndarray] | None = None, opset: int = 13) -> Path:
    """Save a one-graph model: float inputs of the given shapes, float outputs (shapes inferred)."""
    graph = helper.make_graph(
        nodes, path.stem,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in (initializers or {}).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def ort_session(path: Path, extra_outputs: list[str] = ()):
    """onnxruntime with graph optimizations off (its fused int8 kernels round differently)."""
    import onnxruntime as ort
    model = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    known = {v.name: v for v in model.graph.value_info}
    model.graph.output.extend(known[name] for name in extra_outputs)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def ort_run(path: Path, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """onnxruntime over a batch ([N, ...] per input), one sample at a time."""
    session = ort_session(path)
    names = [i.name for i in session.get_inputs()]
    per_sample = [session.run(None, {n: x[k] for n, x in zip(names, inputs)})
                  for k in range(inputs[0].shape[0])]
    return [np.stack([s[i] for s in per_sample]) for i in range(len(per_sample[0]))]
