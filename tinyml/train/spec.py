"""What to train: `--train full | last:K | sparse[:CONFIG]`.

- `full`: weights and biases of every layer with weights.
- `last:K`: weights and biases of the last K layers with weights.
- `sparse:CONFIG`: a JSON file naming the subset, as Tiny Training Engine's sparse update:
  `{"biases": 3, "weights": {"layer name": 0.5}, "qas": true}`: the biases of the last 3
  layers with weights (or of the layers a list names), and the weights of the first half of
  the output channels of the named layer (a fraction in (0, 1], 1 for all of them). `qas`
  (default true): quantization-aware scaling of the gradients (tinyml/train/reference.py).
- `sparse` alone: the subset is chosen for you under the RAM budget (tinyml/train/select.py).

Layer names are the node names of the per-layer table (`tinyml inspect`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError

MODES = ("full", "last", "sparse")


@dataclass(frozen=True)
class TrainSpec:
    mode: str
    last: int = 0                                   # last:K
    biases: int = 0                                 # sparse: biases of the last k layers
    bias_layers: tuple[str, ...] = ()               # sparse: and of these layers
    weights: tuple[tuple[str, float], ...] = ()     # sparse: (layer, fraction of channels)
    qas: bool = True
    auto: bool = False                              # sparse with no config: chosen for you
    source: str = field(default="", compare=False)  # the config file, for messages


def parse(text: str) -> TrainSpec:
    """The `--train` argument."""
    mode, _, arg = text.partition(":")
    if mode == "full" and not arg:
        return TrainSpec("full")
    if mode == "last":
        if not arg.isdigit() or int(arg) < 1:
            raise UsageError(f"--train last:K needs a count of layers K >= 1, not {arg!r}")
        return TrainSpec("last", last=int(arg))
    if mode == "sparse":
        return read_config(Path(arg)) if arg else TrainSpec("sparse", auto=True)
    raise UsageError(f"--train must be full, last:K or sparse[:CONFIG], not {text!r}")


def read_config(path: Path) -> TrainSpec:
    """A sparse-update config file (JSON, see the module's docstring)."""
    where = f"--train sparse:{path}"
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise UsageError(f"{where}: cannot read the config ({exc.strerror})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{where}: not a JSON config ({exc})") from None
    if not isinstance(data, dict) or set(data) - {"biases", "weights", "qas"}:
        raise UsageError(f"{where}: the config is an object of biases, weights and qas")
    biases = data.get("biases", 0)
    named: tuple[str, ...] = ()
    if isinstance(biases, list) and all(isinstance(b, str) for b in biases):
        biases, named = 0, tuple(biases)
    elif not isinstance(biases, int) or isinstance(biases, bool) or biases < 0:
        raise UsageError(f"{where}: biases is a count of last layers >= 0, or a list of "
                         "layer names")
    weights = data.get("weights", {})
    if not isinstance(weights, dict):
        raise UsageError(f"{where}: weights maps layer names to fractions of their channels")
    pairs = []
    for name, fraction in weights.items():
        if (not isinstance(fraction, (int, float)) or isinstance(fraction, bool)
                or not math.isfinite(fraction) or not 0 < fraction <= 1):
            raise UsageError(f"{where}: the fraction of layer {name!r} must lie in (0, 1]")
        pairs.append((name, float(fraction)))
    qas = data.get("qas", True)
    if not isinstance(qas, bool):
        raise UsageError(f"{where}: qas is true or false")
    if not biases and not named and not pairs:
        raise UsageError(f"{where}: the config trains nothing (no biases, no weights)")
    return TrainSpec("sparse", biases=biases, bias_layers=named, weights=tuple(pairs), qas=qas,
                     source=str(path))
