"""Read a generated model folder through its public header (docs/generated-api.md).

The header is the contract the firmware links against, so it is what we parse; nothing
here depends on how the compiler produced it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyml.harness.errors import HarnessError

# The one dtype table: the TM_DTYPE_<NAME> values of the generated header's tm_nn.h
# (codegen/kernels/tm_nn.h), which are also the dtype codes INFO carries on the wire: the
# firmware sends the header's macros as they are (firmware_templates/model_glue.c.j2).
DTYPES: dict[str, tuple[int, np.dtype]] = {
    "FLOAT32": (0, np.dtype("<f4")),
    "INT8": (1, np.dtype(np.int8)),
    "UINT8": (2, np.dtype(np.uint8)),
    "INT16": (3, np.dtype("<i2")),
    "INT32": (4, np.dtype("<i4")),
}
DTYPE_BY_CODE = {code: dt for code, dt in DTYPES.values()}


@dataclass(frozen=True)
class TensorInfo:
    dtype: np.dtype
    shape: tuple[int, ...]
    nbytes: int
    scale: float | None = None
    zero_point: int | None = None
    arena_offset: int | None = None   # where it lies in the arena (--io arena)

    @property
    def dtype_code(self) -> int:
        return next(code for code, dt in DTYPES.values() if dt == self.dtype)


@dataclass(frozen=True)
class TrainInfo:
    state_size: int
    arena_size: int        # the training step's arena
    num_classes: int


@dataclass(frozen=True)
class ModelInfo:
    folder: Path
    header: str            # file name of the API header
    prefix: str            # C function prefix, e.g. `kws`
    macro: str             # macro prefix, e.g. `KWS`
    arena_size: int
    num_layers: int
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    io_in_arena: bool = False      # compiled with --io arena: the I/O lives in the arena
    sram_budget: int | None = None   # compile's --sram (or --board's SRAM), from report.json
    train: TrainInfo | None = None   # compiled with --train

    @property
    def name(self) -> str:
        return self.prefix

    def sources(self) -> list[Path]:
        return sorted(self.folder.glob("*.c"))


_INVOKE_IO = re.compile(r"\bint\s+(\w+)_invoke_io\s*\(")
_DEFINE = re.compile(r"^\s*#\s*define\s+(\w+)\s+(.+?)\s*(?:/\*.*)?$", re.M)


def _number(text: str) -> float | int:
    """A C literal as written in the header: 16000, 0x3E80u, (-128), 0x1.2b5f3ep-1f, 0.5f."""
    t = text.strip().strip("()").strip()
    hexa = t.lower().lstrip("-").startswith("0x")
    if hexa and "p" in t.lower():
        return float.fromhex(t.rstrip("fFlL"))
    if hexa:
        return int(t.rstrip("uUlL"), 16)
    t = t.rstrip("uUlLfF")
    return float(t) if any(c in t for c in ".eE") else int(t)


def _tensor(defs: dict[str, str], key: str, where: Path) -> TensorInfo:
    try:
        dtype_name = defs[f"{key}_DTYPE"].removeprefix("TM_DTYPE_")
        shape = tuple(int(d) for d in re.findall(r"-?\d+", defs[f"{key}_SHAPE"]))
        nbytes = int(_number(defs[f"{key}_BYTES"]))
    except KeyError as missing:
        raise HarnessError(f"{where}: header lacks {missing.args[0]}") from None
    if dtype_name not in DTYPES:
        raise HarnessError(f"{where}: {key} has dtype {dtype_name}, the harness knows {', '.join(DTYPES)}")
    scale = defs.get(f"{key}_SCALE")
    zp = defs.get(f"{key}_ZERO_POINT")
    at = defs.get(f"{key}_ARENA_OFFSET")
    return TensorInfo(DTYPES[dtype_name][1], shape, nbytes,
                      None if scale is None else float(_number(scale)),
                      None if zp is None else int(_number(zp)),
                      None if at is None else int(_number(at)))


def read_model_dir(folder: str | Path) -> ModelInfo:
    """Parse the one header in `folder` that declares `<prefix>_invoke_io`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise HarnessError(f"{folder}: not a folder (expected the output of `tinyml compile`)")
    for header in sorted(folder.glob("*.h")):
        text = header.read_text()
        m = _INVOKE_IO.search(text)
        if m:
            break
    else:
        raise HarnessError(f"{folder}: no header declares <name>_invoke_io; is this a tinyml model folder?")
    prefix = m.group(1)
    macro = prefix.upper()
    defs = dict(_DEFINE.findall(text))
    try:
        n_in = int(defs[f"{macro}_NUM_INPUTS"])
        n_out = int(defs[f"{macro}_NUM_OUTPUTS"])
        arena = int(_number(defs[f"{macro}_ARENA_SIZE"]))
        layers = int(defs.get(f"{macro}_NUM_LAYERS", "0"))
    except KeyError as missing:
        raise HarnessError(f"{header}: missing #define {missing.args[0]}") from None
    train = None
    if f"{macro}_STATE_SIZE" in defs:
        try:
            train = TrainInfo(*(int(_number(defs[f"{macro}_{k}"]))
                                for k in ("STATE_SIZE", "TRAIN_ARENA_SIZE", "NUM_CLASSES")))
        except KeyError as missing:
            raise HarnessError(f"{header}: missing #define {missing.args[0]}") from None
    # Absolute: the firmware build compiles from its own folder, so a relative path breaks.
    return ModelInfo(
        folder.resolve(), header.name, prefix, macro, arena, layers,
        tuple(_tensor(defs, f"{macro}_INPUT{i}", header) for i in range(n_in)),
        tuple(_tensor(defs, f"{macro}_OUTPUT{i}", header) for i in range(n_out)),
        f"{macro}_INPUT0_ARENA_OFFSET" in defs, _sram_budget(folder), train,
    )


def _sram_budget(folder: Path) -> int | None:
    """The SRAM budget the model was compiled for (report.json `sram_budget_bytes`)."""
    import json
    try:
        value = json.loads((folder / "report.json").read_text()).get("sram_budget_bytes")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and value > 0 else None
