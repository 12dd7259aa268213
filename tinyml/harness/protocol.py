"""Host side of the serial eval protocol, over any pyserial URL.

`/dev/ttyACM0` (a board), `socket://127.0.0.1:PORT` (QEMU's UART as a TCP server),
`loop://` (unit tests). Every request waits at most `timeout` seconds per try; a NAK, a
reply with a bad CRC or silence is retried `retries` times, then a HarnessError says
which command failed where. Requests are idempotent (loads carry their offset), so a
retry never corrupts state.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass

import numpy as np
import serial

from tinyml.harness import framing as fr
from tinyml.harness.errors import HarnessError
from tinyml.harness.model_dir import DTYPE_BY_CODE, TensorInfo

COUNTER_KINDS = {0: "none", 1: "cycles", 2: "instructions"}
INFO_NAME_MAX = 64   # longest model name INFO carries: TM_INFO_NAME_MAX in tm_frame.h
_INVOKE = struct.Struct("<iBQI")   # status, counter kind, count, peak stack
_TRAIN = struct.Struct("<iBQIf")   # the same, then the loss
_INFO_HEAD = struct.Struct("<BBBBIIH")   # version, n_in, n_out, counter, arena, build id, max payload
_INFO_TENSOR = struct.Struct("<Ifi")     # after dtype, rank, dims: bytes, scale, zero point


@dataclass(frozen=True)
class DeviceInfo:
    protocol_version: int
    name: str
    arena_size: int
    build_id: int
    max_payload: int
    counter: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]


@dataclass(frozen=True)
class InvokeResult:
    status: int
    counter: str          # what `count` is: none | cycles | instructions
    count: int
    peak_stack: int


@dataclass(frozen=True)
class TrainResult:
    status: int
    counter: str
    count: int
    peak_stack: int
    loss: float


def parse_train(payload: bytes) -> TrainResult:
    if len(payload) < _TRAIN.size:
        raise HarnessError(f"TRAIN reply of {len(payload)} bytes, expected {_TRAIN.size}")
    status, kind, count, peak, loss = _TRAIN.unpack(payload[: _TRAIN.size])
    return TrainResult(status, COUNTER_KINDS.get(kind, f"kind{kind}"), count, peak, loss)


def parse_invoke(payload: bytes) -> InvokeResult:
    if len(payload) < _INVOKE.size:
        raise HarnessError(f"INVOKE reply of {len(payload)} bytes, expected {_INVOKE.size}")
    status, kind, count, peak = _INVOKE.unpack(payload[: _INVOKE.size])
    return InvokeResult(status, COUNTER_KINDS.get(kind, f"kind{kind}"), count, peak)


def parse_info(p: bytes) -> DeviceInfo:
    """The INFO reply (firmware_templates/README.md); anything malformed is a HarnessError."""
    def need(pos: int, n: int, what: str) -> None:
        if pos + n > len(p):
            raise HarnessError(f"INFO reply of {len(p)} bytes ends inside {what} (needs {pos + n}); "
                               "host and firmware disagree on the protocol: rebuild the firmware")

    need(0, _INFO_HEAD.size + 1, "the header")
    version, n_in, n_out, kind, arena, build, max_payload = _INFO_HEAD.unpack_from(p)
    pos = _INFO_HEAD.size
    size = p[pos]
    if size > INFO_NAME_MAX:
        raise HarnessError(f"INFO reply: a model name of {size} bytes, at most {INFO_NAME_MAX}")
    need(pos + 1, size, "the model name")
    raw = p[pos + 1 : pos + 1 + size]
    try:
        name = raw.decode()
    except UnicodeDecodeError:
        raise HarnessError(f"INFO reply: the model name {raw!r} is not UTF-8") from None
    pos += 1 + size
    tensors = []
    for k in range(n_in + n_out):
        what = f"input {k}" if k < n_in else f"output {k - n_in}"
        need(pos, 2, what)
        code, rank = p[pos], p[pos + 1]
        if code not in DTYPE_BY_CODE:
            known = ", ".join(f"{c} {dt}" for c, dt in DTYPE_BY_CODE.items())
            raise HarnessError(f"INFO reply: {what} has dtype code {code}; the host knows {known}")
        need(pos + 2, 4 * rank + _INFO_TENSOR.size, what)
        shape = struct.unpack_from(f"<{rank}I", p, pos + 2)
        pos += 2 + 4 * rank
        nbytes, scale, zp = _INFO_TENSOR.unpack_from(p, pos)
        pos += _INFO_TENSOR.size
        dtype = DTYPE_BY_CODE[code]
        if nbytes != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
            raise HarnessError(f"INFO reply: {what} is {dtype} of shape {list(shape)} but {nbytes} bytes")
        quantized = dtype.kind in "iu" and scale != 0.0
        tensors.append(TensorInfo(dtype, tuple(shape), nbytes,
                                  scale if quantized else None, zp if quantized else None))
    if pos != len(p):
        raise HarnessError(f"INFO reply of {len(p)} bytes has {len(p) - pos} after its last tensor; "
                           "host and firmware disagree on the protocol: rebuild the firmware")
    if max_payload <= 8:
        raise HarnessError(f"INFO reply: a maximum payload of {max_payload} bytes leaves no room for data")
    return DeviceInfo(version, name, arena, build, max_payload, COUNTER_KINDS.get(kind, "none"),
                      tuple(tensors[:n_in]), tuple(tensors[n_in:]))


class Device:
    """A board (or emulator) running tinyml's eval firmware in serve mode."""

    def __init__(self, url: str, baud: int = 115200, timeout: float = 2.0, retries: int = 3,
                 invoke_timeout: float = 60.0, port: serial.SerialBase | None = None):
        self.url = url
        self.timeout = timeout
        self.invoke_timeout = invoke_timeout
        self.retries = retries
        try:
            self._port = port or serial.serial_for_url(url, baudrate=baud, timeout=0.05)
        except (serial.SerialException, OSError, ValueError) as e:
            raise HarnessError(f"cannot open {url}: {e}") from None
        self._decoder = fr.Decoder()
        self._pending: list[fr.Frame] = []
        self._seq = 0
        self._info: DeviceInfo | None = None
        self._answered = False   # a boot greeting after an answer means a reset
        self.retried = 0   # how many tries were repeated, for tests and diagnostics

    # -- plumbing -------------------------------------------------------------------
    def close(self) -> None:
        self._port.close()

    def __enter__(self) -> "Device":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _next_frame(self, deadline: float) -> fr.Frame | None:
        while not self._pending:
            if time.monotonic() >= deadline:
                return None
            try:
                data = self._port.read(max(1, self._port.in_waiting))
            except (serial.SerialException, OSError) as e:
                raise HarnessError(f"{self.url}: connection lost ({e})") from None
            if data:
                self._pending += self._decoder.feed(data)
        return self._pending.pop(0)

    def request(self, cmd: int, payload: bytes = b"", timeout: float | None = None) -> bytes:
        """Send one request and return the payload of its reply, retrying on faults."""
        name = fr.COMMAND_NAMES.get(cmd, f"0x{cmd:02x}")
        wait = self.timeout if timeout is None else timeout
        problem = "no answer"
        for attempt in range(self.retries + 1):
            if attempt:
                self.retried += 1
            self._seq = (self._seq + 1) & 0xFF or 1   # seq 0 is the device's own (HELLO)
            try:
                self._port.write(fr.encode(cmd, self._seq, payload))
            except (serial.SerialException, OSError) as e:
                raise HarnessError(f"{self.url}: cannot send {name} ({e})") from None
            deadline = time.monotonic() + wait
            while (frame := self._next_frame(deadline)) is not None:
                if not frame.crc_ok:
                    problem = "reply with a bad CRC"
                    break                       # ask again
                if frame.cmd == fr.CMD_HELLO:
                    if self._answered:   # it booted again after talking to us: it reset
                        raise HarnessError(f"{self.url}: the device reset while {name} was pending")
                    continue             # the boot greeting of a fresh device
                if frame.cmd == fr.CMD_NAK:
                    reason = fr.NAK_REASONS.get(frame.payload[0] if frame.payload else 0, "?")
                    if reason in ("bad CRC", "bad length"):   # the line garbled our request
                        problem = f"NAK ({reason})"
                        break
                    if frame.seq == self._seq:
                        raise HarnessError(f"{self.url}: device refused {name}: {reason}")
                    continue
                if frame.cmd == cmd | fr.REPLY and frame.seq == self._seq:
                    self._answered = True
                    return frame.payload
                # anything else is a stale answer to an earlier try: skip it
            else:
                problem = f"no answer within {wait:g} s"
        raise HarnessError(f"{self.url}: {name} failed after {self.retries + 1} tries: {problem}")

    # -- commands -------------------------------------------------------------------
    def info(self) -> DeviceInfo:
        payload = self.request(fr.CMD_INFO)
        if payload and payload[0] != fr.PROTOCOL_VERSION:   # before parsing what may differ
            raise HarnessError(f"{self.url}: device speaks protocol v{payload[0]}, "
                               f"host v{fr.PROTOCOL_VERSION}; rebuild the firmware")
        try:
            self._info = parse_info(payload)
        except HarnessError as e:
            raise HarnessError(f"{self.url}: {e}") from None
        return self._info

    def _chunk(self) -> int:
        info = self._info or self.info()
        return min(info.max_payload, fr.MAX_PAYLOAD) - 8

    def load_input(self, index: int, data: bytes) -> None:
        step = self._chunk()
        for off in range(0, len(data), step):
            self.request(fr.CMD_LOAD_INPUT, struct.pack("<BI", index, off) + data[off : off + step])

    def invoke(self) -> InvokeResult:
        payload = self.request(fr.CMD_INVOKE, timeout=self.invoke_timeout)
        try:
            return parse_invoke(payload)
        except HarnessError as e:
            raise HarnessError(f"{self.url}: {e}") from None

    def read_output(self, index: int, nbytes: int) -> bytes:
        step = self._chunk()
        out = bytearray()
        for off in range(0, nbytes, step):
            n = min(step, nbytes - off)
            out += self.request(fr.CMD_READ_OUTPUT, struct.pack("<BIH", index, off, n))
        return bytes(out)

    # -- training (a model compiled with --train) ------------------------------------
    def train_info(self) -> tuple[int, int]:
        """(state bytes, classes); a firmware whose model does not train refuses it."""
        payload = self.request(fr.CMD_TRAIN_INFO)
        if len(payload) != 8:
            raise HarnessError(f"{self.url}: TRAIN_INFO reply of {len(payload)} bytes, expected 8")
        state, classes = struct.unpack("<II", payload)
        return state, classes

    def train(self, label: int, lr: float) -> TrainResult:
        """One training step on the input loaded as input 0."""
        payload = self.request(fr.CMD_TRAIN, struct.pack("<if", int(label), float(lr)),
                               timeout=self.invoke_timeout)
        try:
            return parse_train(payload)
        except HarnessError as e:
            raise HarnessError(f"{self.url}: {e}") from None

    def read_state(self, nbytes: int) -> bytes:
        step = self._chunk()
        out = bytearray()
        for off in range(0, nbytes, step):
            out += self.request(fr.CMD_READ_STATE, struct.pack("<IH", off, min(step, nbytes - off)))
        return bytes(out)

    def write_state(self, state: bytes) -> None:
        """Load a state (read from another device) into this one."""
        step = self._chunk()
        for off in range(0, len(state), step):
            self.request(fr.CMD_WRITE_STATE, struct.pack("<I", off) + state[off:off + step])

    def train_reset(self) -> None:
        """The trained parameters back to the model's (flash) values."""
        self.request(fr.CMD_TRAIN_RESET)

    def reset(self) -> None:
        self.request(fr.CMD_RESET)
        self._info = None
        self._answered = False

    def run(self, inputs: list[np.ndarray]) -> tuple[list[np.ndarray], InvokeResult]:
        """Upload inputs, invoke, download outputs (typed and shaped from INFO)."""
        info = self._info or self.info()
        if len(inputs) != len(info.inputs):
            raise HarnessError(f"{info.name} takes {len(info.inputs)} inputs, got {len(inputs)}")
        for i, (x, t) in enumerate(zip(inputs, info.inputs)):
            self.load_input(i, to_bytes(x, t, f"input {i}"))
        result = self.invoke()
        outputs = [np.frombuffer(self.read_output(i, t.nbytes), dtype=t.dtype).reshape(t.shape)
                   for i, t in enumerate(info.outputs)]
        return outputs, result


def to_bytes(x: np.ndarray, t: TensorInfo, what: str) -> bytes:
    x = np.asarray(x)
    if x.size * t.dtype.itemsize != t.nbytes:
        raise HarnessError(f"{what}: {x.size} elements of {t.dtype}, the model wants shape {t.shape}")
    if x.dtype != t.dtype and not np.can_cast(x.dtype, t.dtype, casting="same_kind"):
        raise HarnessError(f"{what}: dtype {x.dtype}, the model wants {t.dtype}")
    return np.ascontiguousarray(x, dtype=t.dtype).tobytes()
