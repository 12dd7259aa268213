"""Keras models (.keras, .h5, SavedModel folders) through TensorFlow's TFLite converter.

The model is traced with a batch of 1 (static shapes, as TFLite Micro needs), converted to a
float TFLite flatbuffer in memory and imported by the TFLite frontend. TensorFlow is the
optional extra [tf] and is imported only here, only when a Keras model is loaded.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from pathlib import Path

from ..errors import ModelError, ShapeError, UnsupportedError
from ..ir import Graph
from .tflite import load_tflite


def _import_tensorflow(source: str):
    # TensorFlow's C++ logging would otherwise fill the terminal of every compile.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import tensorflow as tf
    except ImportError:
        raise UnsupportedError("Keras models need the [tf] extra: pip install tinyml[tf]",
                               model=source) from None
    return tf


@contextlib.contextmanager
def _captured_output():
    """Collect what TensorFlow writes to fds 1 and 2 (C++ logs included); yields a reader."""
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        saved = [os.dup(1), os.dup(2)]
        for fd in (1, 2):
            os.dup2(tmp.fileno(), fd)

        def text() -> str:
            tmp.seek(0)
            return tmp.read().decode(errors="replace")
        try:
            yield text
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, old in zip((1, 2), saved):
                os.dup2(old, fd)
                os.close(old)


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


def _batch_one(shape, what: str, source: str) -> tuple[int, ...]:
    dims = (1, *shape[1:])
    if any(d is None for d in dims):
        raise ShapeError(f"{what} has a dynamic shape {tuple(shape)}", model=source)
    return tuple(int(d) for d in dims)


def _with_batch_one(keras, inputs, call, source: str):
    """A Keras model over inputs of batch 1: static shapes, so Flatten becomes one RESHAPE."""
    fixed = [keras.Input(batch_shape=_batch_one(shape, f"input {name!r}", source), dtype=dtype,
                         name=name) for name, shape, dtype in inputs]
    outputs = call(fixed)
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    return keras.Model(fixed, outputs)


def keras2_layers(keras) -> dict:
    """Keras 2 wrote `groups` into DepthwiseConv2D configs; Keras 3 refuses the argument."""

    class DepthwiseConv2D(keras.layers.DepthwiseConv2D):
        def __init__(self, *args, groups=1, **kwargs):
            super().__init__(*args, **kwargs)

    return {"DepthwiseConv2D": DepthwiseConv2D}


def keras_model(tf, path: str | Path):
    """A Keras model file or SavedModel folder as the converter traces it (batch 1)."""
    path = Path(path)
    return (_saved_model if path.is_dir() else _keras_model)(tf, path, str(path))


def _keras_model(tf, path: Path, source: str):
    try:
        # safe_mode: a model file's Python lambdas never run (the file is untrusted)
        model = tf.keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:
        try:
            model = tf.keras.models.load_model(path, compile=False, safe_mode=True,
                                               custom_objects=keras2_layers(tf.keras))
        except Exception:
            raise ModelError(f"cannot load the Keras model ({_first_line(exc)})",
                             model=source) from None
    inputs = getattr(model, "inputs", None)
    if not inputs:  # a subclassed model that was never built: the converter traces it as is
        return model
    specs = [(f"input_{i}", tuple(t.shape), t.dtype) for i, t in enumerate(inputs)]
    return _with_batch_one(tf.keras, specs, lambda xs: model(xs if len(xs) > 1 else xs[0]),
                           source)


def _saved_model(tf, path: Path, source: str):
    try:
        loaded = tf.saved_model.load(str(path))
        signature = loaded.signatures["serving_default"]
        layer = tf.keras.layers.TFSMLayer(str(path), call_endpoint="serving_default")
    except Exception as exc:
        raise ModelError(f"cannot load the SavedModel ({_first_line(exc)})",
                         model=source) from None
    _, named = signature.structured_input_signature
    specs = [(k, tuple(s.shape), s.dtype) for k, s in named.items()]
    return _with_batch_one(tf.keras, specs, lambda xs: layer(
        xs[0] if len(xs) == 1 else dict(zip(named, xs))), source)


def _v1_saved_model_converter(tf, path: Path, source: str, reason: ModelError):
    """SavedModels written by TF 2 Keras 2 with optimizer state no longer load as objects in
    current TF; the graph-mode converter restores only the variables."""
    try:
        return tf.compat.v1.lite.TFLiteConverter.from_saved_model(str(path))
    except Exception:
        raise reason from None


def _layer_names(model) -> list[str]:
    """The names of a Keras model's layers, nested models' included."""
    names = []
    for layer in getattr(model, "layers", []):
        names.append(layer.name)
        names += _layer_names(layer)
    return names


def keras_to_tflite(path: str | Path) -> tuple[bytes, list[str]]:
    """The float TFLite flatbuffer of a Keras model or SavedModel folder, and its layers'
    names (none for a SavedModel read by the graph-mode converter)."""
    path, source = Path(path), str(path)
    tf = _import_tensorflow(source)
    names: list[str] = []
    with _captured_output() as output:
        try:
            model = (_saved_model if path.is_dir() else _keras_model)(tf, path, source)
            names = _layer_names(model)
            converter = tf.lite.TFLiteConverter.from_keras_model(model)
        except ModelError as exc:
            if not path.is_dir():
                raise
            converter = _v1_saved_model_converter(tf, path, source, exc)
        try:
            return converter.convert(), names
        except Exception as exc:
            log = output().strip().splitlines()
            detail = f"; {log[-1]}" if log else ""
            raise ModelError(f"TensorFlow could not convert the model to TFLite "
                             f"({_first_line(exc)}{detail})", model=source) from None


def source_layer(names: list[str], tensor_names: list[str]) -> str:
    """The Keras layer a node came from: the innermost path segment of its tensors' names
    (the TFLite converter's "model/layer_1/op") that is a layer's name, with or without the
    "_N" suffix Keras adds, trying its outputs, then its constants, then its first input (a
    layer's fused activation reads the layer's output); "" when none is."""
    known = set(names)
    for tensor in tensor_names:
        for segment in reversed(tensor.split(";")[0].split("/")[:-1]):
            base = re.sub(r"_\d+$", "", segment)
            if segment in known or base in known:
                return segment if segment in known else base
    return ""


def load_keras(path: str | Path) -> Graph:
    """The graph, each node labelled with the Keras layer it came from (the report's layer
    names)."""
    data, names = keras_to_tflite(path)
    graph = load_tflite(path, data=data)
    return graph.replace(nodes=[
        n.with_(label=source_layer(names, [*n.outputs, *(t for t in n.inputs[1:] if t),
                                           *n.inputs[:1]]))
        for n in graph.nodes])
