"""Making a write durable: on the disk itself, not only handed to the drive, on every platform.

- Linux: ``fsync`` on the file, then on the folder that names it (a new name is durable only
  once its folder is).
- macOS: ``fsync`` only hands the data to the drive, which may keep it in its cache across a
  power cut; ``fcntl(F_FULLFSYNC)`` asks the drive to write its cache out, as SQLite and Go do
  there. A drive (or a network or FUSE file system) that refuses it gets ``fsync``.
- Windows: ``os.fsync`` is ``_commit``, which flushes the file's data and its metadata through
  ``FlushFileBuffers``; a folder cannot be opened to be flushed, and NTFS journals the name with
  the file's own metadata, so the folder step is skipped there (docs/security.md).

A file system that refuses a folder ``fsync`` (some network and FUSE ones, exFAT through FUSE)
is not an error: the file's own data was synced.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from pathlib import Path

from companion.portable.files import DIRECTORY

_REFUSED = (errno.EINVAL, errno.ENOTSUP, errno.EBADF)


def sync(fd: int) -> None:
    """Make what was written through ``fd`` durable."""
    if sys.platform == "darwin":
        import fcntl

        try:
            fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
            return
        except OSError:
            pass  # the drive does not take it: fsync is what there is
    os.fsync(fd)


def sync_folder(path: Path) -> None:
    """Make a rename or creation inside ``path`` durable (nothing to do on Windows)."""
    if sys.platform != "win32":
        fd = os.open(path, os.O_RDONLY | DIRECTORY)
        try:
            sync(fd)
        except OSError as exc:
            if exc.errno not in _REFUSED:
                raise
        finally:
            os.close(fd)


def drop_cache(fd: int, offset: int, length: int) -> None:
    """Tell the OS the bytes written there will not be read again soon (Linux only; a hint)."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)
