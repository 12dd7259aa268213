"""report.json: the machine-readable account of a compiled model (keys in docs/report.md)."""

from __future__ import annotations

from .. import __version__
from ..ops import get_op
from ..plan.layout import Layout
from .lower import Layer, ModelCode


def _unit_of_layers(code: ModelCode) -> list[int]:
    """Per layer, the step of the schedule it runs in (the patch stage is one step)."""
    layout = code.layout
    step_of = {s.node: i for i, s in enumerate(layout.schedule.steps)}
    stage = layout.decisions.stage
    return [step_of[layout.stage_node] if stage and layer.node.name in stage.nodes
            else step_of[layer.node.name] for layer in code.layers]


def buffer_name(code: ModelCode, buffer: str) -> str:
    """An arena buffer as the report and `inspect --plan` name it: a tensor by its name (from
    the model file: escape it before printing), scratch by the layer it belongs to."""
    layout = code.layout
    owner = {layout.scratch_buffer(layer.node.name): layer for layer in code.layers
             if layout.scratch_buffer(layer.node.name)}
    if buffer == layout.scratch_buffer(layout.stage_node):
        return "patch buffers and scratch of the patch stage"
    if buffer in owner:
        layer = owner[buffer]
        ring = " and its band ring" if layer.node.name in layout.decisions.bands else ""
        return f"scratch of step {layer.index}{ring}"
    return buffer


def live_at(code: ModelCode, unit: int | None) -> list[dict]:
    """The arena buffers alive at schedule step `unit`, largest first."""
    if unit is None:
        return []
    alive = sorted((r for r in code.requests if r.first <= unit <= r.last),
                   key=lambda r: (-r.size, r.name))
    return [{"buffer": buffer_name(code, r.name), "bytes": r.size} for r in alive]


def patch_plan(code: ModelCode) -> dict | None:
    stage = code.layout.decisions.stage
    if stage is None:
        return None
    index = {layer.node.name: layer.index for layer in code.layers}
    total = sum(layer.macs for layer in code.layers) or 1
    return {
        "split_layer": index[stage.split_node],
        "split_tensor": stage.split,
        "grid": list(stage.grid),
        "patches": len(stage.steps) // len(stage.nodes),
        "layers": [index[n] for n in stage.nodes],
        "per_patch_buffer_bytes": stage.buffer_bytes,
        "stage_scratch_bytes": stage.scratch_bytes,
        "macs": stage.macs,
        "layer_macs": stage.layer_macs,
        "extra_macs": stage.extra_macs,
        "extra_macs_percent": round(100 * stage.extra_macs / total, 2),
    }


def _in_place(layer: Layer, layout: Layout) -> bool:
    """The layer's output lies on bytes of one of its inputs."""
    node, roots, at = layer.node, layout.roots, layout.sharing.offsets
    out = node.outputs[0]
    return layer.runs not in ("view", "patches") and any(
        t and roots.get(t) == roots.get(out) and at.get(t) == at.get(out) for t in node.inputs)


def weight_info(layer: Layer, graph) -> dict:
    """The layer's weight precision: `weights` (its dtype, None without constant weights) and
    `weight_bytes` and `weight_bits` (flash bytes, and bits per weight, of the weights as the
    kernel stores them, padding included; biases and requantization constants apart)."""
    node = layer.node
    none = {"weights": None, "weight_bytes": 0, "weight_bits": None}
    if not get_op(node, graph).weight_axes or len(node.inputs) < 2 or not node.inputs[1]:
        return none
    w = graph.tensor(node.inputs[1])
    if not w.is_const:
        return none
    stored = {c.suffix: c.values for c in layer.call.consts} if layer.call else {}
    nbytes = stored["weights"].nbytes if "weights" in stored else w.nbytes
    return {"weights": w.dtype, "weight_bytes": int(nbytes),
            "weight_bits": round(8 * nbytes / max(w.size, 1), 3)}


def rom_per_layer(code: ModelCode) -> tuple[list[int], int]:
    """Flash bytes of the constants each layer reads (a constant two layers read counts for
    the first), and those of the training step's own constants: together, every constant."""
    owner: dict[str, int] = {}
    for layer in code.layers:
        if layer.call is None:
            continue
        for a in layer.call.args:
            for name in ((a.ref, *a.refs) if a.kind in ("tensor", "tensor_list") else ()):
                loc = code.locations.get(name)
                if loc is not None and loc.kind == "const":
                    owner.setdefault(loc.symbol, layer.index)
        for symbol in layer.const_symbols.values():
            owner.setdefault(symbol, layer.index)
    if code.train:
        index = {layer.node.name: layer.index for layer in code.layers}
        for t in code.train.state:   # the flash values train_init starts from
            owner.setdefault(t.source, index[t.node])
    rom = [0] * len(code.layers)
    for c in code.consts:
        rom[owner[c.symbol]] += int(c.values.nbytes)
    train = sum(int(v.nbytes) for _, _, v in code.train.consts) if code.train else 0
    return rom, train


def build_report(code: ModelCode, *, target: str = "host", dtype: str = "", **extra) -> dict:
    graph = code.graph
    layout = code.layout
    params = sum(t.size for t in graph.tensors.values() if t.is_const)
    unit_live = layout.live()
    units = _unit_of_layers(code)
    by_node = layout.node_live()
    live = [by_node[layer.node.name] for layer in code.layers]
    peak_unit = max(range(len(unit_live)), key=unit_live.__getitem__) if unit_live else None
    peak = (max((i for i, u in enumerate(units) if u == peak_unit),
                key=lambda i: (live[i], i), default=None) if peak_unit is not None else None)
    layers = []
    rom, train_rom = rom_per_layer(code)
    for layer in code.layers:
        node = layer.node
        loc = code.locations.get(node.outputs[0])
        layers.append({
            "name": node.name,
            "source": node.label or node.name,   # the framework's layer name (Keras)
            "op": node.op,
            "inputs": [list(graph.tensor(n).shape) for n in node.inputs
                       if n and not graph.tensor(n).is_const],
            "output": list(graph.tensor(node.outputs[0]).shape),
            "dtype": graph.tensor(node.outputs[0]).dtype,
            **weight_info(layer, graph),
            "macs": layer.macs,
            "macs_run": layer.macs_run,
            "kernel": layer.call.kernel if layer.call else "view",
            "variant_reason": layer.variant_reason,
            "runs": layer.runs,
            "in_place": _in_place(layer, layout),
            "output_location": loc.kind if loc else "patch buffers",
            "output_offset": loc.offset if loc and loc.kind == "arena" else None,
            "scratch_bytes": layer.call.scratch_bytes if layer.call else 0,
            "live_bytes": live[layer.index],   # arena bytes alive while this layer runs
            "params": sum(graph.tensor(t).size for t in node.inputs
                          if t and graph.tensor(t).is_const),
            "rom_bytes": rom[layer.index],
            "ram_bytes": live[layer.index],
        })

    def io(info):
        return {"name": info.name, "dtype": info.dtype, "shape": list(info.shape),
                "scale": info.scale, "zero_point": info.zero_point,
                "arena_offset": info.arena_offset}

    flat = code.memory.layer_by_layer
    report = {
        "tinyml_version": __version__,
        "name": code.name,
        "target": target,
        "model": graph.source,
        "dtype": dtype,
        "macs": sum(l.macs for l in code.layers),
        "macs_run": sum(l.macs_run for l in code.layers),
        "params": params,
        "flash_bytes": code.weight_bytes,
        "weight_bytes": sum(layer["weight_bytes"] for layer in layers),
        "arena_bytes": code.plan.size,
        "arena_lower_bound_bytes": code.plan.lower_bound,
        "arena_optimal": code.plan.optimal,
        "arena_method": code.plan.method,
        "layer_by_layer_arena_bytes": flat.plan.size,
        "peak_step": peak,
        "peak_live": live_at(code, peak_unit),
        "schedule_exact": code.schedule.exact,
        "io_in_arena": code.io_in_arena,
        "optimize": code.memory.options.optimize,
        "peak_sram_bytes": code.plan.size,
        "patch_plan": patch_plan(code),
        "inputs": [io(i) for i in code.inputs],
        "outputs": [io(o) for o in code.outputs],
        "layers": layers,
        "train": train_report(code.train, train_rom) if code.train else None,
        **extra,
    }
    report["memory"] = memory_totals(report)
    return report


def memory_totals(report: dict) -> dict:
    """Flash and RAM in all, as STM32Cube.AI's analyze gives them: weights (read-only),
    activations (the arena, or the train arena and state when training), inputs and outputs
    outside it, and the estimates (code, stack) tinyml/targets/budget.py makes."""
    from ..targets.budget import needs
    flash, ram = needs(report)
    parts = {name: n for name, n, _ in (*flash.parts, *ram.parts)}
    return {"weights_bytes": parts["weights"],
            "activations_bytes": parts.get("arena", parts.get("train arena", 0)),
            "state_bytes": parts.get("state", 0),
            "input_bytes": parts.get("input", 0), "output_bytes": parts.get("output", 0),
            "stack_bytes_estimate": parts["stack"], "code_bytes_estimate": parts["code"],
            "ram_total_bytes": ram.total, "flash_total_bytes": flash.total}


def train_report(train, rom_bytes: int = 0) -> dict:
    """What the training step updates and the memory it takes (tinyml/train/lower.py). The
    stack is not in it: the firmware measures it."""
    spec = train.plan.spec
    return {
        "mode": spec.mode, "qas": train.plan.qas,
        "updated": [{"layer": t.node, "tensor": t.tensor, "role": t.role,
                     "channels": t.span[3], "of_channels": t.span[1], "params": t.master_count,
                     "bytes": t.nbytes + 4 * t.master_count} for t in train.state],
        "state_bytes": train.state_size,
        "train_arena_bytes": train.arena_size,
        "saved_bytes": train.saved_bytes,
        "gradient_bytes": train.backward_bytes,
        "peak_train_sram_bytes": train.arena_size + train.state_size,
        "rom_bytes": rom_bytes,   # its own constants (gradient scales, update factors)
        "num_classes": int(train.plan.graph.tensor(train.plan.logits).size),
    }
