"""Run the eval firmware in QEMU: one batch inference (`tinyml run`) or a serial session
(`tinyml eval`), with exact instruction counts from tinyml's plugin.

Batch: inputs are preloaded into RAM (-device loader, raw), outputs come back as frames
on the UART (written to a file), the exit status via semihosting.
Serial: the UART is a TCP server (`nodelay=on`, else small replies stall ~40 ms).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from tinyml.harness import framing as fr
from tinyml.harness import icount
from tinyml.harness.emulator import EmulatorSession, free_port
from tinyml.harness.errors import HarnessError
from tinyml.harness.firmware import Firmware, build_firmware
from tinyml.harness.protocol import Device, InvokeResult, TrainResult, parse_invoke, to_bytes
from tinyml.harness.inputs import as_batch
from tinyml.harness.stats import RunStats, report_macs
from tinyml.targets.boards import Board, get_board

QEMU = "qemu-system-arm"
EXIT_FAULT = 0xFE
BATCH_MAGIC = 0x31424D54
_RESULT = struct.Struct("<IBI")   # a RESULT frame's sample, output index, byte offset


def qemu_base_command(board: Board, elf: Path) -> list[str]:
    if not board.emulated:
        raise HarnessError(f"{board.name} is a real board; QEMU runs {', '.join(_qemu_boards())}")
    if shutil.which(QEMU) is None:
        raise HarnessError(f"{QEMU} not found: install the Debian package qemu-system-arm")
    return [QEMU, "-machine", board.qemu_machine, "-display", "none", "-monitor", "none",
            "-parallel", "none", "-semihosting-config", "enable=on,target=native",
            "-kernel", str(elf)]


def _qemu_boards() -> list[str]:
    from tinyml.targets.boards import BOARDS
    return [b.name for b in BOARDS.values() if b.emulated]


def _per_run(fw: Firmware) -> int:
    """How many samples one QEMU process takes: all that fit in the RAM left free."""
    start = fw.symbols["__noinit_end"] if fw.model.io_in_arena else fw.symbols["tm_batch"] + 16
    room = fw.symbols["__stack_limit"] - start
    return max(1, room // max(fw.input_total, 1) + (1 if fw.model.io_in_arena else 0))


def run_firmware(fw: Firmware, inputs: list[np.ndarray], *, timeout: float = 120.0,
                 workdir: Path | None = None) -> tuple[list[np.ndarray], RunStats]:
    """Inference on one sample (inputs shaped as the model's) or a batch ([N, *shape]).

    The samples run in one QEMU process, or in as many as the free RAM needs (a firmware
    linked with a small SRAM budget holds few). Outputs come back in the inputs' convention;
    stats describe sample 0, with every sample's total in `sample_instructions`.
    `workdir` keeps the run's files (inputs.bin, uart.bin, marks.log) for inspection.
    """
    batch, batched = as_batch(inputs, fw.model)
    count, per_run = batch[0].shape[0], _per_run(fw)
    outputs, stats = [], None
    for first in range(0, count, per_run):
        part = [x[first:first + per_run] for x in batch]
        if workdir is None:
            with tempfile.TemporaryDirectory(prefix="tinyml-run-") as tmp:
                out, st = _run_batch(fw, part, timeout, Path(tmp))
        else:
            out, st = _run_batch(fw, part, timeout, Path(workdir))
        outputs.append(out)
        if stats is None:
            stats = st
        else:
            stats.sample_instructions.extend(st.sample_instructions)
            stats.peak_stack = max(stats.peak_stack, st.peak_stack)
            stats.status = stats.status or st.status
    merged = [np.concatenate([o[i] for o in outputs]) for i in range(len(outputs[0]))]
    return (merged if batched else [o[0] for o in merged]), stats


def _run_batch(fw: Firmware, batch: list[np.ndarray], timeout: float, tmp: Path
               ) -> tuple[list[np.ndarray], RunStats]:
    """One QEMU process over `batch` ([N, size] per input); outputs [N, *shape]."""
    model = fw.model
    count = batch[0].shape[0]
    tmp.mkdir(parents=True, exist_ok=True)
    uart, log = tmp / "uart.bin", tmp / "marks.log"
    cmd = qemu_base_command(fw.board, fw.elf) + ["-serial", f"file:{uart}",
                                                 *_preload(fw, batch, count, tmp),
        *icount.plugin_args(icount.plugin_path(), fw.symbols["tm_marks"], fw.mark_count, log)]
    start = time.monotonic()
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise HarnessError(f"{model.name} on {fw.board.name}: no exit within {timeout:g} s") from None
    wall = time.monotonic() - start
    if done.returncode == EXIT_FAULT:
        raise HarnessError(f"{model.name} on {fw.board.name}: the firmware faulted (HardFault or stray interrupt)")
    frames = fr.decode_all(uart.read_bytes() if uart.exists() else b"")
    results = _collect_stats(frames, count)
    if len(results) != count:
        err = " ".join(done.stderr.decode(errors="replace").split())[-300:]
        raise HarnessError(f"{model.name} on {fw.board.name}: firmware exited {done.returncode} after "
                           f"{len(results)} of {count} samples{': ' + err if err else ''}")
    outputs = _collect_outputs(fw, frames, count)
    counts = icount.split_invokes(icount.parse_marks(icount.read_log(log)), model.num_layers)
    if len(counts) != count:
        raise HarnessError(f"{model.name}: {count} inferences ran, the plugin profiled {len(counts)}")
    statuses = [results[n].status for n in range(count)]
    status = next((s for s in statuses if s), 0)
    if done.returncode != (status & 0xFF):
        raise HarnessError(f"QEMU exited {done.returncode}, the firmware reported status {status}")
    macs, layers = report_macs(fw.model.folder)
    stats = RunStats(fw.board.name, status, counts[0].total, list(counts[0].layers),
                     fw.text, fw.data, fw.bss, max(r.peak_stack for r in results.values()),
                     model.arena_size, macs, wall, layers,
                     sample_instructions=[c.total for c in counts],
                     classes=counts[0].classes, layer_classes=list(counts[0].layer_classes))
    return outputs, stats


def _preload(fw: Firmware, batch: list[np.ndarray], count: int, tmp: Path) -> list[str]:
    """QEMU loader arguments that put the batch in RAM (firmware_templates/common/tm_io.h):
    its control block at tm_batch, the samples after it; for a model with its inputs in the
    arena, sample 0 straight into the arena and the others from __noinit_end on."""
    model = fw.model
    packed = []
    for n in range(count):
        sample = bytearray(fw.input_total)
        for i, (x, t, off) in enumerate(zip(batch, model.inputs, fw.input_offsets)):
            data = to_bytes(x[n], t, f"input {i}")
            sample[off : off + len(data)] = data
        packed.append(bytes(sample))
    head = struct.pack("<4I", BATCH_MAGIC, count, fw.input_total, 0)
    loads = []
    if model.io_in_arena:
        arena = fw.symbols["tm_arena"]
        for i, (t, off) in enumerate(zip(model.inputs, fw.input_offsets)):
            loads.append((f"in{i}.bin", arena + t.arena_offset, packed[0][off : off + t.nbytes]))
        loads.append(("batch.bin", fw.symbols["tm_batch"], head))
        start, rest = fw.symbols["__noinit_end"], b"".join(packed[1:])
    else:
        start, rest = fw.symbols["tm_batch"], head + b"".join(packed)
    if rest:   # run_firmware gives each run no more samples than free RAM holds (_per_run)
        loads.append(("inputs.bin", start, rest))
    args = []
    for name, addr, data in loads:
        (tmp / name).write_bytes(data)
        args += ["-device", f"loader,file={tmp / name},addr=0x{addr:x},force-raw=on"]
    return args


def _collect_stats(frames: list[fr.Frame], count: int) -> dict[int, InvokeResult]:
    """Each sample's STATS frame: sample u32, then the INVOKE reply."""
    results = {}
    for f in frames:
        if f.cmd == fr.CMD_STATS and f.crc_ok:
            if len(f.payload) < 4:
                raise HarnessError(f"a stats frame from the firmware has {len(f.payload)} bytes")
            (sample,) = struct.unpack_from("<I", f.payload)
            if sample >= count:
                raise HarnessError(f"a stats frame from the firmware is for sample {sample} of {count}")
            results[sample] = parse_invoke(f.payload[4:])
    return results


def _collect_outputs(fw: Firmware, frames: list[fr.Frame], count: int) -> list[np.ndarray]:
    outs = fw.model.outputs
    bufs = [[bytearray(t.nbytes) for t in outs] for _ in range(count)]
    seen = [[0] * len(outs) for _ in range(count)]
    for f in frames:
        if f.cmd != fr.CMD_RESULT:
            continue
        if not f.crc_ok:
            raise HarnessError("a result frame from the firmware failed its CRC")
        if len(f.payload) < _RESULT.size:
            raise HarnessError(f"a result frame from the firmware has {len(f.payload)} bytes, "
                               f"less than its {_RESULT.size}-byte header")
        sample, index, offset = _RESULT.unpack_from(f.payload)
        chunk = f.payload[_RESULT.size :]
        if sample >= count or index >= len(outs) or offset + len(chunk) > outs[index].nbytes:
            raise HarnessError(f"a result frame from the firmware does not fit: sample {sample} of {count}, "
                               f"output {index} of {len(outs)}, bytes {offset}..{offset + len(chunk)}"
                               + (f" of {outs[index].nbytes}" if index < len(outs) else ""))
        bufs[sample][index][offset : offset + len(chunk)] = chunk
        seen[sample][index] += len(chunk)
    for n in range(count):
        for i, t in enumerate(outs):
            if seen[n][i] != t.nbytes:
                raise HarnessError(f"sample {n} output {i}: received {seen[n][i]} of {t.nbytes} bytes")
    return [np.stack([np.frombuffer(bytes(bufs[n][i]), dtype=t.dtype).reshape(t.shape)
                      for n in range(count)]) for i, t in enumerate(outs)]


def run_on_board(model_dir: str | Path, board: str, inputs: list[np.ndarray], *,
                 build_dir: str | Path | None = None, timeout: float = 120.0
                 ) -> tuple[list[np.ndarray], RunStats]:
    """Build the firmware for `model_dir` (cached), run in QEMU, return outputs + stats."""
    board_info = get_board(board)
    if not board_info.emulated:
        raise HarnessError(f"{board} is a real board; QEMU runs {', '.join(_qemu_boards())} "
                           "(real boards: `tinyml flash`, then `tinyml eval --port`)")
    fw = build_firmware(model_dir, board, build_dir)
    return run_firmware(fw, inputs, timeout=timeout)


class QemuServer(EmulatorSession):
    """QEMU with the instruction-count plugin, its UART a TCP server on `port`."""

    def _start(self, fw: Firmware, prefix: str, args: tuple[str, ...] = ()) -> None:
        self.fw = fw
        base = qemu_base_command(fw.board, fw.elf)   # what can fail comes before the temp dir
        plugin = icount.plugin_path()
        self._log_pos, self._marks, self._counts = 0, [], []
        self.port = free_port()
        self._make_tmp(prefix)
        self._log = self._tmp / "marks.log"
        cmd = base + [
            *args, "-serial", f"tcp:127.0.0.1:{self.port},server=on,wait=on,nodelay=on",
            *icount.plugin_args(plugin, fw.symbols["tm_marks"], fw.mark_count, self._log)]
        self._spawn(cmd, stdout=subprocess.DEVNULL)

    def _connect_qemu(self, make_device, connect_timeout: float) -> None:
        self._connect(make_device, f"QEMU did not open its serial port {self.port}",
                      time.monotonic() + connect_timeout, 0.02)

    def invoke_counts(self) -> list[icount.InvokeCounts]:
        """Every inference the plugin has logged; each call parses only the lines appended
        since the last, keeping the marks of an inference not yet ended for the next."""
        try:
            with open(self._log, "rb") as f:
                f.seek(self._log_pos)
                new = f.read()
        except FileNotFoundError:
            raise HarnessError(f"the QEMU plugin wrote no log at {self._log}") from None
        whole = new.rfind(b"\n") + 1   # a line still being written waits for the next call
        self._log_pos += whole
        self._marks += icount.parse_marks(new[:whole].decode().splitlines())
        # split_invokes forgets everything at an invoke end, so it can resume after one.
        ended = len(self._marks)
        while ended and self._marks[ended - 1][0] != icount.INVOKE_END:
            ended -= 1
        self._counts += icount.split_invokes(self._marks[:ended], self.fw.model.num_layers)
        del self._marks[:ended]
        return list(self._counts)


class QemuSession(QemuServer):
    """QEMU serving the protocol on a local TCP port; `device` is the protocol client.

    Invoke results carry the plugin's exact instruction count (counter "instructions"),
    since QEMU has no cycle counter for the firmware to read.
    """

    def __init__(self, fw: Firmware, *, timeout: float = 5.0, retries: int = 3,
                 connect_timeout: float = 10.0):
        self._start(fw, "tinyml-qemu-")
        self._connect_qemu(lambda: _CountingDevice(self, f"socket://127.0.0.1:{self.port}",
                                                   timeout=timeout, retries=retries), connect_timeout)


class _CountingDevice(Device):
    def __init__(self, session: QemuSession, url: str, **kw):
        super().__init__(url, **kw)
        self._session = session

    def invoke(self) -> InvokeResult:
        r = super().invoke()
        return InvokeResult(r.status, "instructions", self._last_count(), r.peak_stack)

    def train(self, label: int, lr: float) -> TrainResult:
        r = super().train(label, lr)
        return TrainResult(r.status, "instructions", self._last_count(), r.peak_stack, r.loss)

    def _last_count(self) -> int:
        counts = self._session.invoke_counts()
        if not counts:
            raise HarnessError("the QEMU plugin logged no inference")
        return counts[-1].total
