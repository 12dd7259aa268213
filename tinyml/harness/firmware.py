"""Build the eval firmware for a generated model folder and a board.

One ELF serves both modes (batch for `tinyml run`, the serial protocol for `tinyml eval`):
firmware_templates/ common sources + the board's UART driver + the model's sources, linked
with a linker script rendered from the board's memory map.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import jinja2

from tinyml.codegen.render import c_float
from tinyml.harness.errors import HarnessBuildError, HarnessError
from tinyml.harness.files import replacing, write_atomic
from tinyml.harness.model_dir import ModelInfo, TensorInfo, read_model_dir
from tinyml.harness.protocol import INFO_NAME_MAX
from tinyml.resources import data_dir
from tinyml.targets.boards import Board, get_board
from tinyml.targets.budget import STACK_BYTES

CC = "arm-none-eabi-gcc"
_UART_DRIVERS = {"cmsdk-apb": "cmsdk_apb.c", "stm32-usart": "stm32_usart.c",
                 "stm32-lpuart": "stm32_usart.c", "nrf52-uarte": "nrf52_uarte.c",
                 "nrf51-uart": "nrf51_uart.c"}
_COMMON = ("startup.c", "exit.c", "stack.c", "tm_frame.c", "tm_io.c", "batch.c", "serve.c",
           "main.c", "tm_marks.S")
BAUD = 115200
PROTOCOLS = ("tinyml", "mlperf")   # framed eval protocol | MLPerf Tiny (EEMBC) text protocol
# Free-running counters the MLPerf mode times with where there is no DWT (QEMU): the mps2
# FPGAIO COUNTER register (virtual time under QEMU), clocked at the board's clock except on
# mps3-an547: QEMU 7.2 leaves its FPGAIO prescale clock at the model's 20 MHz default
# (measured against the instruction count under -icount), not the 32 MHz core clock.
_US_COUNTERS = {"mps2-an385": 0x40028018, "mps2-an386": 0x40028018, "mps2-an500": 0x40028018,
                "mps2-an505": 0x50302018, "mps3-an547": 0x59302018}
_US_COUNTER_HZ = {"mps3-an547": 20_000_000}


@dataclass(frozen=True)
class Firmware:
    elf: Path
    board: Board
    model: ModelInfo
    text: int
    data: int
    bss: int
    symbols: dict[str, int]
    mark_count: int
    input_offsets: tuple[int, ...]
    input_total: int
    protocol: str = "tinyml"
    ram_size: int = 0          # RAM it is linked with: the board's, or the model's SRAM budget

    @property
    def flash_bytes(self) -> int:
        return self.text + self.data

    @property
    def static_ram_bytes(self) -> int:
        return self.data + self.bss


def _layout(tensors: tuple[TensorInfo, ...]) -> tuple[list[int], int]:
    """16-byte aligned offsets of the tensors in one buffer, and its size."""
    offsets, pos = [], 0
    for t in tensors:
        offsets.append(pos)
        pos += (t.nbytes + 15) // 16 * 16
    return offsets, pos


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(data_dir("firmware_templates"))),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              trim_blocks=True, lstrip_blocks=True)


def _tensor_records(tensors, offsets):
    # The dtype is not here: the glue sends the header's TM_DTYPE_* macro itself.
    return [dict(offset=o, shape=list(t.shape) or [1],
                 scale_c="0.0f" if t.scale is None else c_float(t.scale), zero_point=t.zero_point or 0)
            for t, o in zip(tensors, offsets)]


def device_name(model: ModelInfo) -> str:
    """The model name the firmware reports in INFO, capped like the protocol's."""
    return model.name[:INFO_NAME_MAX]


def _sources(model: ModelInfo, board: Board, protocol: str = "tinyml") -> list[Path]:
    """Everything compiled into the firmware, but the generated glue."""
    templates = data_dir("firmware_templates")
    common = [s if protocol == "tinyml" or s != "serve.c" else "serve_mlperf.c" for s in _COMMON]
    return ([templates / "common" / s for s in common]
            + [templates / "uart" / _UART_DRIVERS[board.uart.kind]] + model.sources())


def _build_id(board: Board, sources: list[Path]) -> int:
    return int.from_bytes(hashlib.sha256(
        board.name.encode() + b"".join(p.read_bytes() for p in sources)).digest()[:4], "little")


def build_ids(model: ModelInfo) -> dict[int, str]:
    """The build id the serial-protocol firmware of `model` has on each board it builds for
    (what INFO reports), to tell whether a device runs this folder's code."""
    from tinyml.targets.boards import BOARDS
    return {_build_id(b, _sources(model, b)): b.name for b in BOARDS.values()
            if b.uart.kind in _UART_DRIVERS}


def _run(cmd: list[str], cwd: Path, what: str) -> str:
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    except FileNotFoundError:
        raise HarnessBuildError(f"{cmd[0]} not found: install gcc-arm-none-eabi and libnewlib-arm-none-eabi") from None
    except subprocess.TimeoutExpired:
        raise HarnessBuildError(f"{what} did not finish within 600 s") from None
    if done.returncode:
        log = cwd / "build.log"
        log.write_text(" ".join(cmd) + "\n" + done.stdout + done.stderr)
        raise HarnessBuildError(f"{what} failed: {_first_error(done.stderr)} (full log: {log})")
    return done.stdout


_OVERFLOW = re.compile(r"region `(\w+)' overflowed by (\d+) bytes")
_STACK_ASSERT = "static data + stack exceed the board's RAM"


def _first_error(stderr: str) -> str:
    """The line that says why: a linker region overflow (every region, with its bytes), the
    stack check of linker.ld, else the first line naming an error."""
    overflows = _OVERFLOW.findall(stderr)
    if overflows:
        return "the firmware does not fit: " + ", ".join(
            f"{region} overflowed by {int(n):,} bytes" for region, n in overflows)
    if _STACK_ASSERT in stderr:
        return (f"the firmware does not fit: {_STACK_ASSERT} (the stack reserves min(64 KB, RAM/4), "
                f"or {STACK_BYTES:,} bytes under an SRAM budget)")
    lines = stderr.splitlines()
    return next((l for l in lines if "error" in l), " ".join(stderr.split())[:300])


def region_use(fw: Firmware) -> str:
    """Flash and RAM used by the firmware against the board's, as `tinyml build` prints them."""
    board, stack = fw.board, fw.symbols["__stack_top"] - fw.symbols["__stack_limit"]
    ram = fw.static_ram_bytes + stack
    size = fw.ram_size or board.ram.size
    limit = "" if size == board.ram.size else f" (the SRAM budget; the board has {board.ram.size:,})"
    return "\n".join([
        f"flash  {fw.flash_bytes:>10,} of {board.flash.size:>10,} bytes  "
        f"{100 * fw.flash_bytes / board.flash.size:5.1f}%   (text {fw.text:,} + data {fw.data:,})",
        f"RAM    {ram:>10,} of {size:>10,} bytes  {100 * ram / size:5.1f}%   "
        f"(data {fw.data:,} + bss {fw.bss:,} + stack {stack:,}){limit}"])


def build_firmware(model_dir: str | Path, board: str | Board, build_dir: str | Path | None = None,
                   *, opt: str = "-O2", stack_size: int | None = None, protocol: str = "tinyml",
                   mlperf_model: str | None = None, sram: int | None = None) -> Firmware:
    """Compile and link; returns the ELF with its sizes and the symbols the runner needs.

    `protocol` picks the serve loop: "tinyml" (framed, `tinyml eval`) or "mlperf" (the
    MLPerf Tiny runner's text protocol; `mlperf_model` is the id it reports, e.g. kws01).
    `sram` (default: the budget the model was compiled for) links with that much RAM at most,
    the stack budget the planner assumed (STACK_BYTES) reserved at its top, so a run shows
    the model fits: static data, arena, buffers and the measured stack peak all inside it.
    """
    board = get_board(board) if isinstance(board, str) else board
    model = read_model_dir(model_dir)
    if protocol not in PROTOCOLS:
        raise HarnessError(f"protocol {protocol!r}: expected one of {', '.join(PROTOCOLS)}")
    if mlperf_model is not None and not re.fullmatch(r"[\w.-]{1,32}", mlperf_model):
        raise HarnessError(f"MLPerf model id {mlperf_model!r}: letters, digits, '.', '-', '_' only")
    if board.uart.kind not in _UART_DRIVERS:
        raise HarnessError(f"{board.name}: no UART driver for {board.uart.kind} yet")
    if shutil.which(CC) is None:
        raise HarnessBuildError(f"{CC} not found: install gcc-arm-none-eabi and libnewlib-arm-none-eabi")
    suffix = "" if protocol == "tinyml" else f"-{protocol}"
    # Absolute, as the compiler runs inside `out` (a relative -I would point nowhere).
    out = (Path(build_dir) if build_dir else model.folder / ".build" / f"firmware-{board.name}{suffix}").resolve()
    out.mkdir(parents=True, exist_ok=True)
    templates = data_dir("firmware_templates")
    sources = _sources(model, board, protocol)
    build_id = _build_id(board, sources)

    in_offsets, in_total = _layout(model.inputs)
    out_offsets, out_total = _layout(model.outputs)
    env = _env()
    tensors_max_rank = max([len(t.shape) for t in model.inputs + model.outputs] + [1])
    glue = dict(model=dict(name=device_name(model), header=model.header, prefix=model.prefix, macro=model.macro,
                           num_layers=model.num_layers, io_in_arena=model.io_in_arena,
                           train=model.train is not None,
                           inputs=_tensor_records(model.inputs, in_offsets),
                           outputs=_tensor_records(model.outputs, out_offsets)),
                build_id=build_id, input_total=in_total, output_total=out_total,
                max_rank=tensors_max_rank)
    for name in ("tm_model_glue.h", "tm_model_glue.c"):
        write_atomic(out / name, env.get_template(f"{name.removeprefix('tm_')}.j2").render(**glue))
    sources.append(out / "tm_model_glue.c")
    budget = sram or model.sram_budget
    ram_size = min(board.ram.size, budget) if budget else board.ram.size
    stack = stack_size or (STACK_BYTES if budget else min(64 * 1024, board.ram.size // 4))
    write_atomic(out / "linker.ld", env.get_template("linker.ld.j2").render(
        board=board, stack_size=stack, ram_size=ram_size))

    mark_count = 2 + 2 * max(model.num_layers, 1)
    core = board.core
    defines = [f"-DTM_UART_BASE=0x{board.uart.base:08X}u", f"-DTM_UART_RX_IRQ={board.uart.rx_irq}u",
               f"-DTM_CLOCK_HZ={board.clock_hz}u", f"-DTM_BAUD={BAUD}u", f"-DTM_MARK_COUNT={mark_count}",
               "-DTM_BOARD_" + re.sub(r"\W", "_", board.name.upper())]
    if board.emulated:
        defines.append("-DTM_SEMIHOSTING")
    elif core.arch != "armv6-m":   # ARMv6-M has no DWT cycle counter
        defines.append("-DTM_HAVE_DWT")
    if protocol == "mlperf":
        defines += _mlperf_defines(board, mlperf_model)
    elf = out / "firmware.elf"
    cmd = [CC, *core.cflags, opt, "-g", "-std=gnu11", "-Wall", "-Wextra", "-Werror",
           "-ffunction-sections", "-fdata-sections", *defines,
           f"-I{out}", f"-I{templates / 'common'}", f"-I{model.folder}",
           "-include", "tm_profile.h",
           *map(str, sources),
           "-nostartfiles", "--specs=nano.specs", f"-T{out / 'linker.ld'}",
           "-Wl,--gc-sections", f"-Wl,-Map={out / 'firmware.map'}", "-o", str(elf), "-lm"]
    # Rebuild only when a source, the glue, the linker script or a flag changed.
    digest = hashlib.sha256("\0".join(cmd).encode())
    for f in [*sources, *templates.glob("common/*.h"), out / "tm_model_glue.h", out / "linker.ld",
              *model.folder.glob("*.h")]:
        digest.update(f.read_bytes())
    stamp = out / "firmware.stamp"
    if not (elf.exists() and stamp.exists() and stamp.read_text() == digest.hexdigest()):
        stamp.unlink(missing_ok=True)
        mapfile = out / "firmware.map"
        # Link to private names, then rename: a concurrent caller never runs a half-written ELF.
        with replacing(elf) as elf_tmp, replacing(mapfile) as map_tmp:
            private = {str(elf): str(elf_tmp), f"-Wl,-Map={mapfile}": f"-Wl,-Map={map_tmp}"}
            _run([private.get(a, a) for a in cmd], out, f"building firmware for {model.name} on {board.name}")
        write_atomic(stamp, digest.hexdigest())
    text, data, bss = _sizes(elf, out)
    return Firmware(elf, board, model, text, data, bss, _symbols(elf, out, model.io_in_arena),
                    mark_count, tuple(in_offsets), in_total, protocol, ram_size)


def _mlperf_defines(board: Board, model_id: str | None) -> list[str]:
    """The timer behind m-lap-us and the model id m-model-[...] reports."""
    defines = [f'-DTM_MLPERF_MODEL="{model_id}"'] if model_id else []
    if board.name in _US_COUNTERS:
        return defines + [f"-DTM_US_COUNTER=0x{_US_COUNTERS[board.name]:08X}u",
                          f"-DTM_US_COUNTER_HZ={_US_COUNTER_HZ.get(board.name, board.clock_hz)}u"]
    if board.emulated or board.core.arch == "armv6-m":
        raise HarnessError(f"{board.name}: no counter to time inferences with in MLPerf mode")
    return defines   # DWT CYCCNT at the core clock


def _sizes(elf: Path, cwd: Path) -> tuple[int, int, int]:
    lines = _run(["arm-none-eabi-size", str(elf)], cwd, "arm-none-eabi-size").splitlines()
    text, data, bss = (int(v) for v in lines[1].split()[:3])
    return text, data, bss


def _symbols(elf: Path, cwd: Path, io_in_arena: bool = False) -> dict[str, int]:
    wanted = {"tm_batch", "tm_marks", "__stack_top", "__stack_limit"}
    if io_in_arena:   # the batch preloads sample 0 into the arena, the rest above static data
        wanted |= {"tm_arena", "__noinit_end"}
    found = {}
    for line in _run(["arm-none-eabi-nm", str(elf)], cwd, "arm-none-eabi-nm").splitlines():
        m = re.match(r"([0-9a-fA-F]+)\s+\w\s+(\S+)$", line)
        if m and m.group(2) in wanted:
            found[m.group(2)] = int(m.group(1), 16)
    missing = wanted - found.keys()
    if missing:
        raise HarnessError(f"{elf}: symbols {sorted(missing)} missing after link")
    return found
