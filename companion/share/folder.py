"""The folder clean copies go to: refused where it must not be, written without surprises.

Refused (``UsageError``) before the vault is opened: a folder inside the vault (the vault is
ciphertext only), and a folder on a mounted phone (``PhotoData/`` beside ``DCIM/``: a file
written there is not in the Photos library, and the next backup of that folder would read it; the
check is the cleanup's, ``companion.connectors.quarantine.refuse_mounted_phone``).

Each file is written into a hidden temporary file in the folder itself, synced, then given its
name with a hard link, which never replaces a file: a name already taken becomes
``IMG_0001 (2).JPG``, ``(3)``... (on a file system without hard links: a check, then
``os.replace``). A copy that fails leaves no file behind, not even a partial one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from companion.connectors.quarantine import refuse_mounted_phone
from companion.errors import StorageFull, UsageError
from companion.portable import durable
from companion.vault.restore import safe_component

_UUID = re.compile(r"^[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$")
_MAX_TRIES = 1000
_NO_HARD_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.EXDEV, errno.EOPNOTSUPP)


def checked_folder(dest: Path, vault_root: Path) -> Path:
    """``dest``, absolute, once it is known not to be inside the vault or on a mounted phone."""
    target = dest.expanduser().resolve()
    vault = vault_root.expanduser().resolve()
    if target == vault or target.is_relative_to(vault):
        raise UsageError(
            f"{target} is inside the vault {vault}",
            hint="Share into a folder outside the vault, e.g. --to ~/to-share.",
        )
    try:
        refuse_mounted_phone(target)
    except UsageError as exc:
        raise UsageError(
            f"{target} is on a mounted iPhone (PhotoData/ beside DCIM/): files written there "
            "would be read by the next backup of that folder, not shown in Photos",
            hint="Share into a folder of this computer, then send the copies from there.",
        ) from exc
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} is not a folder", hint="Give --to a folder (made if absent).")
    return target


def file_name(original: str, extension: str, *, kind: str) -> str:
    """The name of a clean copy: the original's stem made safe, with ``extension`` (its own
    spelling kept when it is the same format). A stem that is an identifier (an iCloud
    original is named by its asset's UUID) becomes ``photo`` or ``video``: a name must not
    carry what the metadata no longer does."""
    stem, dot, ext = original.rpartition(".")
    if not dot:
        stem, ext = original, ""
    safe = safe_component(stem) if stem else None
    if safe is None or _UUID.match(safe):
        safe = kind
    same = ext.lower() in (extension, {"jpg": "jpeg", "heic": "heif"}.get(extension, ""))
    return f"{safe}.{ext if same else extension}"


def _candidates(name: str) -> list[str]:
    stem, dot, ext = name.rpartition(".")
    suffix = f".{ext}" if dot else ""
    stem = stem if dot else name
    return [name, *(f"{stem} ({n}){suffix}" for n in range(2, _MAX_TRIES))]


def write_new(
    folder: Path, name: str, fill: Callable[[Path], None], when: datetime | None = None
) -> Path:
    """Make a new file in ``folder`` named ``name`` (or the first free ``name (N)``): ``fill``
    writes its content into the temporary path it is given; ``when`` becomes its mtime.
    Returns where it went; nothing is left behind if ``fill`` or the move fails."""
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".companion-share-{secrets.token_hex(8)}.part"
    try:
        fill(temp)
        with open(temp, "rb+") as fh:  # noqa: PTH123 (fsync needs the descriptor)
            durable.sync(fh.fileno())
        if when is not None:
            stamp = int(when.timestamp() * 1e9)
            with contextlib.suppress(OverflowError, ValueError, OSError):
                os.utime(temp, ns=(stamp, stamp))
        final = _publish(temp, folder, name)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise StorageFull(
                f"the disk is full while writing into {folder}",
                hint="Free some space there, or share fewer photos at a time.",
            ) from exc
        raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    _sync_folder(folder)
    return final


def write_bytes(folder: Path, name: str, data: bytes, when: datetime | None = None) -> Path:
    def fill(temp: Path) -> None:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)

    return write_new(folder, name, fill, when)


def _publish(temp: Path, folder: Path, name: str) -> Path:
    for candidate in _candidates(name):
        final = folder / candidate
        try:
            os.link(temp, final)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            if final.exists() or final.is_symlink():
                continue
            temp.replace(final)
        return final
    raise UsageError(f"too many files named like {name} in {folder}")


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        durable.sync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)
