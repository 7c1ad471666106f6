"""Getting files back out of the vault, safely.

Names come from devices and cloud accounts, so they are hostile until proven otherwise. Every
path is rebuilt component by component (``safe_components``) so that nothing a name contains can
write outside the destination: no ``..``, no absolute paths or drive letters, no NUL or control
characters, no reserved Windows names, no component over 255 bytes, Unicode normalised to NFC.

Each file is decrypted into a hidden ``.part`` file beside its target, re-hashed, fsynced, given
its capture time as mtime, then linked into place without replacing anything. An existing file
with the same bytes counts as restored; a different file is never overwritten: the new one
becomes ``IMG_0001 (2).HEIC``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from companion.errors import CompanionError, IntegrityError, StorageFull, UsageError
from companion.model import StoredAsset
from companion.vault.vault import Vault

log = logging.getLogger(__name__)

_MAX_NAME_BYTES = 255
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)


def _clip(name: str, limit: int = _MAX_NAME_BYTES) -> str:
    """Shorten ``name`` to ``limit`` UTF-8 bytes, keeping its extension."""
    if len(name.encode("utf-8")) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 16:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    budget = limit - len(suffix.encode("utf-8"))
    clipped = stem.encode("utf-8")[:budget].decode("utf-8", "ignore")
    return clipped + suffix


def safe_component(raw: str) -> str | None:
    """One path component made safe, or None if nothing meaningful is left (``..``, empty)."""
    text = raw.encode("utf-8", "replace").decode("utf-8")  # lone surrogates -> '?'
    text = unicodedata.normalize("NFC", text)
    text = _UNSAFE.sub("_", text).replace("?", "_")
    # Windows drops trailing dots and spaces; a leading dot would hide the restored file.
    text = text.strip().rstrip(". ").lstrip(". ")
    if text in ("", ".", ".."):
        return None
    if _RESERVED.match(text):
        text = "_" + text
    return _clip(text)


def safe_components(path: str) -> list[str]:
    """A device path as safe components under a restore root. Never empty."""
    parts = [safe_component(p) for p in re.split(r"[/\\]", path)]
    kept = [p for p in parts if p is not None]
    return kept or ["unnamed"]


@dataclass
class RestoreReport:
    restored: int = 0
    identical: int = 0  # already present with the same bytes
    renamed: int = 0  # written under "name (2).ext" because a different file was there
    bytes: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    damaged: int = 0  # of the failures, those whose copy in the vault is damaged or missing


Progress = Callable[[int], None]


def restore(
    vault: Vault,
    dest: Path,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    progress: Progress | None = None,
) -> RestoreReport:
    """Restore every current asset captured in [since, until) into ``dest``."""
    vault_root = vault.root.resolve()
    target = dest.resolve()
    if target == vault_root or vault_root in target.parents:
        raise UsageError(
            f"{dest} is inside the vault",
            hint="Restore somewhere else: the vault must never hold a photo unencrypted.",
        )
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise UsageError(
            f"{dest} is not a folder", hint="Give --to a folder, new or existing."
        ) from exc
    except OSError as exc:
        raise UsageError(
            f"cannot create {dest}: {exc.strerror}",
            hint="Choose a folder you can write to.",
        ) from exc
    root = dest.resolve()
    report = RestoreReport()
    for stored in list(vault.assets(since, until)):
        try:
            outcome = _restore_one(vault, root, stored)
        except StorageFull:
            raise
        except CompanionError as exc:
            report.failed[stored.asset.path] = exc.message
            report.damaged += isinstance(exc, IntegrityError)
            continue
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise StorageFull(
                    "the disk is full while restoring",
                    hint="Free space at the destination and run restore again: "
                    "files already restored are recognised.",
                ) from exc
            report.failed[stored.asset.path] = exc.strerror or str(exc)
            continue
        if outcome == "identical":
            report.identical += 1
        else:
            report.restored += 1
            report.renamed += outcome == "renamed"
            report.bytes += stored.asset.size
        if progress is not None:
            progress(stored.asset.size)
    return report


def _target_dir(root: Path, components: list[str]) -> Path:
    """Create the folders of a path under ``root`` without ever following a symlink."""
    current = root
    for part in components:
        current = current / part
        if current.is_symlink():
            raise UsageError(f"{current} is a symbolic link; refusing to restore through it")
        current.mkdir(exist_ok=True)
    return current


def _same_file(path: Path, stored: StoredAsset) -> bool:
    if path.is_symlink() or not path.is_file() or path.stat().st_size != stored.asset.size:
        return False
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            sha.update(chunk)
    return sha.hexdigest() == stored.sha256


def _candidates(name: str) -> list[str]:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    return [name] + [_clip(f"{stem} ({n}){suffix}") for n in range(2, 1000)]


class _HashingFile:
    def __init__(self, fd: int) -> None:
        self.fh = os.fdopen(fd, "wb", buffering=1 << 20)
        self.sha = hashlib.sha256()
        self.count = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.count += len(data)
        return self.fh.write(data)


def _link_no_clobber(part: Path, target: Path) -> bool:
    """Move ``part`` to ``target`` unless ``target`` exists. Hard link where the file system has
    them (atomic); otherwise check-then-rename (FAT and exFAT drives)."""
    try:
        os.link(part, target)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.EXDEV):
            raise
        if target.exists() or target.is_symlink():
            return False
        part.rename(target)
    return True


def _existing_identical(folder: Path, name: str, stored: StoredAsset) -> bool:
    """True if a file with the same bytes already sits under one of the candidate names."""
    for candidate in _candidates(name):
        target = folder / candidate
        if not (target.exists() or target.is_symlink()):
            return False
        if _same_file(target, stored):
            return True
    return False


def _restore_one(vault: Vault, root: Path, stored: StoredAsset) -> str:
    components = safe_components(stored.asset.path)
    folder = _target_dir(root, components[:-1])
    name = safe_component(stored.asset.name) or components[-1]  # the original name, if recorded
    if _existing_identical(folder, name, stored):
        return "identical"
    part = folder / f".{secrets.token_hex(6)}.part"
    # 0o666 less the umask, as any file a person creates (and as cp would restore it).
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(part, flags, 0o666)
    sink = _HashingFile(fd)
    try:
        with sink.fh:
            vault.decrypt_to(stored, sink)
            sink.fh.flush()
            os.fsync(sink.fh.fileno())
        if sink.count != stored.asset.size or sink.sha.hexdigest() != stored.sha256:
            raise IntegrityError(f"{stored.asset.path} decrypts to different bytes")
        _set_time(part, stored)
        for index, candidate in enumerate(_candidates(name)):
            if _link_no_clobber(part, folder / candidate):
                return "renamed" if index else "restored"
        raise UsageError(f"too many files named like {name} in {folder}")
    finally:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()


def _set_time(path: Path, stored: StoredAsset) -> None:
    """Give the restored file its capture time (or the source's modification time). A time the
    file system cannot hold (a phone said the year 30000) leaves the file's own: the bytes are
    what matters."""
    when = stored.asset.captured_at
    try:
        mtime_ns = int(when.timestamp() * 1e9) if when else stored.asset.mtime_ns
        os.utime(path, ns=(mtime_ns, mtime_ns))
    except (OverflowError, ValueError, OSError) as exc:
        log.warning("%s keeps the time of its restore: %s", stored.asset.path, exc)
