"""Model importers: each turns a file into an `ir.Graph`."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelError
from ..ir import Graph


def load_model(path: str | Path, input_shapes: dict[str, tuple[int, ...]] | None = None) -> Graph:
    """Read an ONNX, TFLite or Keras model, chosen by its content and suffix."""
    path = Path(path)
    if not path.exists():
        raise ModelError("no such file", model=str(path))
    if path.is_dir():
        if (path / "saved_model.pb").exists():
            from .keras import load_keras
            return load_keras(path)
        raise ModelError("is a folder, not a model", model=str(path))
    head = path.open("rb").read(8)
    if not head:
        raise ModelError("the file is empty", model=str(path))
    if head[4:8] == b"TFL3" or path.suffix == ".tflite":
        from .tflite import load_tflite
        return load_tflite(path)
    if path.suffix in (".h5", ".keras", ".hdf5"):
        from .keras import load_keras
        return load_keras(path)
    if path.suffix == ".onnx" or path.suffix == "":
        from .onnx import load_onnx
        return load_onnx(path, input_shapes)
    raise ModelError("unknown model format (expected .onnx, .tflite, .h5, .keras or a SavedModel)",
                     model=str(path))
