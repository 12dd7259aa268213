"""The `tinyml` command: thin wrappers over the library; errors become one line and an exit code."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from . import __version__
from .errors import TinymlError, UsageError
from .text import printable


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


def _parse_shapes(text: str | None) -> dict[str, tuple[int, ...]] | None:
    """`name:1,3,32,32;other:1,10` or `1,3,32,32` (the first input)."""
    if not text:
        return None
    shapes = {}
    for part in text.split(";"):
        name, _, dims = part.rpartition(":")
        try:
            shapes[name] = tuple(int(d) for d in dims.split(","))
        except ValueError:
            raise UsageError(f"--input-shape {text!r}: expected NAME:D,D,... or D,D,...") from None
    return shapes


LAYER_NAME_WIDTH = 24
FORMATS = ("table", "markdown", "json")


def _layer_rows(report: dict) -> list[tuple[str, ...]]:
    """The per-layer table's rows: the source layer's name (Keras's, else the node's), ROM
    (flash bytes of the constants it reads), RAM (arena bytes alive while it runs, its peak
    over patches for a patch stage), `runs` how (in place, by bands, by patches)."""
    rows = [("#", "layer", "op", "output", "MACs", "params", "ROM B", "RAM B", "weights",
             "kernel", "runs")]
    for i, layer in enumerate(report["layers"]):
        how = {"whole": "", "view": ""}.get(layer["runs"], layer["runs"])
        if layer.get("in_place"):
            how = ("in place" + (f", {how}" if how else ""))
        weights = (f"{layer['weights']} {layer['weight_bits']:g}b" if layer.get("weights")
                   else "")
        rows.append((str(i), printable(layer["source"], LAYER_NAME_WIDTH), layer["op"],
                     "x".join(map(str, layer["output"])), f"{layer['macs']:,}",
                     f"{layer['params']:,}", f"{layer['rom_bytes']:,}", f"{layer['ram_bytes']:,}",
                     weights, layer["kernel"],
                     (how + (" <- peak" if i == report["peak_step"] else "")).strip()))
    return rows


def _memory_line(report: dict) -> str:
    m = report["memory"]
    state = f" + state {m['state_bytes']:,}" if m["state_bytes"] else ""
    return (f"flash ~{m['flash_total_bytes']:,} B (weights {m['weights_bytes']:,} + code "
            f"~{m['code_bytes_estimate']:,})   RAM ~{m['ram_total_bytes']:,} B (activations "
            f"{m['activations_bytes']:,}{state} + input {m['input_bytes']:,} + output "
            f"{m['output_bytes']:,} + stack ~{m['stack_bytes_estimate']:,})")


def _report_text(report: dict, fmt: str) -> str:
    """The analyze report: per layer, then totals; `fmt` table, markdown or json."""
    if fmt == "json":
        return json.dumps(report, indent=2)
    rows = _layer_rows(report)
    if fmt == "markdown":
        right = {4, 5, 6, 7}
        lines = ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        lines.insert(1, "|" + "|".join("---:" if c in right else "---" for c in range(len(rows[0]))) + "|")
        return "\n".join([*lines, "", f"- {_summary(report)}", f"- {_memory_line(report)}"])
    return _layer_table(rows, report)


def _layer_table(rows: list[tuple[str, ...]], report: dict) -> str:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    right = (4, 5, 6, 7)
    lines = ["  ".join(cell.rjust(w) if c in right else cell.ljust(w)
                       for c, (cell, w) in enumerate(zip(row, widths))).rstrip() for row in rows]
    lines.insert(1, "-" * max(len(line) for line in lines))
    lines += ["", _summary(report), _memory_line(report)]
    patch = report.get("patch_plan")
    if patch:
        lines.append(f"patches: {patch['grid'][0]}x{patch['grid'][1]} up to layer "
                     f"{patch['split_layer']} (layers {patch['layers'][0]}-{patch['layers'][-1]}), "
                     f"per-patch buffers {patch['per_patch_buffer_bytes']:,} B, extra MACs "
                     f"{patch['extra_macs']:,} ({patch['extra_macs_percent']:g}%); layer by "
                     f"layer the arena is {report['layer_by_layer_arena_bytes']:,} B")
    return "\n".join(lines)


def _summary(report: dict) -> str:
    ternary = sum(layer.get("weights") == "ternary" for layer in report["layers"])
    return (f"MACs {report['macs']:,}   params {report['params']:,}   "
            f"weights {report['flash_bytes']:,} B   arena {report['arena_bytes']:,} B "
            f"(lower bound {report['arena_lower_bound_bytes']:,} B)   dtype {report['dtype']}"
            + (f" (ternary weights in {ternary} layers)" if ternary else ""))


def _plan_text(code) -> str:
    """Every arena buffer: its bytes, offsets and the steps it lives (`inspect --plan`)."""
    from .codegen.report import buffer_name
    layout = code.layout
    plan = layout.plan
    steps = [s.node for s in layout.schedule.steps]
    names = {layer.node.name: layer.index for layer in code.layers}
    stage = layout.decisions.stage

    def step_name(i: int) -> str:
        node = steps[i]
        if node == layout.stage_node:
            return f"patches (layers {names[stage.nodes[0]]}-{names[stage.nodes[-1]]})"
        return f"layer {names[node]}"

    def name(buffer: str) -> str:
        text = buffer_name(code, buffer)
        return printable(text, 60) if text == buffer else text   # tensor names: the model's
    lines = [f"arena {plan.size:,} bytes, lower bound {plan.lower_bound:,} "
             f"({'proved least' if plan.optimal else 'not proved least'}; {plan.method}), "
             f"alignment {plan.alignment}",
             f"{'offset':>10} {'end':>10} {'bytes':>9}  {'from':<28} {'to':<28} buffer"]
    for r in sorted(layout.requests, key=lambda r: (plan.offsets[r.name], r.first)):
        off = plan.offsets[r.name]
        lines.append(f"{off:>10,} {off + r.size:>10,} {r.size:>9,}  {step_name(r.first):<28} "
                     f"{step_name(r.last):<28} {name(r.name)}")
    return "\n".join(lines)


def _load_calib(value: str | None):
    """`random`, an .npy of samples, or an .npz with the samples as `x`."""
    if value is None or value == "random":
        return value
    from .harness.inputs import read_arrays
    data = read_arrays(value, "--calib")
    if isinstance(data, dict):
        if "x" not in data:
            raise UsageError(f"--calib {value}: the .npz has no array 'x' (it has "
                             f"{', '.join(repr(k) for k in data) or 'nothing'})")
        data = data["x"]
    if data.dtype.kind != "f" or not np.isfinite(data).all():
        raise UsageError(f"--calib {value}: expected finite float samples, got {data.dtype}"
                         + (" with NaN or infinite values" if data.dtype.kind == "f" else ""))
    return data


def _board_core(args) -> str:
    """--board names the core; a --target beside it must agree."""
    if not getattr(args, "board", None):
        return args.target or "host"
    from .targets.boards import get_board
    try:
        board = get_board(args.board)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    if args.target and args.target != board.core_name:
        raise UsageError(f"--target {args.target} disagrees with --board {board.name} "
                         f"(a {board.core_name}); give one of them")
    return board.core_name


def _sram_budget(args) -> int | None:
    """--sram, else the --board's SRAM: what the planner must fit RAM total into."""
    if args.sram is not None:
        return _size_arg(args.sram, "--sram")
    if args.board:
        from .targets.boards import get_board
        return get_board(args.board).ram.size
    return None


def _size_arg(text: str, flag: str) -> int:
    from .targets import budget
    try:
        return budget.parse_size(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def _train_spec(args):
    if args.train is None:
        return None
    from .train.spec import parse
    return parse(args.train)


def _train_text(train: dict, sram: int, ram) -> str:
    """The training step's summary: what it updates and the RAM it takes."""
    updated = ", ".join(f"{printable(u['layer'], 30)} {u['role']}"
                        + (f" {u['channels']}/{u['of_channels']} ch"
                           if u["channels"] < u["of_channels"] else "")
                        for u in train["updated"][:6])
    more = len(train["updated"]) - 6
    return (f"training ({train['mode']}, QAS {'on' if train['qas'] else 'off'}): updates "
            f"{updated}{f' and {more} more' if more > 0 else ''}; fits --train-sram "
            f"{sram:,} bytes: RAM {ram.total:,} ({ram.describe()})")


def _compile(args, write: bool) -> int:
    from .codegen.report import build_report
    from .compiler import compile_model, default_name, write as write_out
    from .targets import budget

    target = _board_core(args)
    calib = _load_calib(getattr(args, "calib", None))
    sram = _sram_budget(args)
    train_sram = _size_arg(args.train_sram, "--train-sram")
    compiled = compile_model(args.model, name=args.name, target=target, dtype=args.dtype,
                             calib=calib, calib_method=args.calib_method,
                             calib_percentile=args.calib_percentile,
                             input_shapes=_parse_shapes(args.input_shape),
                             progress=sys.stderr.isatty(), io=args.io, optimize=args.optimize,
                             patch=args.patch, patch_overhead=args.patch_overhead / 100,
                             sram=sram, ternary_layers=args.ternary_layers,
                             ternary_scale=args.ternary_scale, train=_train_spec(args),
                             train_sram=train_sram, train_data=args.train_data)
    report = build_report(compiled.code, target=target, dtype=compiled.dtype)
    train_fit = None
    if compiled.code.train:   # before anything is written
        train_fit = (train_sram, budget.check_train_sram(report, train_sram, args.model))
    fits = None
    sram_fit = None
    if args.sram is not None:   # before anything is written
        sram_fit = (sram, budget.check_sram(report, sram, args.model))
    if args.board:   # before anything is written
        from .targets.boards import get_board
        board = get_board(args.board)
        fits = (board, *budget.check_fits(report, board, args.model))
    elif (warning := budget.flash_warning(report, target)) is not None:
        warnings.warn(warning)
    if getattr(args, "plot", None):
        from .plot import plot_memory
        plot_memory(compiled.code, args.plot)
    if write:
        outdir = Path(args.output or f"./{args.name or default_name(args.model)}_tinyml")
        report = write_out(compiled, outdir, target, sram)
    print(_report_text(report, args.format))
    if args.format == "json":   # stdout is one JSON document
        return 0
    if getattr(args, "plan", False):
        print()
        print(_plan_text(compiled.code))
    if fits:
        board, flash, ram = fits
        print(f"fits {board.name}: flash {flash.total:,} of {board.flash.size:,} bytes "
              f"({flash.describe()}), RAM {ram.total:,} of {board.ram.size:,} bytes ({ram.describe()})")
    if sram_fit:
        sram, ram = sram_fit
        print(f"fits --sram {sram:,} bytes: RAM {ram.total:,} ({ram.describe()})")
    if train_fit:
        print(_train_text(report["train"], *train_fit))
    if getattr(args, "plot", None):
        print(f"wrote {args.plot}")
    if write:
        print(f"wrote {outdir}/")
    return 0


def _write_outputs(path: str, outputs: list[np.ndarray], specs: list[dict]) -> None:
    """An .npz names each output as the model does (as `run` reads inputs); an .npy holds
    the one output of a one-output model."""
    from .harness.inputs import input_names
    if path.endswith(".npz"):
        np.savez(path, **dict(zip(input_names(specs), outputs)))
    elif len(outputs) == 1:
        np.save(path, outputs[0])
    else:
        raise UsageError(f"--output {path}: the model has {len(outputs)} outputs; name an .npz")


def _run(args) -> int:
    from .harness.host import read_report, run_host
    from .harness.inputs import dequantize_outputs, match_inputs, model_batch, read_arrays

    if args.board:   # a wrong board is found before anything is read or built
        from .harness.board_run import board_for_run, run_emulated
        board = board_for_run(args.board, args.model_dir)
    elif args.stats or args.emulator:
        raise UsageError("--stats and --emulator need --board (an emulated board, e.g. mps2-an386)")
    report = read_report(Path(args.model_dir))
    if args.output and not args.output.endswith(".npz") and len(report["outputs"]) > 1:
        raise UsageError(f"--output {args.output}: the model has {len(report['outputs'])} outputs; "
                         "name an .npz")
    what = f"--input {args.input}"
    batch = model_batch(match_inputs(read_arrays(args.input, "--input"), report["inputs"], what),
                        report["inputs"], what)
    status = 0
    if args.board:
        outputs, stats, table = run_emulated(Path(args.model_dir), board, batch.inputs, args.emulator)
        print(table)
        if args.stats:
            Path(args.stats).write_text(json.dumps(stats, indent=2) + "\n")
        status = stats["status"]
    else:
        outputs = run_host(Path(args.model_dir), batch.inputs)
    outputs = batch.shape_outputs(outputs)
    if args.dequantize:
        outputs = dequantize_outputs(outputs, report["outputs"])
    if args.output:
        _write_outputs(args.output, outputs, report["outputs"])
    else:
        np.set_printoptions(threshold=64, linewidth=100)
        for i, out in enumerate(outputs):
            print(f"output {i} {out.dtype} {list(out.shape)}:\n{out}")
    if status:   # the firmware's own status is the exit code (never 0 for a failure)
        print(f"tinyml: the firmware returned status {status}", file=sys.stderr)
        return (status & 0xFF) or 1
    return 0


def _build(args) -> int:
    from .harness.firmware import build_firmware, region_use
    from .targets.boards import get_board
    try:
        board = get_board(args.board)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    fw = build_firmware(Path(args.model_dir), board)
    print(f"built {fw.elf} for {board.name} ({board.description})")
    print(region_use(fw))
    return 0


def _flash(args) -> int:
    from .harness.flash import flash
    result = flash(Path(args.model_dir), args.board, args.probe)
    print(" ".join(result.command))
    print(f"flashed {result.images.elf} to {result.board} with {result.probe}; "
          f"now `tinyml eval {args.model_dir} --port <serial port> --dataset ...`")
    return 0


def _eval(args) -> int:
    from .harness.evaluate import evaluate, format_table
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    result = evaluate(Path(args.model_dir), args.dataset, board=args.board, port=args.port,
                      baud=args.baud, limit=args.limit, float_model=args.float_model,
                      timeout=args.timeout, jobs=args.jobs)
    print(format_table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    return 0 if result.passed else 1


def _validate(args) -> int:
    from .harness.validate import format_markdown, validate
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    result = validate(Path(args.model_dir), args.dataset, args.original, board=args.board,
                      port=args.port, baud=args.baud, limit=args.limit, timeout=args.timeout,
                      jobs=args.jobs)
    text = format_markdown(result)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")
    return 1 if result.failed_status else 0


def _train(args) -> int:
    from .harness.train import format_run, train
    run = train(Path(args.model_dir), args.dataset, board=args.board, port=args.port,
                baud=args.baud, epochs=args.epochs, lr=args.lr, eval_set=args.eval,
                timeout=args.timeout, jobs=args.jobs)
    print(format_run(run))
    if args.state:
        Path(args.state).write_bytes(run.state)
    if args.json:
        Path(args.json).write_text(json.dumps(run.to_dict(), indent=2) + "\n")
    return 0


def _targets(args) -> int:
    from .targets.boards import BOARDS, available_tools
    from .targets.cores import CORES
    print("cores: " + ", ".join(CORES))
    print("boards:")
    rows = [("board", "core", "flash", "SRAM", "clock", "")] + [
        (b.name, b.core_name, f"{b.flash.size // 1024:,} KB", f"{b.ram.size // 1024:,} KB",
         f"{b.clock_hz / 1e6:g} MHz" + (f" (max {b.max_clock_hz / 1e6:g})" if b.max_clock_hz else ""),
         b.description) for b in BOARDS.values()]
    widths = [max(len(r[c]) for r in rows) for c in range(5)]
    for row in rows:
        print(("  " + "  ".join(cell.rjust(w) if c in (2, 3, 4) else cell.ljust(w)
                                for c, (cell, w) in enumerate(zip(row, widths))) + "  " + row[5]).rstrip())
    print("tools: " + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in available_tools().items()))
    return 0


def device_args(p, shared: str) -> None:
    """Where eval, validate and train run: QEMU (--board, --jobs emulators) or boards (one or
    more --port); `shared` says how several devices share the work."""
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--board", help="build the firmware and run it in QEMU on this board")
    where.add_argument("--port", action="append", help="a board running the eval firmware: "
                       f"/dev/ttyACM0, socket://HOST:PORT; repeat it for several boards ({shared})")
    p.add_argument("--jobs", type=int, help="with --board: emulators run at once, one per core "
                   f"(0: as many as cores; default 1; {shared})")
    p.add_argument("--baud", type=int, default=115200)
    p.add_argument("--timeout", type=float, default=2.0, help="seconds per request (default 2)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tinyml", description="Compile neural networks into plain C for "
                     "Arm Cortex-M microcontrollers, and prove them on an emulator or a board.")
    parser.add_argument("--version", action="version", version=f"tinyml {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def model_args(p):
        p.add_argument("model", help="an .onnx, .tflite, .h5/.keras file or a SavedModel folder")
        p.add_argument("--target",
                       help="cortex-m0|cortex-m0plus|cortex-m3|cortex-m4|cortex-m7|cortex-m33|cortex-m55|host "
                       "(default: the --board's core, else host)")
        p.add_argument("--board", help="a board (`tinyml targets`): its core, and a check that "
                       "weights + code fit its flash and arena + I/O + stack its SRAM")
        p.add_argument("--sram", help="an SRAM budget, e.g. 64K (default: the --board's SRAM): "
                       "RAM total = arena + the input and output buffers outside it + estimated "
                       "stack (2 KB) must fit; the planner runs the first layers patch by patch "
                       "if that is what fits")
        p.add_argument("--optimize", choices=("speed", "balanced", "ram"), default="balanced",
                       help="the memory planner at the peak layer: speed (only what costs no "
                       "time), balanced (default: also runs layers in place by bands of rows), "
                       "ram (also kernels with less scratch, slower)")
        p.add_argument("--patch", metavar="off|auto|RxC@LAYER",
                       help="patch-based execution of the first layers (MCUNetV2): auto picks "
                       "the split layer and grid of least RAM within --patch-overhead; RxC@LAYER "
                       "runs an R x C grid up to LAYER (its # in the table, or its name); off "
                       "never (default: only when --sram or --board is not met otherwise)")
        p.add_argument("--patch-overhead", type=float, default=15.0, metavar="PERCENT",
                       help="extra MACs --patch auto may spend recomputing halos, in percent of "
                       "the model's (default 15)")
        p.add_argument("--io", choices=("caller", "arena"), default="caller",
                       help="where the model's inputs and outputs live: the caller's buffers "
                       "(default) or inside the arena, reused once dead (<name>_invoke_arena)")
        p.add_argument("--name", help="C prefix of the generated library (default: the file name)")
        p.add_argument("--dtype", choices=("int8", "float32", "ternary"),
                       help="compute type (default: the model's own); ternary: int8 with "
                       "1.58-bit weights {-1, 0, +1} x a scale per output channel in the layers "
                       "of --ternary-layers. int8 weights already ternary compile as ternary")
        p.add_argument("--ternary-layers", default="inner", metavar="inner|all|NAME,...",
                       help="Conv2D, DepthwiseConv2D and FullyConnected layers --dtype ternary "
                       "makes ternary: inner (default: all but the first and the last), all, or "
                       "layer names")
        p.add_argument("--ternary-scale", choices=("absmean", "median"), default="median",
                       help="per-channel scale of --dtype ternary: the median of |w| (default: "
                       "closer to float on the MLPerf Tiny models, benchmarks/ternary_report.py) "
                       "or their mean (BitNet b1.58's absmean)")
        p.add_argument("--calib", help="calibration data for --dtype int8 or ternary: float "
                       "samples in an "
                       ".npy or as 'x' in an .npz, or 'random' (accuracy unknown)")
        p.add_argument("--calib-method", choices=("minmax", "percentile"), default="minmax",
                       help="activation ranges from the calibration data (default: minmax)")
        p.add_argument("--calib-percentile", type=float, default=99.99,
                       help="percentile for --calib-method percentile (default: 99.99)")
        p.add_argument("--input-shape", help="shapes of dynamic inputs: NAME:1,3,32,32;...")
        p.add_argument("--format", choices=FORMATS, default="table",
                       help="the report on stdout: a table (default), a markdown table, or "
                       "report.json's document")
        p.add_argument("--train", metavar="full|last:K|sparse[:CONFIG]",
                       help="also generate <name>_train_step: SGD on the weights and biases of "
                       "every layer (full), of the last K layers, or of the subset a JSON config "
                       "names (sparse:CONFIG; sparse alone chooses it), int8 models only")
        p.add_argument("--train-data", metavar="NPZ",
                       help="with --train sparse: labelled samples of the new domain (x, y) on "
                       "which each candidate's contribution is measured (default: a proxy)")
        p.add_argument("--train-sram", default="256K", metavar="SIZE",
                       help="with --train: RAM training may take, train arena + state + I/O + "
                       "stack (default 256K); compiling fails above it")

    p = sub.add_parser("compile", help="compile a model into a C library folder")
    model_args(p)
    p.add_argument("-o", "--output", help="output folder (default: ./<name>_tinyml/)")
    p.set_defaults(func=lambda a: _compile(a, write=True))

    p = sub.add_parser("inspect", help="print the per-layer table; write nothing")
    model_args(p)
    p.add_argument("--plan", action="store_true",
                   help="also print the memory plan: every arena buffer, its offset and lifetime")
    p.add_argument("--plot", metavar="PNG", help="draw the arena bytes alive per layer, layer by "
                   "layer beside the plan chosen, the peak marked (needs matplotlib)")
    p.set_defaults(func=lambda a: _compile(a, write=False))

    p = sub.add_parser("run", help="build a compiled folder and run it on inputs")
    p.add_argument("model_dir", help="a folder written by `tinyml compile`")
    p.add_argument("--input", required=True, help="in.npy (the one input) or in.npz (one array "
                   "per input name); [N, *shape] (or [N, *shape[1:]] when the batch is 1) means N "
                   "inferences; float for a quantized input is quantized with its scale")
    p.add_argument("--output", help="out.npy or out.npz (outputs by name; default: print)")
    p.add_argument("--dequantize", action="store_true",
                   help="integer outputs as float32 with their scale and zero point")
    p.add_argument("--board", help="run in the emulator on this board instead of the host")
    p.add_argument("--stats", help="with --board: write instructions (total, per layer), MACs per "
                   "instruction, firmware sizes, peak stack and arena bytes to this .json")
    p.add_argument("--emulator", choices=("qemu", "renode"),
                   help="with --board: the emulator (default qemu; renode must be on PATH)")
    p.set_defaults(func=_run)

    p = sub.add_parser("build", help="build the eval firmware for a board (no probe needed) "
                       "and print its flash and RAM use")
    p.add_argument("model_dir", help="a folder written by `tinyml compile`")
    p.add_argument("--board", required=True, help="any board of `tinyml targets`")
    p.set_defaults(func=_build)

    p = sub.add_parser("flash", help="build the eval firmware for a real board and flash it")
    p.add_argument("model_dir", help="a folder written by `tinyml compile`")
    p.add_argument("--board", required=True, help="a real board, e.g. nucleo-l4r5zi")
    p.add_argument("--probe", choices=("pyocd", "openocd", "stlink"),
                   help="flash tool (default: the first one found on PATH)")
    p.set_defaults(func=_flash)

    p = sub.add_parser("eval", help="stream a data set through the device over the serial protocol "
                       "and compare with the host (exit 1 unless every integer output is "
                       "bit-exact and every float32 one within tolerance)")
    p.add_argument("model_dir", help="a folder written by `tinyml compile`")
    p.add_argument("--dataset", required=True, help="an .npz with one array per input name (x for "
                   "a one-input model), shaped as `run --input` takes them, in the model's input "
                   "dtype or float (then quantized), and optional labels y (one per sample)")
    device_args(p, "the samples are split between them and the results merged in sample order")
    p.add_argument("--limit", type=int, help="only the first N samples")
    p.add_argument("--json", help="write the results to this JSON file")
    p.add_argument("--float-model", help="the original float model: adds acc, rmse, mae, l2r, "
                   "cos, nse (run by its own framework)")
    p.set_defaults(func=_eval)

    p = sub.add_parser("validate", help="the C model on the device against the original model "
                       "in its own framework and against tinyml's reference of it: acc, rmse, "
                       "mae, l2r, cos, nse per output; duration")
    p.add_argument("model_dir", help="a folder written by `tinyml compile`")
    p.add_argument("--dataset", required=True, help="an .npz of samples (as `eval --dataset`), "
                   "optional labels y")
    p.add_argument("--original", required=True, help="the model compiled: .onnx (run by "
                   "onnxruntime), .tflite (TFLite Micro), .keras/.h5/SavedModel (TensorFlow)")
    device_args(p, "the samples are split between them")
    p.add_argument("--limit", type=int, help="only the first N samples")
    p.add_argument("--json", help="write the results to this JSON file")
    p.add_argument("--markdown", help="write the table to this markdown file")
    p.set_defaults(func=_validate)

    p = sub.add_parser("train", help="train a model compiled with --train on the device over the "
                       "serial protocol; accuracy before and after")
    p.add_argument("model_dir", help="a folder written by `tinyml compile --train`")
    p.add_argument("--dataset", required=True, help="an .npz of training samples (x, or one "
                   "array per input name, as `eval --dataset`) and their labels y")
    device_args(p, "training runs on the first, the accuracy measurements are split between "
                "them")
    p.add_argument("--epochs", type=int, default=1, help="passes over the dataset (default 1)")
    p.add_argument("--lr", type=float, default=0.01, help="SGD learning rate (default 0.01)")
    p.add_argument("--eval", help="an .npz with labels to measure accuracy on (default: the "
                   "training samples)")
    p.add_argument("--state", help="write the trained state buffer's bytes to this file")
    p.add_argument("--json", help="write the results to this JSON file")
    p.set_defaults(func=_train)

    p = sub.add_parser("targets", help="list cores, boards and the tools present")
    p.set_defaults(func=_targets)
    return parser


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"tinyml: warning: {printable(str(message))}\n"


def main(argv: list[str] | None = None) -> int:
    warnings.formatwarning = _one_line_warning
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except TinymlError as exc:
        print(f"tinyml: error: {printable(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("tinyml: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug of ours: still one line, unless debugging
        if os.environ.get("TINYML_DEBUG"):
            raise
        print(f"tinyml: internal error: {type(exc).__name__}: {printable(str(exc))} "
              "(set TINYML_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
