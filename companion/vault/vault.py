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
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TypeVar

from companion.errors import (
    IntegrityError,
    UsageError,
    VaultError,
    VaultExists,
)
from companion.model import Asset, Place, ScanRecord, StoredAsset, VaultEvent
from companion.vault import crypto
from companion.vault.catalogue import (
    Catalogue,
    Record,
    encode_asset,
    encode_event,
    encode_place,
    encode_scan,
)
from companion.vault.fsio import atomic_write, fsync_dir, vault_access
from companion.vault.index import Fingerprint, Index
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
from companion.vault.restore_text import RESTORE_TEXT
from companion.vault.unlock import MARKER, marker_text, read_marker, unlock, write_key_file

log = logging.getLogger(__name__)


Clock = Callable[[], datetime]


T = TypeVar("T")
R = TypeVar("R")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class PutResult:
    stored: StoredAsset
    deduplicated: bool  # the payload was already in the vault; no object was written


@dataclass(frozen=True, slots=True)
class FlushPolicy:
    """When pending records become a segment: after this many records or seconds.

    Small segments bound what a crash can make a resume re-read; large ones keep the catalogue
    compact. Objects are durable before their record is queued, so either way nothing is lost.
    """

    records: int = 256
    seconds: float = 10.0


class Vault:
    """An open vault. Use ``Vault.create`` or ``Vault.open``, and close it (context manager)."""

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
        self.root = root
        self._identity = identity
        self._recipient = recipient
        self._clock = clock
        self._flush_policy = flush
        self._lock = VaultLock(root / "lock")
        self.writable = False
        self._tmp = root / "tmp"
        self._object_key = identity.derive_key("object-id")
        self.objects = ObjectStore(
            root / "objects", self._tmp, recipient, crypto.keyed_name(self._object_key)
        )
        self.catalogue = Catalogue(root / "catalogue", self._tmp, recipient, identity)
        self._asset_key = identity.derive_key("asset-id")
        self._cache_key = identity.derive_key("cache-mac")
        self._pending: list[Record] = []
        self._fingerprints: dict[
            str, dict[str, Fingerprint]
        ] = {}  # per source; see holds_unchanged
        self._last_flush = time.monotonic()
        if writable:
            self._lock.acquire()
            self.writable = True
            self._clean_tmp()
        try:
            self.index = self._load_index()
        except BaseException:
            self._lock.release()
            raise

    # -- creation and unlocking ------------------------------------------------------------

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
            raise UsageError(
                "the passphrase is empty", hint="Choose a passphrase you can remember."
            )
        with vault_access(root):  # a folder this user may not write: said, with a hint
            if root.exists() and (not root.is_dir() or any(root.iterdir())):
                raise VaultExists(f"{root} already exists and is not an empty folder")
            identity = crypto.Identity.generate()
            for sub in ("keys", "objects", "catalogue", "cache", "tmp"):
                (root / sub).mkdir(parents=True, exist_ok=True)
            write_key_file(root, identity, passphrase, work_factor)
            atomic_write(root / "RESTORE.txt", RESTORE_TEXT.encode("utf-8"), root / "tmp")
            # The marker goes last: a folder without it is not (yet) a vault.
            atomic_write(root / MARKER, marker_text(identity.recipient()), root / "tmp")
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
            self._save_index()
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

    # -- the index cache ---------------------------------------------------------------------

    def _load_index(self) -> Index:
        names = self.catalogue.segment_names()
        index = self._read_cached_index()
        if index is not None and not set(index.segments()) <= set(names):
            log.info("index cache names segments that are gone; rebuilding")
            index.close()
            index = None
        if index is None:
            index = Index.empty()
        known = set(index.segments())
        newest = max(known) if known else ""
        for name in names:
            if name in known:
                continue
            if name < newest:  # a segment older than what the cache holds: order broken
                index.close()
                return self._rebuild_index(names)
            index.ingest(name, self.catalogue.read(name))
        return index

    def _rebuild_index(self, names: list[str]) -> Index:
        index = Index.empty()
        for name in names:
            index.ingest(name, self.catalogue.read(name))
        return index

    def _read_cached_index(self) -> Index | None:
        path = self.root / "cache" / "index.age"
        try:
            data = crypto.decrypt_bytes(path.read_bytes(), self._identity, "the index cache")
        except FileNotFoundError:
            return None
        except (IntegrityError, OSError) as exc:
            log.info("index cache unreadable (%s); rebuilding from the catalogue", exc)
            return None
        # Like a segment, the cache is encrypted to a public recipient: its MAC (the first 32
        # bytes of the plaintext) shows that this vault's owner wrote it.
        mac, database = data[:32], data[32:]
        if not hmac.compare_digest(mac, hmac.digest(self._cache_key, database, "sha256")):
            log.warning("index cache failed authentication; rebuilding from the catalogue")
            return None
        return Index.from_bytes(database)

    def _save_index(self) -> None:
        """Best effort: a vault on read-only media still opens, it just rebuilds each time.
        Nothing is written when the cache on disk is already up to date."""
        if not self.index.changed:
            return
        try:
            database = self.index.to_bytes()
            mac = hmac.digest(self._cache_key, database, "sha256")
            data = crypto.encrypt_bytes(mac + database, self._recipient, "the index cache")
            (self.root / "cache").mkdir(exist_ok=True)
            self._tmp.mkdir(exist_ok=True)
            atomic_write(self.root / "cache" / "index.age", data, self._tmp)
        except (VaultError, OSError) as exc:
            log.warning("could not save the index cache: %s", exc)

    def _clean_tmp(self) -> None:
        """Remove what a dead writer left in tmp/ (ciphertext only; we hold the lock)."""
        self._tmp.mkdir(exist_ok=True)
        for leftover in self._tmp.iterdir():
            with contextlib.suppress(OSError):
                if leftover.is_dir() and not leftover.is_symlink():
                    shutil.rmtree(leftover)
                else:
                    leftover.unlink()

    # -- writing -----------------------------------------------------------------------------

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

    def pool(self, workers: int) -> WorkerPool:
        """Worker processes bound to this vault's objects (see ``vault.pool``)."""
        return WorkerPool(self.objects.root, self._tmp, self._recipient, workers)

    def put_task(self, fetch: Fetch) -> Callable[[Asset], tuple[Asset, StoredObject]]:
        """A worker task that stores one asset: it carries the naming key, never the identity."""
        return put_task(fetch, self._object_key)

    def plaintext_task(self, fn: Callable[[bytes, T], R]) -> Callable[[tuple[str, int, T]], R]:
        """A worker task that decrypts one object in memory and calls ``fn(bytes, payload)``."""
        return plaintext_task(self._object_key, self._identity, fn)

    def check_task(self) -> Callable[[tuple[str, str, int]], str | None]:
        """A worker task that decrypts and re-hashes one object (it carries the identity)."""
        return check_task(self._object_key, self._identity)

    def record_event(self, event: VaultEvent) -> None:
        self._require_writable()
        self._queue(encode_event(event))

    def record_scan(self, scan: ScanRecord) -> None:
        """Queue the latest scan of one object (findings live only here, encrypted)."""
        self._require_writable()
        self._queue(encode_scan(scan))

    def scans(self) -> dict[str, ScanRecord]:
        """The latest scan of every scanned object, by object id."""
        return self.index.scans()

    def places(self) -> list[Place]:
        """The private places declared, by name."""
        return self.index.places()

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
        self._pending.append(record)
        policy = self._flush_policy
        if (
            len(self._pending) >= policy.records
            or time.monotonic() - self._last_flush >= policy.seconds
        ):
            self.flush()

    def flush(self) -> None:
        """Publish queued records as one segment, then add them to the index."""
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        records, self._pending = self._pending, []
        try:
            name = self.catalogue.publish(records)
        except BaseException:
            self._pending = records + self._pending
            raise
        self.index.ingest(name, records)
        self._fingerprints.clear()

    # -- reading -----------------------------------------------------------------------------

    def lookup(self, asset: Asset) -> StoredAsset | None:
        """The stored version of (source, path), if any."""
        return self.index.lookup(asset.source, asset.path)

    def holds_unchanged(self, asset: Asset) -> bool:
        """True if the vault holds (source, path) with this size and modification stamp, and
        its bytes are really here: the object file exists and no full check since the record
        found it damaged (verify moves damaged objects aside). False makes a backup store the
        asset again, which writes a fresh object: a backup repairs what verify found.

        One ``stat`` per asset, no object read; the index is asked once per source.
        """
        prints = self._fingerprints.get(asset.source)
        if prints is None:
            prints = self._fingerprints[asset.source] = self.index.fingerprints(asset.source)
        known = prints.get(asset.path)
        return (
            known is not None
            and (known.size, known.mtime_ns) == (asset.size, asset.mtime_ns)
            and not known.damaged
            and self.objects.stored_size(known.object_id) is not None
        )

    def get(self, asset_id: str) -> StoredAsset | None:
        return self.index.get(asset_id)

    def assets(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[StoredAsset]:
        return self.index.assets(since, until)

    def decrypt_to(self, stored: StoredAsset, writer: crypto.Writable) -> None:
        """Write an asset's plaintext into ``writer`` (which may receive a damaged prefix)."""
        self.objects.decrypt_to(stored.object_id, writer, self._identity, stored.asset.path)
