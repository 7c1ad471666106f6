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
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path

from companion.errors import (
    CompanionError,
    IntegrityError,
    StorageFull,
    VaultError,
    VaultInaccessible,
)
from companion.portable import durable, private


def fsync_dir(path: Path) -> None:
    """Make a rename or creation inside ``path`` durable (``portable.durable``: F_FULLFSYNC on
    macOS; some file systems refuse a folder sync, which is not an error)."""
    durable.sync_folder(path)


def remove_children(folder: Path) -> None:
    """Remove everything inside ``folder`` (best effort; symbolic links are removed, never
    followed). For folders only companion writes into: tmp/, a vault that failed to be made."""
    for child in list(folder.iterdir()) if folder.is_dir() else []:
        with contextlib.suppress(OSError):
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()


def unmake(root: Path, made_root: bool) -> None:
    """Undo a vault's creation that failed before its marker: everything in ``root`` is its own
    (the folder was absent or empty), so a new ``vault init`` there is not refused."""
    if made_root:
        shutil.rmtree(root, ignore_errors=True)
    else:
        remove_children(root)


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
            durable.sync(fh.fileno())
        if not publish(temp, final, overwrite=overwrite):
            raise FileExistsError(errno.EEXIST, "already exists", str(final))
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        if exc.errno == errno.ENOSPC:
            raise StorageFull(f"the disk is full while writing {final.name}") from exc
        # Every caller's tmp_dir is the vault's own tmp/, so its parent is the vault.
        mistake = access_error(exc, tmp_dir.parent)
        raise mistake or VaultError(f"cannot write {final}: {exc.strerror}") from exc
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise


@contextlib.contextmanager
def vault_access(root: Path) -> Iterator[None]:
    """The vault's edge: a person's mistake with the vault folder met inside the block (see
    ``access_error``) becomes an error with a hint; any other OSError passes unchanged."""
    try:
        yield
    except OSError as exc:
        mistake = access_error(exc, root)
        if mistake is None:
            raise
        raise mistake from exc


def access_error(exc: OSError, root: Path) -> CompanionError | None:
    """What a person can fix behind ``exc``, met on the vault at ``root``: permissions (and whose
    vault it is), a read-only disk, a file where a folder must be or a folder where a file must
    be. None for anything else (a failing disk is not a person's mistake)."""
    path = Path(exc.filename) if isinstance(exc.filename, str | os.PathLike) else root
    if exc.errno in (errno.EACCES, errno.EPERM):
        return _denied(path, root)
    if exc.errno == errno.EROFS:
        return VaultInaccessible(
            f"the vault {root} is on a read-only disk",
            hint="Reading commands (ls, status, restore) work as it is; to change the vault, "
            "remount the disk read-write, or choose another --vault.",
        )
    if exc.errno == errno.ENOTDIR:
        blocker = next((p for p in (*reversed(path.parents), path) if _is_file(p)), path)
        hint = "Give --vault a folder, or a path where one can be made."
        if blocker == root:
            return VaultInaccessible(f"{root} is a file, not a vault folder", hint=hint)
        if blocker in root.parents:
            message = f"{root} cannot be a vault folder: {blocker} is a file"
            return VaultInaccessible(message, hint=hint)
        return IntegrityError(
            f"{blocker} is a file where the vault keeps a folder",
            hint=f"Something other than companion changed the vault: move {blocker} out of "
            "it, then run the command again.",
        )
    if exc.errno == errno.EISDIR:
        return IntegrityError(
            f"{path} is a folder where the vault keeps a file",
            hint=f"Something other than companion changed the vault: move {path} out of it, "
            "then run the command again.",
        )
    return None


def _denied(path: Path, root: Path) -> VaultInaccessible:
    quoted = shlex.quote(str(root))
    owner = _other_owner(root)
    if owner is not None:
        return VaultInaccessible(
            f"the vault folder {root} belongs to another user ({owner}): permission denied",
            hint=f"Made with sudo? Make it yours: sudo chown -R $USER {quoted} "
            f"(or run companion as {owner}), or choose another --vault.",
        )
    owner = _other_owner(path)
    if owner is not None:  # a file written by a command run as someone else
        return VaultInaccessible(
            f"{path} in the vault belongs to another user ({owner}): permission denied",
            hint=f"A command run as {owner} (with sudo?) wrote it. Make the whole vault yours "
            f"again: sudo chown -R $USER {quoted}",
        )
    try:
        root.stat()
    except FileNotFoundError:
        return VaultInaccessible(
            f"cannot create the vault folder {root}: permission denied",
            hint="Choose a --vault folder you can write to (the default is in your home "
            f"folder), or have it made for you: sudo mkdir -p {quoted} && sudo chown $USER "
            f"{quoted}",
        )
    except OSError:
        pass
    return VaultInaccessible(
        f"permission denied: {path}",
        hint=f"The vault needs read and write access to {root} and a way in through every "
        f"folder above it (ls -ld {shlex.quote(str(path))}); or choose another --vault.",
    )


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def _other_owner(path: Path) -> str | None:
    """The name of the user who owns ``path``, if it is not this one (None if unknown)."""
    geteuid = getattr(os, "geteuid", None)
    try:
        uid = path.stat().st_uid
    except OSError:
        return None
    if geteuid is None or uid == geteuid():
        return None
    return private.owner_name(uid)
