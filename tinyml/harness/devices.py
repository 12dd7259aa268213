"""Several devices at once: `--jobs N` emulators (one QEMU per core) or several `--port`s
(several boards) share a data set. Samples are split into contiguous runs, one per device,
each device works through its run in a thread of its own (the work is the device's; the
thread waits on its serial link), and results come back in sample order, whatever order the
devices finish in.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Callable, TypeVar

from tinyml.errors import UsageError

T = TypeVar("T")


def where_to_run(board: str | None, port: str | list[str] | None) -> list[str] | None:
    """--board or one or more --port, never both nor neither; the ports as a list."""
    ports = [port] if isinstance(port, str) else port
    if (board is None) == (not ports):
        raise UsageError("give exactly one of --board (QEMU) and --port (a serial device)")
    return ports


def job_count(jobs: int | None, ports: list[str] | None) -> int:
    """Devices to use: one per --port, else --jobs (default 1; 0: one per core)."""
    if ports:
        if jobs not in (None, len(ports)):
            raise UsageError("--jobs counts emulators; with --port, each port is one device")
        return len(ports)
    if jobs is None:
        return 1
    if jobs < 0:
        raise UsageError("--jobs must be 0 (one per core) or more")
    return jobs or os.cpu_count() or 1


def split(count: int, parts: int) -> list[range]:
    """`count` samples in `parts` contiguous runs as even as they can be (none empty)."""
    parts = max(1, min(parts, count))
    edges = [count * i // parts for i in range(parts + 1)]
    return [range(edges[i], edges[i + 1]) for i in range(parts)]


class Devices:
    """The sessions to `count` devices of one model: emulators of `board` or boards on
    `ports`; `opener(port or None)` opens one and returns (session, device, target)."""

    def __init__(self, opener: Callable, count: int, ports: list[str] | None = None):
        self._stack = ExitStack()
        self.devices = []
        try:
            for i in range(count):
                session, device, target = opener(ports[i] if ports else None)
                self._stack.callback(session.close)
                self.devices.append(device)
        except BaseException:
            self._stack.close()
            raise
        self.target = (target if count == 1 else ", ".join(ports) if ports
                       else f"{count} x {target}")

    def __enter__(self) -> "Devices":
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def map(self, count: int, work: Callable[[object, int], T],
            done: Callable[[], None] | None = None) -> list[T]:
        """work(device, n) for every sample n, split over the devices; results in order.
        `done` is called after each sample (a progress bar), under a lock."""
        results: list = [None] * count
        lock = threading.Lock()

        def run(device, indices: range) -> None:
            for n in indices:
                results[n] = work(device, n)
                if done is not None:
                    with lock:
                        done()
        runs = split(count, len(self.devices))
        if len(runs) == 1:
            run(self.devices[0], runs[0])
            return results
        with ThreadPoolExecutor(len(runs)) as pool:
            futures = [pool.submit(run, d, r) for d, r in zip(self.devices, runs)]
            for f in futures:
                f.result()   # the first failure, raised here
        return results

