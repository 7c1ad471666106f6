"""A byte stream fed by chunks that another thread reads ahead, checked against a known size.

Used by connectors whose reads go over a link (USB): a producer reads the next chunks while the
consumer (the vault: hash + encrypt) works on the current one. ``next_chunk`` returns the next
chunk, ``b""`` at the end, or raises. Fewer bytes than announced, or more, raise
``SourceChanged``: a source that truncates silently must not produce a short backup.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING

from companion.errors import SourceChanged

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


class CheckedStream(io.RawIOBase):
    """Raw stream over ``next_chunk``; ``on_close`` stops the producer if reading stops early."""

    def __init__(
        self,
        next_chunk: Callable[[], bytes],
        size: int,
        path: str,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._next_chunk = next_chunk
        self._size = size
        self._path = path
        self._on_close = on_close
        self._view = memoryview(b"")
        self._count = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        target = memoryview(buffer).cast("B")
        while not self._view and not self._done:
            self._pull()
        n = min(len(target), len(self._view))
        target[:n] = self._view[:n]
        self._view = self._view[n:]
        return n

    def _pull(self) -> None:
        try:
            chunk = self._next_chunk()
        except BaseException:
            self._done = True
            raise
        if not chunk:
            self._done = True
            if self._count != self._size:
                raise SourceChanged(
                    f"{self._path} gave {self._count} bytes, {self._size} were listed"
                )
            return
        self._count += len(chunk)
        if self._count > self._size:
            self._done = True
            raise SourceChanged(f"{self._path} grew while it was read")
        self._view = memoryview(chunk)

    def close(self) -> None:
        if not self.closed and self._on_close is not None:
            self._on_close()
        super().close()
