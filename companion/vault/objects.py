"""Content-addressed, encrypted objects: one age file per unique payload.

``objects/<first two hex digits>/<64 hex digits>``, the name being the keyed hash of the
plaintext (see ``crypto.keyed_name``). An object is written once and never overwritten; storing a
payload the vault already holds stores nothing (whole-file dedupe).

One pass over the source does everything: the bytes are hashed as pyrage pulls them for
encryption, and the ciphertext goes to a temporary file in ``tmp/``. Only when the whole payload
has been read, its length matches what the source announced, and the ciphertext is fsynced, is the
file moved to its final name. A crash at any point leaves at most a temporary file, which the next
writer removes.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from companion.errors import IntegrityError, SizeMismatch, StorageFull, VaultError
from companion.portable import durable
from companion.vault import crypto
from companion.vault.fsio import (
    access_error,
    fsync_dir,
    new_temp_path,
    open_exclusive,
    publish,
    vault_access,
)

_READ_BUFFER = 1 << 20  # large reads from the source; pyrage asks for 8 KiB at a time
_OBJECT_ID = re.compile(r"[0-9a-f]{64}")


def buffer_for(size: int) -> int:
    """A buffer as large as the file needs, up to 1 MiB: a camera roll holds thousands of small
    files, and zeroing megabytes of buffer for each costs more than storing it."""
    return max(1 << 14, min(_READ_BUFFER, size + 1))


@dataclass(frozen=True, slots=True)
class StoredObject:
    object_id: str
    sha256: str
    size: int  # plaintext bytes
    stored_size: int  # ciphertext bytes on disk, what quick verify checks
    new: bool  # False when the vault already held this payload


class _HashingRaw(io.RawIOBase):
    """Counts and hashes every byte read through it."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self.sha = hashlib.sha256()
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer)
        readinto = getattr(self._source, "readinto", None)
        if readinto is not None:
            n = readinto(view) or 0
        else:
            data = self._source.read(len(view))
            n = len(data)
            view[:n] = data
        if n:
            self.sha.update(view[:n])
            self.count += n
        return n


class _EarlyWriteback:
    """Asks the kernel to start writing ciphertext to disk while encryption goes on.

    Without it, the final fsync waits for the whole file to reach the disk with the CPU idle;
    with it, the disk works in the background and the fsync finds little left to do. The hint
    (POSIX_FADV_DONTNEED on what is already written) also keeps ciphertext from crowding the
    page cache. It changes nothing about durability: the fsync still comes before the rename.
    """

    _STEP = 8 << 20

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._written = 0
        self._advised = 0

    def write(self, data: bytes) -> int:
        n = self._out.write(data)
        self._written += n
        if self._written - self._advised >= self._STEP:
            self._out.flush()
            durable.drop_cache(self._out.fileno(), self._advised, self._written - self._advised)
            self._advised = self._written
        return n


def check_plaintext(data: bytes, sha256: str, size: int, what: str) -> None:
    """Raise ``IntegrityError`` unless ``data`` is what the catalogue recorded. Anyone can
    encrypt a file to the vault's public recipient, so decrypting is not proof: the hash is."""
    if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
        raise IntegrityError(f"{what} decrypts to different bytes than were backed up")


class HashSink:
    """A writer that keeps only the SHA-256 and the length of what it is given."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.count = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.count += len(data)
        return len(data)


class ObjectStore:
    def __init__(
        self, root: Path, tmp_dir: Path, recipient: str, name: Callable[[bytes], str]
    ) -> None:
        self.root = root
        self._root_text = str(root)
        self.tmp_dir = tmp_dir
        self._recipient = recipient
        self._name = name

    @property
    def recipient(self) -> str:
        return self._recipient

    def path(self, object_id: str) -> Path:
        return Path(self._location(object_id))

    def _location(self, object_id: str) -> str:
        # Ids come from the catalogue, which is authenticated, but a path is built from them:
        # check the shape anyway so that no record can point outside objects/.
        if not _OBJECT_ID.fullmatch(object_id):
            raise IntegrityError(f"malformed object id {object_id!r} in the catalogue")
        return os.path.join(self._root_text, object_id[:2], object_id)  # noqa: PTH118 (hot path)

    def stored_size(self, object_id: str) -> int | None:
        """The object file's size, or None if it is missing. One ``stat``; called per asset on
        every backup, so it avoids building path objects."""
        try:
            return os.stat(self._location(object_id)).st_size  # noqa: PTH116 (hot path)
        except FileNotFoundError:
            return None
        except OSError as exc:  # another user's folder: said, with a hint
            mistake = access_error(exc, self.root.parent)
            if mistake is None:
                raise
            raise mistake from exc

    def put(self, source: BinaryIO, expected_size: int | None, what: str) -> StoredObject:
        """Encrypt ``source`` into the store. See the module docstring for the write order.

        Raises ``SizeMismatch`` if the source yields more or fewer than ``expected_size`` bytes
        (None: whatever it yields is the payload), ``StorageFull`` on ENOSPC; in every failure
        case nothing is left behind.
        """
        temp = new_temp_path(self.tmp_dir, ".obj")
        hashing = _HashingRaw(source)
        try:
            fd = open_exclusive(temp)
            buffer = buffer_for(_READ_BUFFER if expected_size is None else expected_size)
            with os.fdopen(fd, "wb", buffering=buffer) as out:
                reader = io.BufferedReader(hashing, buffer_size=buffer)
                crypto.encrypt_stream(reader, _EarlyWriteback(out), self._recipient, what)
                out.flush()
                durable.sync(out.fileno())
                stored_size = out.tell()
            if expected_size is not None and hashing.count != expected_size:
                raise SizeMismatch(
                    f"{what} gave {hashing.count} bytes, its listing said {expected_size}",
                    listed=expected_size,
                    read=hashing.count,
                )
            digest = hashing.sha.digest()
            object_id = self._name(digest)
            final = self.path(object_id)
            new_dir = not final.parent.exists()
            new = publish(temp, final, overwrite=False)
            if new_dir:
                fsync_dir(self.root)
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            if isinstance(exc, OSError):
                if exc.errno == errno.ENOSPC:
                    raise StorageFull(f"the disk is full while storing {what}") from exc
                if exc.errno == errno.EFBIG:
                    raise StorageFull(
                        f"{what} is too large for the file system of the vault's drive",
                        hint="FAT32 holds no file of 4 GB or more: keep the vault on a drive "
                        "formatted exFAT, APFS, NTFS or ext4 (what was stored so far is kept).",
                    ) from exc
                mistake = access_error(exc, self.tmp_dir.parent)
                raise mistake or VaultError(f"cannot store {what}: {exc.strerror or exc}") from exc
            raise
        if not new:
            stored_size = final.stat().st_size
        return StoredObject(object_id, digest.hex(), hashing.count, stored_size, new)

    def opened(self, object_id: str, what: str) -> io.BufferedReader:
        """The object's file, open for reading. A missing object raises IntegrityError."""
        try:
            with vault_access(self.root.parent):  # another user's file: said, with a hint
                return self.path(object_id).open("rb")
        except FileNotFoundError as exc:
            raise IntegrityError(f"{what} is missing from the vault") from exc

    def decrypt_to(
        self, object_id: str, writer: crypto.Writable, identity: crypto.Identity, what: str
    ) -> None:
        """Decrypt an object into ``writer``. A missing or damaged object raises IntegrityError."""
        with self.opened(object_id, what) as fh:
            crypto.decrypt_stream(
                io.BufferedReader(fh, buffer_size=_READ_BUFFER), writer, identity, what
            )

    def verify(
        self, object_id: str, sha256: str, size: int, identity: crypto.Identity, what: str
    ) -> None:
        """Decrypt and re-hash one object; raise IntegrityError unless it matches exactly."""
        sink = HashSink()
        self.decrypt_to(object_id, sink, identity, what)
        if sink.count != size or sink.sha.hexdigest() != sha256:
            raise IntegrityError(f"{what} decrypts to different bytes than were backed up")

    def quarantine(self, object_id: str) -> Path | None:
        """Move a damaged object aside (``<id>.damaged``) so that its name is free again.

        Nothing is deleted: the damaged bytes stay for inspection, but a later backup of the same
        payload writes a fresh, intact object under the original name, which repairs every
        asset that references it. Returns the new path, or None if the object was not there.
        """
        path = self.path(object_id)
        for n in range(1, 1000):
            aside = path.with_name(f"{object_id}.damaged" + (f"-{n}" if n > 1 else ""))
            if aside.exists():
                continue
            try:
                path.rename(aside)
            except FileNotFoundError:
                return None
            fsync_dir(path.parent)
            return aside
        raise IntegrityError(f"too many damaged copies of object {object_id}")

    def all_ids(self) -> set[str]:
        found: set[str] = set()
        if not self.root.is_dir():
            return found
        for fan in self.root.iterdir():
            if fan.is_dir() and len(fan.name) == 2:
                found.update(p.name for p in fan.iterdir() if len(p.name) == 64)
        return found
