"""Running a simulator in the foreground of a command, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType


def serve_until_stopped(
    start: Callable[[], object], stop: Callable[[], None], ready: Callable[[], None] | None
) -> None:
    """``start``, then ``ready`` (announce the address), then wait for SIGINT or SIGTERM and
    ``stop``. The signals are caught before anything is announced, so a client that stops the
    server as soon as it reads the address never interrupts it mid-start. Main thread only."""
    finished = threading.Event()

    def finish(_signal: int, _frame: FrameType | None) -> None:
        finished.set()

    previous = {sig: signal.signal(sig, finish) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        start()
        if ready is not None:
            ready()
        while not finished.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stop()
