"""`tinyml inspect --plot mem.png`: the arena bytes alive at each layer, layer by layer beside
the plan chosen (patches, in place), each with its peak marked (matplotlib, the [plot] extra)."""

from __future__ import annotations

from pathlib import Path

from .codegen.lower import ModelCode
from .errors import TinymlError, UsageError


def _series(code: ModelCode, layout) -> list[int]:
    live = layout.node_live()
    return [live.get(layer.node.name, 0) for layer in code.layers]


def plot_memory(code: ModelCode, path: str | Path) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'tinyml[plot]'") from None
    chosen = _series(code, code.layout)
    flat = _series(code, code.memory.layer_by_layer)
    stage = code.layout.decisions.stage
    label = "this plan"
    if stage is not None:
        label = f"patches {stage.grid[0]}x{stage.grid[1]} up to layer {len(stage.nodes) - 1}"
    fig, ax = plt.subplots(figsize=(max(6.0, 0.18 * len(chosen) + 3), 4), dpi=110)
    layers = range(len(chosen))
    ax.step(layers, [b / 1024 for b in flat], where="mid", label="layer by layer",
            color="tab:gray")
    ax.step(layers, [b / 1024 for b in chosen], where="mid", label=label, color="tab:blue")
    for series, color in ((flat, "tab:gray"), (chosen, "tab:blue")):
        peak = max(layers, key=series.__getitem__)
        ax.plot([peak], [series[peak] / 1024], "v", color=color, markersize=9)
        ax.annotate(f"peak {series[peak]:,} B", (peak, series[peak] / 1024),
                    textcoords="offset points", xytext=(6, 6), color=color, fontsize=8)
    if stage is not None:
        ax.axvspan(-0.5, len(stage.nodes) - 0.5, color="tab:blue", alpha=0.08, label="patch stage")
    ax.set_ylim(0, max(flat + chosen) / 1024 * 1.18 + 0.01)
    ax.set_xlabel("layer")
    ax.set_ylabel("arena bytes alive (KiB)")
    ax.set_title(f"{code.name}: arena {code.plan.size:,} B "
                 f"(layer by layer {code.memory.layer_by_layer.plan.size:,} B)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    try:
        fig.savefig(str(path), format="png")
    except OSError as exc:
        raise TinymlError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        plt.close(fig)
