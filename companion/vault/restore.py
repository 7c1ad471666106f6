"""Getting files back out of the vault, safely.

Names come from devices and cloud accounts, so they are hostile until proven otherwise. Every
path is rebuilt component by component (``safe_components``) so that nothing a name contains can
write outside the destination: no ``..``, no absolute paths or drive letters, no NUL or control
characters, no reserved Windows names, no component over 255 bytes, Unicode normalised to NFC.
A file's name is its own last component made safe; one with nothing left (" ", "..": only dots
and spaces, so no extension either) becomes ``unnamed-<asset id>.<ext>``, the extension read
from its first bytes. Every folder is made before any file, so no file takes a folder's place.

The destination is walked by handle, not by path: opened once, each folder below it made and
opened relative to its parent's handle without following a symlink (``O_NOFOLLOW``), each file
created, compared, linked and timed relative to its folder's handle (opened per file, closed at
once). A folder swapped for a symlink during a restore cannot send plaintext elsewhere: a folder
once opened stays the folder it was, and a symlink met where a folder should be fails that file,
with nothing written through it. Without such handles (Windows) the same steps go by path, each
folder checked just before use.

Each file is decrypted into a hidden ``.part`` file beside its target, re-hashed, fsynced, given
its capture time as mtime, then linked into place without replacing anything; the ``.part`` file
is removed however the file ends (damage, a full disk, Ctrl-C). An existing file with the same
bytes counts as restored; a different file is never overwritten: the new one becomes
``IMG_0001 (2).HEIC``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import re
import secrets
import stat
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from companion.errors import CompanionError, IntegrityError, StorageFull, UsageError
from companion.model import Asset, StoredAsset
from companion.portable import durable, files
from companion.vault.sniff import HEAD_BYTES, extension
from companion.vault.vault import Vault

log = logging.getLogger(__name__)

_MAX_NAME_BYTES = 255
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)
_SEPARATORS = re.compile(r"[/\\]")
_NO_HARD_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.EXDEV)
_MET_A_LINK = (errno.ELOOP, errno.ENOTDIR, errno.EMLINK)  # O_NOFOLLOW|O_DIRECTORY on a symlink


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
    parts = [safe_component(p) for p in _SEPARATORS.split(path)]
    kept = [p for p in parts if p is not None]
    return kept or ["unnamed"]


def _folders(path: str) -> tuple[str, ...]:
    """The safe folders of a device path: its components but the last, unsafe ones dropped."""
    parts = (safe_component(p) for p in _SEPARATORS.split(path)[:-1])
    return tuple(p for p in parts if p is not None)


def _own_name(asset: Asset) -> str | None:
    """The file's own name made safe: the original name if the source recorded a usable one,
    else the path's last component; None if nothing meaningful is left of either."""
    recorded = safe_component(asset.original_name) if asset.original_name else None
    return recorded or safe_component(_SEPARATORS.split(asset.path)[-1])


@dataclass
class RestoreReport:
    restored: int = 0
    identical: int = 0  # already present with the same bytes
    renamed: int = 0  # written under "name (2).ext" because a different file was there
    bytes: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    damaged: int = 0  # of the failures, those whose copy in the vault is damaged or missing


Progress = Callable[[int], None]  # bytes written (or found already there) since the last call


def restore(
    vault: Vault,
    dest: Path,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    progress: Progress | None = None,
    source: str | None = None,
) -> RestoreReport:
    """Restore every current asset captured in [since, until) into ``dest`` (only those of
    ``source``, if given)."""
    root = _open_destination(vault, dest)
    report = RestoreReport()
    progress = progress or (lambda _nbytes: None)
    try:
        selected = [
            s for s in vault.assets(since, until) if source is None or s.asset.source == source
        ]
        _make_folders(root, selected)
        for stored in selected:
            try:
                outcome = _restore_one(vault, root, stored, progress)
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
    finally:
        root.close()
    return report


def _open_destination(vault: Vault, dest: Path) -> _Folder:
    vault_root = vault.root.resolve()
    target = dest.resolve()
    if target == vault_root or vault_root in target.parents:
        raise UsageError(
            f"{dest} is inside the vault",
            hint="Restore somewhere else: the vault must never hold a photo unencrypted.",
        )
    try:
        dest.mkdir(parents=True, exist_ok=True)
        return _Folder.open(dest.resolve())
    except (FileExistsError, NotADirectoryError) as exc:
        raise UsageError(
            f"{dest} is not a folder", hint="Give --to a folder, new or existing."
        ) from exc
    except OSError as exc:
        raise UsageError(
            f"cannot create {dest}: {exc.strerror}",
            hint="Choose a folder you can write to.",
        ) from exc


def _handles() -> bool:
    """Whether folders can be walked by handle here (POSIX systems; not Windows)."""
    needed = {os.open, os.mkdir, os.stat, os.unlink, os.link, os.rename}
    return hasattr(os, "O_NOFOLLOW") and needed <= os.supports_dir_fd and os.utime in os.supports_fd


class _Folder:
    """A folder of the destination: an open handle (``fd``), every name looked up inside that
    very folder whatever happens to its path since; or, without handles, its ``path``."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path, self.fd = path, fd

    @classmethod
    def open(cls, path: Path) -> _Folder:
        return cls(path, os.open(path, os.O_RDONLY | files.DIRECTORY) if _handles() else None)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)

    def at(self, name: str) -> str | Path:
        """How the OS calls ``name`` here: relative to the handle, else joined to the path."""
        return name if self.fd is not None else self.path / name

    def child(self, name: str) -> _Folder:
        """The folder ``name`` in this one, made if missing, never reached through a symlink."""
        path = self.path / name
        if self.fd is None:
            if path.is_symlink():
                raise _through_link(path)
            path.mkdir(exist_ok=True)
            return _Folder(path, None)
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, dir_fd=self.fd)
        try:
            fd = os.open(name, os.O_RDONLY | files.DIRECTORY | files.NOFOLLOW, dir_fd=self.fd)
        except OSError as exc:
            found = self.lstat(name)  # a symlink, or a folder again if one was swapped back
            kind = stat.S_IFMT(found.st_mode) if found is not None else None
            if exc.errno in _MET_A_LINK and kind in (stat.S_IFLNK, stat.S_IFDIR):
                raise _through_link(path) from exc
            raise
        return _Folder(path, fd)

    def lstat(self, name: str) -> os.stat_result | None:
        try:
            return os.stat(self.at(name), dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def open_file(self, name: str, flags: int, mode: int = 0o666) -> int:
        """Open the file ``name`` in this folder, never through a symlink."""
        flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        return os.open(self.at(name), flags, mode, dir_fd=self.fd)

    def link(self, part: str, name: str) -> bool:
        """Give ``part`` the name ``name`` too, unless something has it already. A hard link
        where the file system has them (atomic); otherwise check then rename (FAT, exFAT)."""
        try:
            if self.fd is None:
                os.link(self.at(part), self.at(name))
            else:
                os.link(part, name, src_dir_fd=self.fd, dst_dir_fd=self.fd, follow_symlinks=False)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            if self.lstat(name) is not None:
                return False
            os.rename(self.at(part), self.at(name), src_dir_fd=self.fd, dst_dir_fd=self.fd)
        return True

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.at(name), dir_fd=self.fd)


def _through_link(path: Path) -> UsageError:
    return UsageError(f"{path} is a symbolic link; refusing to restore through it")


@contextlib.contextmanager
def _walk(root: _Folder, names: Iterable[str]) -> Iterator[_Folder]:
    """The folder ``names`` lead to under ``root``, each made if missing; closed afterwards."""
    folder = root
    try:
        for name in names:
            parent, folder = folder, folder.child(name)
            if parent is not root:
                parent.close()
        yield folder
    finally:
        if folder is not root:
            folder.close()


def _make_folders(root: _Folder, selected: list[StoredAsset]) -> None:
    """Make every folder of the restore before any file, so that no file takes a folder's name.
    A folder that cannot be made is reported below, with each file it was to hold."""
    for names in dict.fromkeys(_folders(stored.asset.path) for stored in selected):
        with contextlib.suppress(CompanionError, OSError), _walk(root, names):
            pass


def _restore_one(vault: Vault, root: _Folder, stored: StoredAsset, progress: Progress) -> str:
    """Restore one file; progress hears of its bytes as written (at once if already there)."""
    with _walk(root, _folders(stored.asset.path)) as folder:
        name = _own_name(stored.asset)
        if name is not None and _existing_identical(folder, name, stored):
            progress(stored.asset.size)
            return "identical"
        part = f".{secrets.token_hex(6)}.part"
        try:
            head = _decrypt_into(vault, stored, folder, part, progress)
            if name is None:
                name = f"unnamed-{stored.asset_id[:8]}.{extension(head)}"
                if _existing_identical(folder, name, stored):
                    return "identical"
            for index, candidate in enumerate(_candidates(name)):
                if folder.link(part, candidate):
                    return "renamed" if index else "restored"
            raise UsageError(f"too many files named like {name} in {folder.path}")
        finally:
            folder.remove(part)


def _existing_identical(folder: _Folder, name: str, stored: StoredAsset) -> bool:
    """True if a file with the same bytes already sits under one of the candidate names."""
    for candidate in _candidates(name):
        found = folder.lstat(candidate)
        if found is None:
            return False
        if _same_file(folder, candidate, found, stored):
            return True
    return False


def _same_file(folder: _Folder, name: str, found: os.stat_result, stored: StoredAsset) -> bool:
    if not stat.S_ISREG(found.st_mode) or found.st_size != stored.asset.size:
        return False
    # O_NONBLOCK: a file swapped for a FIFO since the look above does not hang the restore.
    with os.fdopen(folder.open_file(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as fh:
        sha = hashlib.sha256()
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
    """The ``.part`` file being written: hashed, counted, its first bytes kept, told as it goes."""

    def __init__(self, fd: int, progress: Progress) -> None:
        self.fh = os.fdopen(fd, "wb", buffering=1 << 20)
        self.sha = hashlib.sha256()
        self.count, self.head = 0, b""
        self.progress = progress

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.count += len(data)
        if len(self.head) < HEAD_BYTES:
            self.head += data[: HEAD_BYTES - len(self.head)]
        written = self.fh.write(data)
        self.progress(len(data))
        return written


def _decrypt_into(
    vault: Vault, stored: StoredAsset, folder: _Folder, part: str, progress: Progress
) -> bytes:
    """Decrypt ``stored`` into the new file ``part``, check it, time it and make it durable;
    return its first bytes."""
    # 0o666 less the umask, as any file a person creates (and as cp would restore it).
    fd = folder.open_file(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    sink = _HashingFile(fd, progress)
    with sink.fh:
        vault.decrypt_to(stored, sink)
        sink.fh.flush()
        if sink.count != stored.asset.size or sink.sha.hexdigest() != stored.sha256:
            raise IntegrityError(f"{stored.asset.path} decrypts to different bytes")
        if folder.fd is not None:  # by handle: the time goes to this very file
            _set_time(fd, stored)
        durable.sync(fd)
    if folder.fd is None:  # by path, once closed (Windows cannot time a file open for writing)
        _set_time(folder.path / part, stored)
    return sink.head


def _set_time(file: int | Path, stored: StoredAsset) -> None:
    """Give the restored file its capture time (or the source's modification time). A time the
    file system cannot hold (a phone said the year 30000) leaves the file's own: the bytes are
    what matters."""
    when = stored.asset.captured_at
    try:
        mtime_ns = int(when.timestamp() * 1e9) if when else stored.asset.mtime_ns
        os.utime(file, ns=(mtime_ns, mtime_ns))
    except (OverflowError, ValueError, OSError) as exc:
        log.warning("%s keeps the time of its restore: %s", stored.asset.path, exc)
