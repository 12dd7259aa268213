"""The arrays a user gives `tinyml run` and `tinyml eval`, matched to the model's inputs.

One rule for every command, so the same mistake reads the same everywhere:
- a `.npy` is the model's one input (positional); an `.npz` holds one array per input, by
  the input's name (report.json); `x` also names the input of a one-input model;
- each array is one sample `[*shape]`, a batch `[N, *shape]` or, when the model's batch is
  1, `[N, *shape[1:]]`; outputs come back in the same form (`ModelBatch.shape_outputs`);
- an array in the model's dtype is used as it is; a float array for a quantized input is
  quantized with that input's scale and zero point; NaN and Inf are refused.
Every mistake is an InputError: exit code 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyml.harness.errors import HarnessError, InputError
from tinyml.numerics import dequantize, quantize

SAMPLE, BATCH, BATCH_WITHOUT_ONE = "sample", "batch", "batch without the model's batch axis"


def read_arrays(path: str | Path, what: str) -> dict[str, np.ndarray] | np.ndarray:
    """An .npz as {name: array}, an .npy as one array; a clean error for anything else."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} {path}: no such file")
    try:
        loaded = np.load(path)   # no pickles: allow_pickle stays False
        if isinstance(loaded, np.ndarray):
            return loaded
        with loaded:
            return dict(loaded)
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"{what} {path}: cannot read as .npy or .npz ({exc})") from None


def input_names(specs: list[dict]) -> list[str]:
    return [str(s.get("name") or f"input{i}") for i, s in enumerate(specs)]


def match_inputs(arrays: dict[str, np.ndarray] | np.ndarray, specs: list[dict], what: str,
                 extra: tuple[str, ...] = ()) -> list[np.ndarray]:
    """The arrays for the model's inputs, in model order: by name from an .npz (`extra` keys,
    e.g. eval's labels `y`, are allowed beside them), by position from an .npy."""
    names = input_names(specs)
    listed = ", ".join(repr(n) for n in names)
    if not isinstance(arrays, dict):
        if len(specs) != 1:
            raise InputError(f"{what}: a .npy holds one array, the model has {len(specs)} inputs "
                             f"({listed}); pass an .npz with one array per input name")
        return [arrays]
    keys = list(names)
    if len(names) == 1 and names[0] not in arrays and "x" in arrays:
        keys = ["x"]
    missing = [k for k in keys if k not in arrays]
    unknown = [k for k in arrays if k not in keys and k not in extra]
    if missing or unknown:
        has = ", ".join(repr(k) for k in arrays) or "nothing"
        raise InputError(f"{what}: the .npz must name the model's inputs ({listed}"
                         + (" or 'x'" if len(names) == 1 else "") + f"); it has {has}")
    return [arrays[k] for k in keys]


@dataclass(frozen=True)
class ModelBatch:
    inputs: list[np.ndarray]   # per input, [N, *shape] in the model's dtype
    floats: list[np.ndarray]   # the same as float32 (dequantized), for float-model metrics
    form: str                  # SAMPLE | BATCH | BATCH_WITHOUT_ONE: how the user shaped them
    note: str                  # how the arrays were brought to the model's dtypes

    @property
    def count(self) -> int:
        return self.inputs[0].shape[0]

    def shape_outputs(self, outputs: list[np.ndarray]) -> list[np.ndarray]:
        """Outputs [N, *shape] in the form the inputs came in: one sample drops N; a batch
        without the model's batch axis drops a leading 1 of each output's shape."""
        if self.form == SAMPLE:
            return [o[0] for o in outputs]
        if self.form == BATCH_WITHOUT_ONE:
            return [o.reshape(o.shape[0], *o.shape[2:]) if o.ndim > 1 and o.shape[1] == 1 else o
                    for o in outputs]
        return outputs


def _form(shape: tuple[int, ...], model: tuple[int, ...]) -> str | None:
    if shape == model:
        return SAMPLE
    if len(shape) == len(model) + 1 and shape[1:] == model:
        return BATCH
    if model and model[0] == 1 and len(shape) == len(model) and shape[1:] == model[1:]:
        return BATCH_WITHOUT_ONE
    return None


def _to_dtype(x: np.ndarray, spec: dict, name: str, what: str) -> tuple[np.ndarray, np.ndarray, str]:
    """(the model's dtype, float32, a note) for one input."""
    dtype = np.dtype(spec["dtype"])
    quantized = spec.get("scale") is not None and dtype.kind in "iu"
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise InputError(f"{what}: input {name!r} holds {bad} NaN or infinite values")
    if x.dtype == dtype:
        floats = dequantize(x, spec["scale"], spec["zero_point"]) if quantized else x.astype(np.float32)
        return x, floats, f"{name} {dtype} as given"
    if x.dtype.kind == "f" and quantized:
        return (quantize(x, spec["scale"], spec["zero_point"], dtype.name), x.astype(np.float32),
                f"{name} {x.dtype} quantized to {dtype} with scale {spec['scale']:.6g}, "
                f"zero point {spec['zero_point']} (report.json)")
    if x.dtype.kind == "f" and dtype.kind == "f":
        return x.astype(dtype), x.astype(np.float32), f"{name} {x.dtype} as {dtype}"
    raise InputError(f"{what}: input {name!r} has dtype {x.dtype}; the model takes {dtype}"
                     + (" (or float, then quantized)" if quantized else ""))


def model_batch(values: list[np.ndarray], specs: list[dict], what: str) -> ModelBatch:
    """Check each array's shape against its input's, bring it to [N, *shape] and the model's
    dtype; every input must come in the same form with the same N."""
    inputs, floats, notes, forms = [], [], [], set()
    for name, x, spec in zip(input_names(specs), values, specs):
        x = np.asarray(x)
        model = tuple(spec["shape"])
        form = _form(x.shape, model)
        if form is None:
            one = f" or [N, {', '.join(map(str, model[1:]))}]" if model and model[0] == 1 else ""
            raise InputError(f"{what}: input {name!r} has shape {list(x.shape)}; the model takes "
                             f"{list(model)} (one sample), [N, {', '.join(map(str, model))}]{one}")
        if x.size == 0:
            raise InputError(f"{what}: input {name!r} holds no samples")
        forms.add(form)
        x = x.reshape(-1, *model)
        q, f, note = _to_dtype(x, spec, name, what)
        inputs.append(q)
        floats.append(f)
        notes.append(note)
    if len(forms) > 1 or len({x.shape[0] for x in inputs}) > 1:
        raise InputError(f"{what}: the inputs have different batch sizes or forms "
                         f"({', '.join(f'{n} {list(v.shape)}' for n, v in zip(input_names(specs), values))})")
    return ModelBatch(inputs, floats, forms.pop(), "; ".join(notes))


def dequantize_outputs(outputs: list[np.ndarray], specs: list[dict]) -> list[np.ndarray]:
    """Integer outputs as float32 with their scale and zero point; float outputs as they are."""
    return [dequantize(o, s["scale"], s["zero_point"]) if s.get("scale") is not None
            and np.dtype(s["dtype"]).kind in "iu" else o for o, s in zip(outputs, specs)]


def as_batch(inputs: list[np.ndarray], model) -> tuple[list[np.ndarray], bool]:
    """The firmware runners' convention (a ModelInfo's tensors): each input as [N, size];
    tells whether the caller passed a batch dimension."""
    if len(inputs) != len(model.inputs):
        raise HarnessError(f"{model.name} takes {len(model.inputs)} inputs, got {len(inputs)}")
    arrays = [np.asarray(x) for x in inputs]
    t0 = model.inputs[0]
    batched = arrays[0].size != int(np.prod(t0.shape, dtype=np.int64)) or (
        arrays[0].ndim == len(t0.shape) + 1 and arrays[0].shape[1:] == t0.shape)
    if not batched:
        return [a.reshape(1, -1) for a in arrays], False
    n = arrays[0].shape[0]
    if any(a.shape[0] != n for a in arrays):
        raise HarnessError("inputs have different batch sizes")
    return [a.reshape(n, -1) for a in arrays], True
