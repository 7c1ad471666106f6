"""Byte streams over a link (USB), built from plain callables so they know nothing of it.

``ChunkStream``: fed by chunks a producer reads ahead while the consumer (the vault: hash +
encrypt) works on the current one. ``next_chunk`` returns the next chunk, ``b""`` at the end, or
raises. It yields the file to its real end, whatever the listing said: the consumer compares the
count with the listing (a phone's listing can be wrong, its bytes are what there is to keep). A
stream that goes on past ``ceiling`` bytes (more than the source could hold) raises
``SourceUnavailable``: a lying source never makes a read loop forever.

``SeekableFile``: random access for header parsers that jump between boxes.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING

from companion.errors import SourceUnavailable

_SEEK_BASES = (io.SEEK_SET, io.SEEK_CUR, io.SEEK_END)

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


class ChunkStream(io.RawIOBase):
    """Raw stream over ``next_chunk``; ``on_close`` stops the producer if reading stops early."""

    def __init__(
        self,
        next_chunk: Callable[[], bytes],
        ceiling: int,
        path: str,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._next_chunk = next_chunk
        self._ceiling = ceiling
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
            return
        self._count += len(chunk)
        if self._count > self._ceiling:
            self._done = True
            raise SourceUnavailable(
                f"{self._path} goes on past {self._ceiling} bytes, more than the source holds",
                hint="The source answers wrongly for this file; it was not stored.",
            )
        self._view = memoryview(chunk)

    def close(self) -> None:
        if not self.closed and self._on_close is not None:
            self._on_close()
        super().close()


class SeekableFile(io.RawIOBase):
    """A remote file as a seekable raw stream: ``read(n)`` returns up to ``n`` bytes from the
    current position, ``seek(offset)`` moves to an absolute offset. The position is kept here
    (AFC's "tell" is not exposed by its client), and the end is the size the listing gave (never
    below 0: a listing can say -1)."""

    def __init__(
        self, read: Callable[[int], bytes], seek: Callable[[int], None], size: int
    ) -> None:
        self._read, self._seek, self._size = read, seek, max(size, 0)
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = (0, self._position, self._size)[_SEEK_BASES.index(whence)]
        target = max(0, base + offset)
        self._seek(target)
        self._position = target
        return target

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._read(len(view))
        view[: len(data)] = data
        self._position += len(data)
        return len(data)
