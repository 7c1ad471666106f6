"""The vault: a folder that holds a person's photos encrypted, and everything needed to get them
back. The on-disk format is specified in docs/design/vault-format.md; this module follows it.

    <vault>/
      companion-vault.json   format marker + public recipient (plaintext, no personal data)
      RESTORE.txt            how to recover every file with the stock `age` tool alone
      keys/<id>.age          the vault identity, encrypted with one passphrase per file
      objects/ab/<id>        one age file per unique payload
      catalogue/<seq>.age    append-only encrypted JSON-lines segments
      cache/index.age        encrypted SQLite cache of the catalogue (disposable)
      tmp/                   ciphertext being written; emptied by the next writer
      lock                   present while a writer works
"""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TypeVar

from companion.errors import IntegrityError, UsageError, VaultError, VaultExists
from companion.model import Asset, Place, ScanRecord, StoredAsset, VaultEvent
from companion.vault import crypto
from companion.vault.agefile import AgeReader
from companion.vault.cache import IndexCache
from companion.vault.catalogue import (
    Catalogue,
    Record,
    Seal,
    encode_asset,
    encode_event,
    encode_place,
    encode_scan,
)
from companion.vault.fsio import atomic_write, fsync_dir, remove_children, unmake, vault_access
from companion.vault.hardening import no_core_dumps
from companion.vault.health import HighWater, SegmentProblem, gaps
from companion.vault.holdings import Held, Holdings
from companion.vault.lock import VaultLock
from companion.vault.objects import ObjectStore, StoredObject
from companion.vault.pool import (
    Fetch,
    WorkerPool,
    check_task,
    plaintext_task,
    put_task,
    store_fetched,
)
from companion.vault.records import FlushPolicy, RecordQueue
from companion.vault.restore_text import RESTORE_TEXT
from companion.vault.unlock import MARKER, marker_text, read_marker, unlock, write_key_file

__all__ = ["Clock", "FlushPolicy", "Held", "PutResult", "Vault", "utc_now"]


Clock = Callable[[], datetime]


T = TypeVar("T")
R = TypeVar("R")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class PutResult:
    stored: StoredAsset
    deduplicated: bool  # the payload was already in the vault; no object was written


class Vault:
    """An open vault. Use ``Vault.create`` or ``Vault.open``, and close it (context manager).

    A facade over rooms that each hold one job: ``IndexCache`` gets the index at open and saves
    it at close, ``RecordQueue`` turns queued records into segments, ``Holdings`` answers what
    the vault holds. The vault itself holds the lifecycle: unlocking, the lock, and tmp/.
    """

    def __init__(
        self,
        root: Path,
        identity: crypto.Identity,
        recipient: str,
        *,
        writable: bool,
        clock: Clock,
        flush: FlushPolicy,
    ) -> None:
        no_core_dumps()  # the identity is in this process's memory from now on
        self.root = root
        self._identity = identity
        self._recipient = recipient
        self._clock = clock
        self._lock = VaultLock(root / "lock")
        self.writable = False
        self._tmp = root / "tmp"
        self._object_key = identity.derive_key("object-id")
        self.objects = ObjectStore(
            root / "objects", self._tmp, recipient, crypto.keyed_name(self._object_key)
        )
        self.catalogue = Catalogue(root / "catalogue", self._tmp, recipient, identity)
        self._flush_policy = flush
        self._asset_key = identity.derive_key("asset-id")
        self._cache = IndexCache(
            root / "cache" / "index.age",
            self._tmp,
            recipient,
            identity,
            identity.derive_key("cache-mac"),
        )
        self.high_water = HighWater(recipient, root)  # this computer's mark (``health``)
        if writable:
            self._lock.acquire()
            self.writable = True
            self._clean_tmp()
        try:
            self._load_index()
        except BaseException:
            self._lock.release()
            raise

    def _load_index(self) -> None:
        """Read the index (cache or segments) and find what is wrong with the catalogue:
        segments that cannot be read, numbers missing, newer segments gone (``health``)."""
        loaded = self._cache.load(self.catalogue)
        self.index = loaded.index
        seals = self.index.segment_seals()
        sealed = {name: Seal(name, size, mac) for name, (size, mac) in seals.items()}
        on_disk = self.catalogue.segment_names()
        problems = [*loaded.unreadable, *gaps(on_disk)]
        problems += self.high_water.problems(sealed, on_disk)
        self.catalogue_problems: tuple[SegmentProblem, ...] = tuple(
            sorted(problems, key=lambda p: p.segment)
        )
        self._holdings = Holdings(self.index, self.objects, self._identity)
        self._records = RecordQueue(self.catalogue, self.index, self._flush_policy, self._published)

    def reload_index(self) -> None:
        """Read the catalogue again, ignoring the cache (after a repair changed segments)."""
        self._require_writable()
        self.flush()
        self.index.close()
        self._cache.path.unlink(missing_ok=True)
        self._load_index()

    def _published(self, seal: Seal) -> None:
        self._holdings.forget()
        mark = self.high_water.read()
        if not self.catalogue_problems and (mark is None or seal.number > mark[0]):
            self.high_water.write(seal)

    # -- creation and unlocking ------------------------------------------------------------

    @staticmethod
    def exists(root: Path) -> bool:
        """True when ``root`` holds a vault: its marker (written last by ``create``) is there.
        Never raises: ``open`` says what is wrong with a folder this user may not look into."""
        try:
            return (root / MARKER).exists()
        except OSError:
            return False

    @classmethod
    def create(
        cls,
        root: Path,
        passphrase: str,
        *,
        work_factor: int = crypto.DEFAULT_WORK_FACTOR,
        clock: Clock = utc_now,
    ) -> Vault:
        """Make a new vault in ``root`` (absent or an empty folder) and open it for writing."""
        if not passphrase:
            raise UsageError("the passphrase is empty", hint="Choose one you can remember.")
        with vault_access(root):  # a folder this user may not write: said, with a hint
            if root.exists() and (not root.is_dir() or any(root.iterdir())):
                raise VaultExists(f"{root} already exists and is not an empty folder")
            identity = crypto.Identity.generate()
            made_root = not root.exists()
            try:
                for sub in ("keys", "objects", "catalogue", "cache", "tmp"):
                    (root / sub).mkdir(parents=True, exist_ok=True)
                write_key_file(root, identity, passphrase, work_factor)
                atomic_write(root / "RESTORE.txt", RESTORE_TEXT.encode("utf-8"), root / "tmp")
                # The marker goes last: a folder without it is not (yet) a vault.
                atomic_write(root / MARKER, marker_text(identity.recipient()), root / "tmp")
            except BaseException:
                unmake(root, made_root)
                raise
            fsync_dir(root)
            recipient = identity.recipient()
            return cls(root, identity, recipient, writable=True, clock=clock, flush=FlushPolicy())

    @classmethod
    def open(
        cls,
        root: Path,
        passphrase: str,
        *,
        write: bool = False,
        clock: Clock = utc_now,
        flush: FlushPolicy | None = None,
    ) -> Vault:
        """Unlock an existing vault. The lock is taken only after the passphrase is accepted, so
        a wrong passphrase writes nothing and leaves no lock."""
        with vault_access(root):  # files this user may not read or write: said, with a hint
            recipient = read_marker(root)
            identity = unlock(root, passphrase)
            if identity.recipient() != recipient:
                raise IntegrityError(
                    "the key file does not match this vault's recipient",
                    hint="The keys/ folder may come from another vault.",
                )
            policy = flush or FlushPolicy()
            return cls(root, identity, recipient, writable=write, clock=clock, flush=policy)

    def close(self) -> None:
        try:
            if self.writable:
                self.flush()
            self._cache.save(self.index)
        finally:
            self.index.close()
            self._lock.release()
            self.writable = False

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None and self.writable:
            # Publish what is durable so far: every queued record references an object that is
            # already fsynced, so recording it is always safe and saves a resume from re-reading.
            with contextlib.suppress(Exception):
                self.flush()
        self.close()

    def now(self) -> datetime:
        return self._clock()

    @property
    def identity(self) -> crypto.Identity:
        return self._identity

    def _clean_tmp(self) -> None:
        """Remove what a dead writer left in tmp/ (ciphertext only; we hold the lock)."""
        self._tmp.mkdir(exist_ok=True)
        remove_children(self._tmp)

    # -- writing (records are published by ``flush``, see ``vault.records``) ------------------

    def asset_id(self, asset: Asset) -> str:
        """Stable, keyed id of (source, path): 32 hex digits that reveal neither."""
        message = f"{asset.source}\x00{asset.path}".encode("utf-8", "surrogateescape")
        return hmac.digest(self._asset_key, message, "sha256").hex()[:32]

    def _require_writable(self) -> None:
        if not self.writable:
            raise VaultError("the vault was opened read-only")

    def put(self, asset: Asset, stream: BinaryIO) -> PutResult:
        """Store one asset's bytes and queue its record (published by ``flush``).

        The object is durable before the record is queued; if reading fails (``SourceChanged``,
        ``SourceUnavailable``) or the disk fills (``StorageFull``), nothing is recorded.
        """
        self._require_writable()
        return self.record_object(asset, self.objects.put(stream, asset.size, asset.path))

    def put_fetched(
        self, fetch: Fetch, asset: Asset, wrap: Callable[[BinaryIO], BinaryIO]
    ) -> PutResult:
        """Fetch and store one asset, read a second time and stored as read if its bytes do not
        add up to its listing (``pool.store_fetched``); the record holds the size read."""
        self._require_writable()
        described, obj = store_fetched(self.objects, fetch, asset, wrap)
        return self.record_object(described, obj)

    def record_object(self, asset: Asset, obj: StoredObject) -> PutResult:
        """Queue the record of an asset whose object is already published (by ``put`` or by a
        worker process)."""
        self._require_writable()
        stored = StoredAsset(
            asset_id=self.asset_id(asset),
            asset=asset,
            object_id=obj.object_id,
            sha256=obj.sha256,
            stored_size=obj.stored_size,
            recorded_at=self._clock(),
        )
        self._queue(encode_asset(stored))
        return PutResult(stored, deduplicated=not obj.new)

    def record_event(self, event: VaultEvent) -> None:
        self._require_writable()
        self._queue(encode_event(event))

    def record_scan(self, scan: ScanRecord) -> None:
        """Queue the latest scan of one object (findings live only here, encrypted)."""
        self._require_writable()
        self._queue(encode_scan(scan))

    def set_place(self, place: Place) -> None:
        """Declare (or move) a private place; published at once, so the next scan sees it."""
        self._require_writable()
        self._queue(encode_place(place, place.name, self.now()))
        self.flush()

    def remove_place(self, name: str) -> bool:
        """Remove the place called ``name``; False if there is none."""
        self._require_writable()
        if not any(p.name == name for p in self.places()):
            return False
        self._queue(encode_place(None, name, self.now()))
        self.flush()
        return True

    def _queue(self, record: Record) -> None:
        self._records.add(record)

    def flush(self) -> None:
        """Publish queued records as one segment, then add them to the index."""
        self._records.flush()

    # -- worker processes --------------------------------------------------------------------

    def pool(self, workers: int) -> WorkerPool:
        """Worker processes bound to this vault's objects (see ``vault.pool``)."""
        return WorkerPool(self.objects.root, self._tmp, self._recipient, workers)

    def put_task(self, fetch: Fetch) -> Callable[[Asset], tuple[Asset, StoredObject]]:
        """A worker task that stores one asset: it carries the naming key, never the identity."""
        return put_task(fetch, self._object_key)

    def plaintext_task(self, fn: Callable[[bytes, T], R]) -> Callable[[tuple[str, str, int, T]], R]:
        """A worker task that decrypts one object in memory, checks its hash, and calls
        ``fn(bytes, payload)`` (``pool.plaintext_task``)."""
        return plaintext_task(self._object_key, self._identity, fn)

    def check_task(self) -> Callable[[tuple[str, str, int]], str | None]:
        """A worker task that decrypts and re-hashes one object (it carries the identity)."""
        return check_task(self._object_key, self._identity)

    # -- reading (see ``vault.holdings``) ----------------------------------------------------

    def lookup(self, asset: Asset) -> StoredAsset | None:
        """The stored version of (source, path), if any."""
        return self._holdings.lookup(asset)

    def holds_unchanged(self, asset: Asset) -> bool:
        """True if (source, path) is held with this size and stamp and its bytes are here
        (``Holdings.holds_unchanged``): a backup may skip it without reading it."""
        return self._holdings.holds_unchanged(asset)

    def held(self, assets: Iterable[Asset]) -> list[Held]:
        """Each listed file against the vault, in order: which are fully verified
        (``Holdings.held``); one index query per source."""
        return self._holdings.held(assets)

    def get(self, asset_id: str) -> StoredAsset | None:
        return self._holdings.get(asset_id)

    def assets(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[StoredAsset]:
        return self._holdings.assets(since, until)

    def scans(self) -> dict[str, ScanRecord]:
        """The latest scan of every scanned object, by object id."""
        return self._holdings.scans()

    def places(self) -> list[Place]:
        """The private places declared, by name."""
        return self._holdings.places()

    def removal_events(self, source: str) -> list[VaultEvent]:
        """Cleanup's audit trail for ``source``, oldest first (``Holdings.removal_events``)."""
        return self._holdings.removal_events(source)

    def decrypt_to(self, stored: StoredAsset, writer: crypto.Writable) -> None:
        """Write an asset's plaintext into ``writer`` (which may receive a damaged prefix)."""
        self._holdings.decrypt_to(stored, writer)

    def reader(self, stored: StoredAsset) -> AbstractContextManager[AgeReader]:
        """An asset's plaintext, seekable, in memory a chunk at a time (a video, for a program
        that must seek), checked against the catalogue first (``Holdings.reader``)."""
        return self._holdings.reader(stored)

    def plaintext(self, stored: StoredAsset) -> bytes:
        """An asset's bytes, in memory, checked against the catalogue's SHA-256 and size
        (``IntegrityError`` otherwise): for pictures, never for a whole video."""
        return self._holdings.plaintext(stored)
