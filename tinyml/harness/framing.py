"""Frames of the serial eval protocol: encoding and a resynchronising decoder.

Wire format (little-endian), the same both ways:
    0xA5 0x5A | cmd u8 | seq u8 | len u16 | payload[len] | crc32 u32
crc32 is zlib's over cmd..payload. The device side is firmware_templates/common/tm_frame.c.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

MAGIC = b"\xa5\x5a"
MAX_PAYLOAD = 1024
PROTOCOL_VERSION = 2   # 2: INFO dtypes are the model header's TM_DTYPE_* values

CMD_INFO = 0x01
CMD_LOAD_INPUT = 0x02
CMD_INVOKE = 0x03
CMD_READ_OUTPUT = 0x04
CMD_RESET = 0x05
CMD_TRAIN = 0x06
CMD_READ_STATE = 0x07
CMD_TRAIN_RESET = 0x08
CMD_TRAIN_INFO = 0x09
CMD_WRITE_STATE = 0x0A
CMD_RESULT = 0x10
CMD_STATS = 0x11
CMD_HELLO = 0x7E
CMD_NAK = 0x7F
REPLY = 0x80

NAK_REASONS = {1: "bad CRC", 2: "bad length", 3: "unknown command", 4: "bad argument"}

COMMAND_NAMES = {CMD_INFO: "INFO", CMD_LOAD_INPUT: "LOAD_INPUT", CMD_INVOKE: "INVOKE",
                 CMD_READ_OUTPUT: "READ_OUTPUT", CMD_RESET: "RESET", CMD_TRAIN: "TRAIN",
                 CMD_READ_STATE: "READ_STATE", CMD_TRAIN_RESET: "TRAIN_RESET",
                 CMD_TRAIN_INFO: "TRAIN_INFO", CMD_WRITE_STATE: "WRITE_STATE"}


@dataclass(frozen=True)
class Frame:
    cmd: int
    seq: int
    payload: bytes
    crc_ok: bool = True


def encode(cmd: int, seq: int, payload: bytes = b"") -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = struct.pack("<BBH", cmd, seq & 0xFF, len(payload)) + payload
    return MAGIC + body + struct.pack("<I", zlib.crc32(body))


class Decoder:
    """Feed bytes as they arrive; take complete frames out.

    Bytes before a magic are dropped (garbage on the line). A frame whose CRC fails comes
    out with crc_ok=False so the caller can ask again; decoding resumes right after its
    magic, so a frame hidden inside a corrupted one is still found.
    """

    def __init__(self, max_payload: int = MAX_PAYLOAD):
        self._buf = bytearray()
        self._max = max_payload
        self.skipped = 0   # garbage bytes dropped, for diagnostics

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames = []
        while True:
            start = self._buf.find(MAGIC)
            if start < 0:
                keep = 1 if self._buf[-1:] == MAGIC[:1] else 0
                self.skipped += len(self._buf) - keep
                del self._buf[: len(self._buf) - keep]
                return frames
            self.skipped += start
            del self._buf[:start]
            if len(self._buf) < 6:
                return frames
            cmd, seq, length = struct.unpack_from("<BBH", self._buf, 2)
            if length > self._max:
                self.skipped += 2
                del self._buf[:2]
                continue
            end = 6 + length + 4
            if len(self._buf) < end:
                return frames
            body = bytes(self._buf[2 : 6 + length])
            (crc,) = struct.unpack_from("<I", self._buf, 6 + length)
            if zlib.crc32(body) == crc:
                frames.append(Frame(cmd, seq, body[4:]))
                del self._buf[:end]
            else:
                frames.append(Frame(cmd, seq, body[4:], crc_ok=False))
                del self._buf[:2]


def decode_all(data: bytes) -> list[Frame]:
    return Decoder().feed(data)
