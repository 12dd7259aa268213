"""The MLPerf Tiny (EEMBC) runner's side of its text protocol, over any pyserial URL.

Talks to firmware built with `build_firmware(..., protocol="mlperf")` (or any MLPerf Tiny
device under test): `name%`, `profile%`, `timestamp%`, `db load N%`, `db HEX%`,
`db print%`, `infer N W%`, `results%`; each answer is `m-...` lines ending with `m-ready`,
`e-[...]` on error. Results are dequantized floats with 6 decimals (what the reference
submissions print); `raw_outputs` turns them back into the model's integers.

`MlperfQemu` runs such firmware in QEMU with `-icount shift=K,sleep=off`: one instruction
takes 2^K ns of virtual time, which the firmware reads from the mps2 FPGAIO counter, so
m-lap-us figures are deterministic (K=5: 32 ns, ~31 MIPS, near the mps2's 25 MHz).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import numpy as np
import serial

from tinyml.harness.errors import HarnessError
from tinyml.harness.firmware import Firmware
from tinyml.harness.model_dir import TensorInfo
from tinyml.harness.qemu import QemuServer

MAX_COMMAND = 80          # characters the runner sends per command, '%' excluded
ICOUNT_SHIFT = 5


@dataclass(frozen=True)
class InferResult:
    count: int                 # timed inferences
    warmup: int
    lap_us: int                # between the two m-lap-us stamps around the timed loop
    results: list[float]

    @property
    def us_per_inference(self) -> float:
        return self.lap_us / self.count


class MlperfDevice:
    """A device under test speaking the MLPerf Tiny protocol."""

    def __init__(self, url: str, baud: int = 115200, timeout: float = 5.0,
                 max_command: int = MAX_COMMAND, port: serial.SerialBase | None = None):
        self.url, self.timeout, self.max_command = url, timeout, max_command
        try:
            self._port = port or serial.serial_for_url(url, baudrate=baud, timeout=0.05)
        except (serial.SerialException, OSError, ValueError) as e:
            raise HarnessError(f"cannot open {url}: {e}") from None
        self._buf = bytearray()

    def close(self) -> None:
        self._port.close()

    def __enter__(self) -> "MlperfDevice":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- lines ----------------------------------------------------------------------
    def _line(self, deadline: float) -> str | None:
        while b"\n" not in self._buf:
            if time.monotonic() >= deadline:
                return None
            try:
                self._buf += self._port.read(max(1, self._port.in_waiting))
            except (serial.SerialException, OSError) as e:
                raise HarnessError(f"{self.url}: connection lost ({e})") from None
        raw, _, rest = bytes(self._buf).partition(b"\n")
        self._buf = bytearray(rest)
        return raw.decode(errors="replace").strip()

    def wait_boot(self, timeout: float | None = None) -> list[str]:
        """Lines up to the boot's m-ready (after m-init-done)."""
        return self._until_ready("boot", timeout, need="m-init-done")

    def _until_ready(self, what: str, timeout: float | None, need: str | None = None) -> list[str]:
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        lines: list[str] = []
        while (line := self._line(deadline)) is not None:
            if line == "m-ready" and (need is None or need in lines):
                errors = [l for l in lines if l.startswith("e-")]
                if errors:
                    raise HarnessError(f"{self.url}: {what}: device answered {errors[0]}")
                return lines
            if line:
                lines.append(line)
        raise HarnessError(f"{self.url}: {what}: no m-ready within {wait:g} s"
                           + (f" (last line {lines[-1]!r})" if lines else " (silence)"))

    def command(self, text: str, timeout: float | None = None) -> list[str]:
        """Send `text%` and return the answer's lines before m-ready; e-[...] raises."""
        if len(text) > self.max_command:
            raise HarnessError(f"command {text[:20]!r}... is {len(text)} characters, "
                               f"the limit is {self.max_command}")
        self._buf.clear()
        self._port.reset_input_buffer()   # a stale m-ready must not end this command
        try:
            self._port.write(text.encode() + b"%")
        except (serial.SerialException, OSError) as e:
            raise HarnessError(f"{self.url}: cannot send {text.split()[0]!r} ({e})") from None
        return self._until_ready(repr(text if len(text) < 24 else text[:20] + "..."), timeout)

    # -- commands -------------------------------------------------------------------
    def name(self) -> str:
        return _field(self.command("name"), "m-name-")

    def profile(self) -> dict[str, str]:
        lines = self.command("profile")
        return {"profile": _bracket(_field(lines, "m-profile-")), "model": _bracket(_field(lines, "m-model-"))}

    def timestamp(self) -> int:
        return _laps(self.command("timestamp"))[0]

    def load(self, data: bytes) -> None:
        """`db load N` then hex chunks as long as the command limit allows."""
        lines = self.command(f"db load {len(data)}")
        if f"m-[Expecting {len(data)} bytes]" not in lines:
            raise HarnessError(f"{self.url}: db load {len(data)}: unexpected answer {lines}")
        step = (self.max_command - 3) // 2
        for off in range(0, len(data), step):
            lines = self.command("db " + data[off : off + step].hex())
        if "m-load-done" not in lines:
            raise HarnessError(f"{self.url}: {len(data)} bytes sent, no m-load-done")

    def print_buffer(self) -> bytes:
        hexes = [l.removeprefix("m-buffer-") for l in self.command("db print") if l.startswith("m-buffer-")]
        return bytes.fromhex("".join(h.replace("-", "") for h in hexes))

    def infer(self, count: int = 1, warmup: int = 0, timeout: float = 120.0) -> InferResult:
        lines = self.command(f"infer {count} {warmup}", timeout=timeout)
        expect = [f"m-warmup-start-{warmup}", "m-warmup-done", f"m-infer-start-{count}", "m-infer-done"]
        missing = [e for e in expect if e not in lines]
        if missing:
            raise HarnessError(f"{self.url}: infer: {missing[0]} missing from {lines}")
        laps = _laps(lines)
        if len(laps) != 2:
            raise HarnessError(f"{self.url}: infer: expected 2 m-lap-us lines, got {len(laps)}")
        return InferResult(count, warmup, laps[1] - laps[0], _results(lines))

    def results(self) -> list[float]:
        return _results(self.command("results"))


def _field(lines: list[str], prefix: str) -> str:
    for line in lines:
        if line.startswith(prefix):
            return line[len(prefix):]
    raise HarnessError(f"no {prefix}... line in {lines}")


def _bracket(text: str) -> str:
    m = re.fullmatch(r"\[(.*)\]", text)
    return m.group(1) if m else text


def _laps(lines: list[str]) -> list[int]:
    return [int(l.removeprefix("m-lap-us-")) for l in lines if re.fullmatch(r"m-lap-us-\d+", l)]


def _results(lines: list[str]) -> list[float]:
    body = _bracket(_field(lines, "m-results-"))
    try:
        return [float(v) for v in body.split(",") if v.strip()]
    except ValueError:
        raise HarnessError(f"m-results-[{body[:60]}]: not a list of numbers") from None


def dequantized(outputs: list[np.ndarray], tensors: tuple[TensorInfo, ...]) -> list[float]:
    """What `results%` should print for these outputs: all flattened, dequantized."""
    values: list[float] = []
    for out, t in zip(outputs, tensors):
        flat = np.asarray(out).reshape(-1)
        if t.scale is not None:
            flat = (flat.astype(np.float32) - np.float32(t.zero_point or 0)) * np.float32(t.scale)
        values += [float(v) for v in flat]
    return values


def raw_outputs(values: list[float], tensors: tuple[TensorInfo, ...]) -> list[np.ndarray]:
    """Printed results back to the model's output arrays; integers recovered exactly or refused."""
    outs, pos = [], 0
    for t in tensors:
        n = int(np.prod(t.shape, dtype=np.int64))
        v = np.asarray(values[pos : pos + n], dtype=np.float64)
        pos += n
        if len(v) != n:
            raise HarnessError(f"m-results has {len(values)} values, the outputs hold {pos}")
        if t.dtype.kind == "f":
            outs.append(v.astype(t.dtype).reshape(t.shape))
            continue
        q = np.rint(v / t.scale) + (t.zero_point or 0) if t.scale else np.rint(v)
        if t.scale and np.max(np.abs((q - (t.zero_point or 0)) * t.scale - v), initial=0) > 1e-6 + t.scale / 4:
            raise HarnessError("m-results values are not on the output's quantization grid")
        outs.append(q.astype(t.dtype).reshape(t.shape))
    if pos != len(values):
        raise HarnessError(f"m-results has {len(values)} values, the outputs hold {pos}")
    return outs


class MlperfQemu(QemuServer):
    """MLPerf-mode firmware in QEMU; `device` is the runner's side on its UART socket."""

    def __init__(self, fw: Firmware, *, timeout: float = 5.0, icount_shift: int = ICOUNT_SHIFT,
                 connect_timeout: float = 10.0):
        if fw.protocol != "mlperf":
            raise HarnessError(f"{fw.elf} speaks the {fw.protocol} protocol; build it with protocol='mlperf'")
        self.icount_shift = icount_shift
        self._start(fw, "tinyml-mlperf-", ("-icount", f"shift={icount_shift},sleep=off"))
        self._connect_qemu(lambda: MlperfDevice(f"socket://127.0.0.1:{self.port}", timeout=timeout),
                           connect_timeout)
        try:
            self.boot_lines = self.device.wait_boot()
        except HarnessError:
            self.close()
            raise
