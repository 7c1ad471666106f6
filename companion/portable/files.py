"""Opening files and folders without being led elsewhere by a link, on every platform.

On Linux and macOS a path component swapped for a symbolic link is refused by the kernel
(``O_NOFOLLOW`` on the last component, folder handles with ``O_DIRECTORY`` for the rest), and a
file swapped for a FIFO does not hang the open (``O_NONBLOCK``, undone once it is known to be a
regular file). Windows has neither flag: a link there (a symbolic link or a junction, which
only an administrator or developer mode can make) is refused by looking before opening
(``os.lstat``), which leaves a race a local attacker with those rights could win; callers then
check what they opened (``os.fstat``) as everywhere. Every open is binary (``O_BINARY`` on
Windows: no newline translation).
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

BINARY: int = getattr(os, "O_BINARY", 0)
if sys.platform != "win32":
    NOFOLLOW: int = os.O_NOFOLLOW
    DIRECTORY: int = os.O_DIRECTORY
    NONBLOCK: int = os.O_NONBLOCK
    NOCTTY: int = os.O_NOCTTY
else:
    NOFOLLOW = DIRECTORY = NONBLOCK = NOCTTY = 0


def open_no_follow(path: str | Path) -> int:
    """A read-only descriptor of ``path`` itself (never what a link there points to); OSError
    (ELOOP on POSIX) for a link. The descriptor is blocking; check with ``os.fstat`` that it is
    a regular file before reading it."""
    if sys.platform == "win32":
        _refuse_link(path)
        fd = os.open(path, os.O_RDONLY | BINARY)
    else:
        fd = os.open(path, os.O_RDONLY | NOFOLLOW | NONBLOCK)
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.set_blocking(fd, True)
    return fd


def create_new(path: str | Path, mode: int = 0o600) -> int:
    """A write-only descriptor of a file made now at ``path`` (FileExistsError if anything is
    there, a link included)."""
    if sys.platform == "win32":
        _refuse_link(path)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | BINARY, mode)


def _refuse_link(path: str | Path) -> None:
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(found.st_mode) or _is_junction(found):
        raise OSError(40, "refusing to follow a link", str(path))  # ELOOP, as POSIX says


def _is_junction(found: os.stat_result) -> bool:
    reparse = getattr(stat, "FILE_ATTRIBUTE_REPARSE_POINT", 0x400)
    return bool(getattr(found, "st_file_attributes", 0) & reparse)
