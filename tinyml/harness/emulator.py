"""What the emulator sessions share: a process serving the firmware's UART on a local TCP
port, a client connected to it, and the clean-up.

A subclass makes its scratch folder (`_tmp`), picks `port` with `free_port`, starts
`process`, then calls `_connect`; `close` (or leaving the `with` block) undoes all of it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Self

from tinyml.harness.errors import HarnessError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmulatorSession:
    """An emulator process and `device`, the protocol client on its UART socket."""

    process: subprocess.Popen
    _tmp: Path
    device = None
    stop_timeout = 5.0   # seconds between terminate and kill

    def _connect(self, make_device: Callable[[], object], what: str, deadline: float,
                 poll_s: float, log_tail: Callable[[], str]) -> None:
        """Retry `make_device` until it connects; past `deadline`, or once the emulator has
        exited, close the session and raise `what` with the tail of the emulator's log.

        The client kept must be the first to connect (a QEMU server with wait=on starts the
        guest for it), so there is no probing connection.
        """
        while True:
            try:
                self.device = make_device()
                return
            except HarnessError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    tail = log_tail()[-300:].strip()
                    self.close()
                    raise HarnessError(what + (f": {tail}" if tail else "")) from None
                time.sleep(poll_s)

    def _stderr_tail(self) -> str:
        """The emulator's stderr (a pipe) once it has exited; reading it earlier would block."""
        if self.process.poll() is None:
            return ""
        return self.process.stderr.read().decode(errors="replace")

    def close(self) -> None:
        if self.device is not None:
            self.device.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
