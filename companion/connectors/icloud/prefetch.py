"""Several iCloud downloads at once, ahead of a backup that reads files one by one.

A backup from iCloud runs in one process and stores files in its own order, each recorded
only once its bytes are durable (``companion.backup``); it tells the connector that order first
(``ReadAhead``). Downloading one file at a time then leaves most of the line idle: iCloud
serves each connection at a modest pace. So a few threads (``IcloudOptions.downloads``) start
the next files in that order, each on an HTTP session of its own (``download.Downloads``:
pyicloud's session is never shared by downloads), while the backup reads the current one.

Memory stays bounded whatever the files' sizes: each file read ahead flows through a ``Pipe``
holding at most ``BUFFER`` bytes; a full pipe makes its download wait (TCP holds the rest), and
no download starts more than ``downloads`` files ahead of the one being read. A 1 GB video is
streamed as before, at most ``BUFFER`` of it in memory. Each stream keeps its own checks
(resume with ``Range``, the size against the record): an error it raises reaches the reader
when the reader gets to it, as that file's error.
"""

from __future__ import annotations

import io
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, cast

from companion.connectors.icloud.download import CHUNK, Downloads

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

log = logging.getLogger(__name__)

BUFFER = 8 * CHUNK  # bytes of one file held ahead of its reader, at most
JOIN_WITHIN = 5.0  # seconds to wait for the download threads when stopping


class _Dropped(Exception):
    """The reader closed the pipe: the download stops."""


class Pipe(io.RawIOBase):
    """One file's bytes from its download thread to the reader, at most ``limit`` held."""

    def __init__(self, limit: int = BUFFER) -> None:
        self._limit = limit
        self._ready = threading.Condition()
        self._chunks: deque[memoryview] = deque()
        self._held = 0
        self._ended = self._dropped = False
        self._error: BaseException | None = None

    def put(self, data: bytes) -> None:
        """Writer: add ``data`` once there is room; ``_Dropped`` if the reader is gone."""
        with self._ready:
            while self._held >= self._limit and not self._dropped:
                self._ready.wait()
            if self._dropped:
                raise _Dropped
            self._chunks.append(memoryview(data))
            self._held += len(data)
            self._ready.notify_all()

    def end(self, error: BaseException | None = None) -> None:
        """Writer: no more bytes; ``error`` reaches the reader after the bytes before it."""
        with self._ready:
            self._ended = True
            self._error = error
            self._ready.notify_all()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        with self._ready:
            while not self._chunks and not self._ended and not self._dropped:
                self._ready.wait()
            if not self._chunks:
                if self._error is not None:
                    raise self._error
                return 0
            chunk = self._chunks[0]
            count = min(len(chunk), len(view))
            view[:count] = chunk[:count]
            if count == len(chunk):
                self._chunks.popleft()
            else:
                self._chunks[0] = chunk[count:]
            self._held -= count
            self._ready.notify_all()
            return count

    def close(self) -> None:
        """Reader: done with it (read whole or not); its download stops."""
        with self._ready:
            self._dropped = True
            self._chunks.clear()
            self._held = 0
            self._ready.notify_all()
        super().close()


@dataclass(frozen=True, slots=True)
class Job:
    """One file to read ahead: ``start`` opens its stream on a given download session."""

    path: str
    start: Callable[[Downloads], BinaryIO]
    pipe: Pipe = field(default_factory=Pipe)


class Prefetch:
    """Downloads ``jobs`` in order on ``workers`` threads, each with a session from
    ``session``, never more than ``workers`` files ahead of the reader. ``take`` hands a file
    to the reader; ``stop`` ends it all."""

    def __init__(self, jobs: Sequence[Job], workers: int, session: Callable[[], Downloads]) -> None:
        self._jobs = list(jobs)
        self._index = {job.path: n for n, job in enumerate(self._jobs)}
        self._workers = workers
        self._session = session
        self._turn = threading.Condition()
        self._taken = 0  # jobs handed to download threads
        self._position = 0  # jobs handed to the reader (or skipped by it)
        self._stopped = False
        self._threads = [
            threading.Thread(target=self._work, name=f"icloud-download-{n}", daemon=True)
            for n in range(min(workers, len(self._jobs)))
        ]
        for thread in self._threads:
            thread.start()

    def knows(self, path: str) -> bool:
        """Whether ``path`` is in the order this was told (handed out already or not)."""
        return path in self._index

    def take(self, path: str) -> BinaryIO | None:
        """The stream of ``path`` if it is still ahead of the reader, else None. The files
        before it in the order, never taken, are dropped."""
        with self._turn:
            index = self._index.get(path)
            if index is None or index < self._position or self._stopped:
                return None
            for skipped in self._jobs[self._position : index]:
                skipped.pipe.close()
            self._position = index + 1
            self._turn.notify_all()
        return cast(BinaryIO, io.BufferedReader(self._jobs[index].pipe, CHUNK))

    def stop(self) -> None:
        """Drop everything read ahead and end the threads (waiting a little for them)."""
        with self._turn:
            self._stopped = True
            for job in self._jobs[self._position :]:
                job.pipe.close()
            self._turn.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(JOIN_WITHIN)

    def _work(self) -> None:
        downloads = self._session()
        try:
            while (job := self._next()) is not None:
                _fill(downloads, job)
        finally:
            downloads.close()

    def _next(self) -> Job | None:
        """The next file to download, once it is within ``workers`` of the reader; None when
        there is none left, or when stopped."""
        with self._turn:
            while True:
                self._taken = max(self._taken, self._position)  # skip what the reader skipped
                if self._stopped or self._taken >= len(self._jobs):
                    return None
                if self._taken < self._position + self._workers:
                    job = self._jobs[self._taken]
                    self._taken += 1
                    return job
                self._turn.wait()


def _fill(downloads: Downloads, job: Job) -> None:
    """Download one file into its pipe; its error, if any, goes to the reader."""
    try:
        with job.start(downloads) as stream:
            while chunk := stream.read(CHUNK):
                job.pipe.put(chunk)
    except _Dropped:
        log.debug("%s was dropped before it was read whole", job.path)
        return
    except Exception as exc:  # the reader raises it, as that file's error
        job.pipe.end(exc)
        return
    job.pipe.end()
