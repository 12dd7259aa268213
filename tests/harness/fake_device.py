"""A device speaking the eval protocol in Python, with injectable faults, for host tests.

Model: one int8 input [1, 8], one int8 output [1, 8] = input + 1 (wrapping); `info` makes
it claim another model in INFO.
"""

from __future__ import annotations

import socket
import struct
import threading

import numpy as np

from tinyml.harness import framing as fr
from tinyml.harness.model_dir import TensorInfo

N = 8
INT8_1xN = TensorInfo(np.dtype(np.int8), (1, N), N, 0.5, -1)
HELLO = bytes([fr.PROTOCOL_VERSION, 0, 0, 0, 0])


def tensor_entry(t: TensorInfo) -> bytes:
    """One tensor of an INFO reply, as the firmware writes it."""
    return (bytes([t.dtype_code, len(t.shape)]) + struct.pack(f"<{len(t.shape)}I", *t.shape)
            + struct.pack("<Ifi", t.nbytes, t.scale or 0.0, t.zero_point or 0))


def info_payload(name: str | bytes = "fake", inputs=(INT8_1xN,), outputs=(INT8_1xN,),
                 build_id: int = 0xC0FFEE) -> bytes:
    """An INFO reply: by default the fake model's, else another model's tensors and build."""
    raw = name.encode() if isinstance(name, str) else name
    p = struct.pack("<BBBBIIH", fr.PROTOCOL_VERSION, len(inputs), len(outputs), 0, 64, build_id,
                    fr.MAX_PAYLOAD)
    return p + bytes([len(raw)]) + raw + b"".join(tensor_entry(t) for t in (*inputs, *outputs))


class FakeDevice:
    def __init__(self, *, corrupt_replies=0, ignore_requests=0, garbage=b"", reset_on=None,
                 silent=False, greet=True, info: bytes | None = None):
        self.info = info_payload() if info is None else info
        self.corrupt_replies = corrupt_replies
        self.ignore_requests = ignore_requests
        self.garbage = garbage
        self.reset_on = reset_on
        self.silent = silent
        self.greet = greet
        self.requests = []
        self.inp = bytearray(N)
        self.out = bytearray(N)
        self._srv = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self._srv.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _reply(self, conn, cmd, seq, payload=b""):
        wire = bytearray(fr.encode(cmd, seq, payload))
        if self.corrupt_replies:
            self.corrupt_replies -= 1
            wire[-1] ^= 0xFF
        conn.sendall(self.garbage + bytes(wire))

    def _serve(self):
        conn, _ = self._srv.accept()
        with conn:
            if self.greet:
                conn.sendall(fr.encode(fr.CMD_HELLO, 0, HELLO))
            dec = fr.Decoder()
            while True:
                try:
                    data = conn.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                for f in dec.feed(data):
                    self._handle(conn, f)

    def _handle(self, conn, f):
        self.requests.append(f.cmd)
        if self.silent:
            return
        if not f.crc_ok:
            self._reply(conn, fr.CMD_NAK, f.seq, bytes([1, f.cmd]))
            return
        if self.ignore_requests:
            self.ignore_requests -= 1
            return
        if self.reset_on == f.cmd:
            conn.sendall(fr.encode(fr.CMD_HELLO, 0, HELLO))
            return
        r = f.cmd | fr.REPLY
        if f.cmd == fr.CMD_INFO:
            self._reply(conn, r, f.seq, self.info)
        elif f.cmd == fr.CMD_LOAD_INPUT:
            idx, off = struct.unpack_from("<BI", f.payload)
            data = f.payload[5:]
            if idx != 0 or off + len(data) > N:
                self._reply(conn, fr.CMD_NAK, f.seq, bytes([4, f.cmd]))
                return
            self.inp[off : off + len(data)] = data
            self._reply(conn, r, f.seq)
        elif f.cmd == fr.CMD_INVOKE:
            self.out[:] = bytes((b + 1) & 0xFF for b in self.inp)
            self._reply(conn, r, f.seq, struct.pack("<iBQI", 0, 1, 1234, 96))
        elif f.cmd == fr.CMD_READ_OUTPUT:
            idx, off, n = struct.unpack_from("<BIH", f.payload)
            self._reply(conn, r, f.seq, bytes(self.out[off : off + n]))
        else:
            self._reply(conn, fr.CMD_NAK, f.seq, bytes([3, f.cmd]))

    def close(self):
        self._srv.close()
