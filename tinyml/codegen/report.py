"""report.json: the machine-readable account of a compiled model (keys in docs/report.md)."""

from __future__ import annotations

from .. import __version__
from .lower import ModelCode


def _live_at(code: ModelCode, step: int | None) -> list[dict]:
    """The arena buffers alive at `step`, largest first: tensors by name, scratch by layer."""
    if step is None:
        return []
    alive = sorted((r for r in code.requests if r.first <= step <= r.last),
                   key=lambda r: (-r.size, r.name))
    step_of = {layer.node.name: layer.index for layer in code.layers}

    def name(buffer: str) -> str:
        node, _, kind = buffer.rpartition("#")
        return f"scratch of step {step_of[node]}" if kind == "scratch" and node in step_of else buffer
    return [{"buffer": name(r.name), "bytes": r.size} for r in alive]


def build_report(code: ModelCode, *, target: str = "host", dtype: str = "", **extra) -> dict:
    graph = code.graph
    params = sum(t.size for t in graph.tensors.values() if t.is_const)
    live = [sum(r.size for r in code.requests if r.first <= step <= r.last)
            for step in range(len(code.layers))]
    peak = max(range(len(live)), key=live.__getitem__) if live else None
    layers = []
    for layer in code.layers:
        node = layer.node
        loc = code.locations.get(node.outputs[0])
        layers.append({
            "name": node.name,
            "op": node.op,
            "inputs": [list(graph.tensor(n).shape) for n in node.inputs
                       if n and not graph.tensor(n).is_const],
            "output": list(graph.tensor(node.outputs[0]).shape),
            "dtype": graph.tensor(node.outputs[0]).dtype,
            "macs": layer.macs,
            "kernel": layer.call.kernel if layer.call else "view",
            "variant_reason": layer.variant_reason,
            "output_location": loc.kind if loc else None,
            "output_offset": loc.offset if loc and loc.kind == "arena" else None,
            "scratch_bytes": layer.call.scratch_bytes if layer.call else 0,
            "live_bytes": live[layer.index],   # arena bytes alive while this step runs
        })

    def io(info):
        return {"name": info.name, "dtype": info.dtype, "shape": list(info.shape),
                "scale": info.scale, "zero_point": info.zero_point,
                "arena_offset": info.arena_offset}

    return {
        "tinyml_version": __version__,
        "name": code.name,
        "target": target,
        "model": graph.source,
        "dtype": dtype,
        "macs": sum(l.macs for l in code.layers),
        "params": params,
        "flash_bytes": code.weight_bytes,
        "arena_bytes": code.plan.size,
        "arena_lower_bound_bytes": code.plan.lower_bound,
        "peak_step": peak,
        "peak_live": _live_at(code, peak),
        "schedule_exact": code.schedule.exact,
        "io_in_arena": code.io_in_arena,
        "peak_sram_bytes": code.plan.size,
        "patch_plan": None,
        "inputs": [io(i) for i in code.inputs],
        "outputs": [io(o) for o in code.outputs],
        "layers": layers,
        **extra,
    }
