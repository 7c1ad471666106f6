"""Back up a source into a vault: incremental, resumable, one pass per file.

``run_backup`` lists the source, skips every asset the vault already holds unchanged (same path,
size and modification stamp: no byte is read), and streams the rest into the vault, where each
payload is hashed, encrypted and written once. It is resumable because every stored object is
durable before its record, and a record is what makes an asset "held": after a kill, a re-run
re-reads only what was not yet recorded, and payloads that did reach the disk are recognised by
their keyed hash instead of being written twice.

Dry run is a different store (``DryRunStore``), not a flag checked along the way.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import BinaryIO, Protocol, cast

from companion.connectors.base import Connector, Prober
from companion.errors import SourceUnavailable
from companion.model import Asset, BackupReport, EventKind, StoredAsset, VaultEvent
from companion.vault import Vault

log = logging.getLogger(__name__)


class Progress(Protocol):
    """How a backup reports progress; the CLI draws it, tests may count it."""

    def start(self, total_bytes: int, total_items: int) -> None: ...

    def advance(self, nbytes: int) -> None: ...

    def item_done(self, asset: Asset, outcome: str) -> None: ...


class NoProgress:
    def start(self, total_bytes: int, total_items: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def item_done(self, asset: Asset, outcome: str) -> None:
        pass


class Outcome(StrEnum):
    NEW = "new"
    DEDUPLICATED = "deduplicated"  # the payload was already in the vault
    WOULD_STORE = "would store"  # dry run


Fetch = Callable[[], tuple[Asset, BinaryIO]]
"""Reads an asset's metadata (probe) and opens its bytes; called only when they are needed."""


class Store(Protocol):
    """Where a backup puts assets."""

    def lookup(self, asset: Asset) -> StoredAsset | None: ...

    def store(self, asset: Asset, fetch: Fetch) -> Outcome: ...

    def finish(self, report: BackupReport) -> BackupReport: ...


class VaultStore:
    """The real store: streams into a vault opened for writing."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def lookup(self, asset: Asset) -> StoredAsset | None:
        return self.vault.held(asset)

    def store(self, asset: Asset, fetch: Fetch) -> Outcome:
        described, stream = fetch()
        with stream:
            result = self.vault.put(described, stream)
        return Outcome.DEDUPLICATED if result.deduplicated else Outcome.NEW

    def finish(self, report: BackupReport) -> BackupReport:
        counts = (
            ("deduplicated", report.deduplicated),
            ("failed", len(report.failed)),
            ("new", report.new),
            ("skipped", report.skipped),
        )
        self.vault.record_event(
            VaultEvent(
                kind=EventKind.BACKUP, at=self.vault.now(), source=report.source, counts=counts
            )
        )
        self.vault.flush()
        return report


class DryRunStore:
    """Answers lookups from the vault (if there is one) and stores nothing: it never calls
    ``fetch``, so no file is opened and no byte is written."""

    def __init__(self, vault: Vault | None) -> None:
        self.vault = vault

    def lookup(self, asset: Asset) -> StoredAsset | None:
        return self.vault.held(asset) if self.vault is not None else None

    def store(self, asset: Asset, fetch: Fetch) -> Outcome:
        return Outcome.WOULD_STORE

    def finish(self, report: BackupReport) -> BackupReport:
        return replace(report, dry_run=True)


class _CountingReader(io.RawIOBase):
    """Reports bytes to the progress bar as the vault pulls them."""

    def __init__(self, inner: BinaryIO, progress: Progress) -> None:
        self._inner = inner
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._progress.advance(n)
        return n

    def close(self) -> None:
        self._inner.close()
        super().close()


def unchanged(stored: StoredAsset | None, asset: Asset) -> bool:
    """The vault's version matches what the source lists now (the incremental test)."""
    return (
        stored is not None
        and stored.asset.size == asset.size
        and stored.asset.mtime_ns == asset.mtime_ns
    )


@dataclass
class _Tally:
    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    bytes_read: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    would_store: list[str] = field(default_factory=list)


def run_backup(
    connector: Connector, store: Store, progress: Progress | None = None
) -> BackupReport:
    """Back up every new or changed asset of ``connector`` into ``store``.

    A failure to read one asset (it changed while read, an I/O error) is recorded in the report
    and the backup goes on; anything that endangers the vault (a full disk, a lost lock) stops it
    at once, with everything finished so far already recorded.
    """
    progress = progress or NoProgress()
    listed = list(connector.list_assets())
    todo = [a for a in listed if not unchanged(store.lookup(a), a)]
    progress.start(sum(a.size for a in todo), len(todo))
    tally = _Tally()
    for asset in todo:
        _back_up_one(connector, store, asset, tally, progress)
    report = BackupReport(
        source=connector.source,
        new=tally.counts[Outcome.NEW],
        skipped=len(listed) - len(todo),
        deduplicated=tally.counts[Outcome.DEDUPLICATED],
        bytes_read=tally.bytes_read,
        failed=tally.failed,
        would_store=tuple(tally.would_store),
    )
    return store.finish(report)


def _back_up_one(
    connector: Connector, store: Store, asset: Asset, tally: _Tally, progress: Progress
) -> None:
    def fetch() -> tuple[Asset, BinaryIO]:
        described = connector.probe(asset) if isinstance(connector, Prober) else asset
        stream = _CountingReader(connector.open(asset), progress)
        return described, cast(BinaryIO, stream)

    try:
        outcome = store.store(asset, fetch)
    except SourceUnavailable as exc:  # includes SourceChanged: retried on the next run
        log.warning("not backed up: %s: %s", asset.path, exc.message)
        tally.failed[asset.path] = exc.message
        progress.item_done(asset, "failed")
        return
    tally.counts[outcome] += 1
    if outcome is Outcome.WOULD_STORE:
        tally.would_store.append(asset.path)
        progress.advance(asset.size)
    else:
        tally.bytes_read += asset.size
    progress.item_done(asset, outcome.value)
