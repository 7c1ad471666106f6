"""A reader that shows the bytes passing through it to a watcher. Standard library only.

The vault pulls a source's bytes through a ``Tap`` to count them for the progress bar (in a
worker, into the counter it shares with the main process); a backup taps them to keep a file's
first bytes as well, to tell a picture from garbage without reading the file again.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import BinaryIO


class Tap(io.RawIOBase):
    """Reads ``inner`` and hands every chunk it reads to ``seen`` (``b""`` at the end).
    Closing it closes ``inner``."""

    def __init__(self, inner: BinaryIO, seen: Callable[[bytes], None]) -> None:
        self._inner = inner
        self._seen = seen

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._seen(data)
        return n

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
        super().close()
