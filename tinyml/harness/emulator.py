"""What the emulator sessions share: a process serving the firmware's UART on a local TCP
port, a client connected to it, and the clean-up.

A subclass does what can fail first, then makes its scratch folder (`_make_tmp`), starts
the emulator with `_spawn` (its stderr goes to a file there, never to a pipe that a chatty
emulator could fill) and calls `_connect`; `close` (or leaving the `with` block) undoes all
of it. A failure in between removes the folder.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
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

    process: subprocess.Popen | None = None
    _tmp: Path | None = None
    device = None
    stop_timeout = 5.0   # seconds between terminate and kill
    log_name = "emulator.log"   # the emulator's stderr, in `_tmp`

    def _make_tmp(self, prefix: str) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix=prefix))

    def _spawn(self, cmd: list[str], *, with_stdout: bool = False, **popen) -> None:
        """Start the emulator with its stderr (and stdout, `with_stdout`) in `log_name`;
        on failure remove `_tmp`."""
        try:
            with open(self._tmp / self.log_name, "wb") as log:   # the child keeps its own handle
                if with_stdout:
                    popen.update(stdout=log, stderr=subprocess.STDOUT)
                else:
                    popen.update(stderr=log)
                self.process = subprocess.Popen(cmd, **popen)
        except OSError as e:
            self.close()
            raise HarnessError(f"cannot start {cmd[0]}: {e.strerror or e}") from None
        except BaseException:
            self.close()
            raise

    def _log_tail(self, limit: int = 300) -> str:
        """The end of the emulator's log, readable at any time, as one line."""
        if self._tmp is None:
            return ""
        try:
            with open(self._tmp / self.log_name, "rb") as f:
                f.seek(0, 2)
                f.seek(max(0, f.tell() - limit))
                return " ".join(f.read().decode(errors="replace").split())
        except OSError:
            return ""

    def _connect(self, make_device: Callable[[], object], what: str, deadline: float,
                 poll_s: float) -> None:
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
                    tail = self._log_tail()
                    self.close()
                    raise HarnessError(what + (f": {tail}" if tail else "")) from None
                time.sleep(poll_s)

    def close(self) -> None:
        if self.device is not None:
            self.device.close()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
