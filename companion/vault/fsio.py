"""Durable file operations: the order of writes is what makes a vault crash-safe.

The rule everywhere: write to a temporary file in the vault's own ``tmp/`` (same file system, so
rename is atomic), fsync it, move it into place, then fsync the directory that now names it.
After a power cut a file is either absent or complete, never half-written under its final name.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from pathlib import Path

from companion.errors import StorageFull, VaultError


def fsync_dir(path: Path) -> None:
    """Make a rename or creation inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems (network, exFAT via FUSE) refuse directory fsync
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def new_temp_path(tmp_dir: Path, suffix: str = ".tmp") -> Path:
    """A fresh, unguessable name in ``tmp_dir``; the caller creates it with O_EXCL."""
    return tmp_dir / f"{secrets.token_hex(12)}{suffix}"


def open_exclusive(path: Path) -> int:
    """Create ``path`` for writing; never opens an existing file or follows a symlink."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    return os.open(path, flags, 0o600)


def publish(temp: Path, final: Path, *, overwrite: bool) -> bool:
    """Move a complete, fsynced ``temp`` file to ``final`` and make the move durable.

    With ``overwrite=False`` an existing ``final`` is never replaced (objects are written once):
    the function returns False and removes ``temp``. A hard link is the atomic no-clobber move on
    POSIX; file systems without hard links fall back to an existence check before ``rename``
    (safe here because the vault lock guarantees a single writer).
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    if overwrite:
        temp.replace(final)
    else:
        try:
            os.link(temp, final)
        except FileExistsError:
            temp.unlink()
            return False
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.EXDEV):
                raise
            if final.exists():
                temp.unlink()
                return False
            temp.rename(final)
        else:
            temp.unlink()
    fsync_dir(final.parent)
    return True


def atomic_write(final: Path, data: bytes, tmp_dir: Path, *, overwrite: bool = True) -> None:
    """Write ``data`` to ``final`` all-or-nothing; replace what was there only if ``overwrite``."""
    temp = new_temp_path(tmp_dir)
    try:
        fd = open_exclusive(temp)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if not publish(temp, final, overwrite=overwrite):
            raise FileExistsError(errno.EEXIST, "already exists", str(final))
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        if exc.errno == errno.ENOSPC:
            raise StorageFull(f"the disk is full while writing {final.name}") from exc
        raise VaultError(f"cannot write {final}: {exc.strerror}") from exc
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
