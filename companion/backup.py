"""Back up a source into a vault: incremental, resumable, one pass per file, several at once.

``run_backup`` lists the source, skips every asset the vault already holds unchanged (same path,
size and modification stamp: no byte is read), and streams the rest into the vault, where each
payload is hashed, encrypted and written once. It is resumable because every stored object is
durable before its record, and a record is what makes an asset "held": after a kill, a re-run
re-reads only what was not yet recorded, and payloads that did reach the disk are recognised by
their keyed hash instead of being written twice.

Large backups from a ``Shareable`` source run in worker processes (``vault.pool``); small ones,
and sources bound to one link, run in this process. Dry run is a different store
(``DryRunStore``), not a flag checked along the way.

A source that misbehaves costs only the files it misbehaves on (docs/design/faulty-sources.md):
a file that cannot be read is reported and retried next run; a file whose bytes do not add up to
its listing is read again and stored as read, with a warning; a link that drops mid-run is
reopened once (``Reconnectable``) and the file it dropped on is read again. A photo or video
whose first bytes are no picture (an empty file, garbage named ``.JPG``) is stored as it is, with
a warning; the check looks at the bytes as they stream into the vault, never a second read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import BinaryIO, Protocol, cast

from companion.connectors import (
    Connector,
    Prober,
    ReadAhead,
    Reconnectable,
    Shareable,
    connect,
)
from companion.connectors.base import Selective
from companion.connectors.signature import HEAD_BYTES, unreadable
from companion.errors import CloudOnly, DeviceDisconnected, SourceUnavailable
from companion.model import Asset, BackupReport, EventKind, VaultEvent
from companion.tap import Tap
from companion.vault import Vault, cloudonly
from companion.vault.objects import StoredObject
from companion.vault.pool import Fetch, auto_workers

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


RECONNECT_WITHIN = 10.0  # seconds a dropped phone has to come back before the run stops
# Modification times a source can sensibly give: from 1970 to the year 2200 (in nanoseconds).
# Anything else is kept as given (it only serves to skip unchanged files) and reported.
SANE_MTIME_NS = range(0, 7_258_118_400 * 10**9)


@dataclass(frozen=True, slots=True)
class Stored:
    """An asset stored (or that would be): how, how many bytes it really had, and its first
    bytes as they streamed in (None when nothing was read: a dry run)."""

    outcome: Outcome
    size: int
    head: bytes | None = None


Result = Stored | SourceUnavailable


class Store(Protocol):
    """Where a backup puts assets."""

    def holds(self, asset: Asset) -> bool:
        """True if the asset is already stored, unchanged (same path, size and modification
        stamp), with its bytes intact as far as is known: it will not be read."""
        ...

    def store_all(
        self, assets: list[Asset], fetch: Fetch, shared: Fetch | None, progress: Progress
    ) -> Iterator[tuple[Asset, Result]]:
        """Store each asset; yield its outcome, or the read error that skipped it, as each
        finishes. ``shared`` is a picklable fetch for worker processes, if the source has one.
        Errors that endanger the vault (a full disk) are raised, not yielded."""
        ...

    def finish(self, report: BackupReport) -> BackupReport: ...


class ConnectorFetch:
    """Describes (probe) and opens an asset through a connector.

    Probing only fills facts the listing did not give (a capture time, the screenshot flag): a
    source whose listing already knows them (a phone's Photos library) is not asked again.
    """

    def __init__(self, connector: Connector) -> None:
        self.connector = connector

    def __call__(self, asset: Asset) -> tuple[Asset, BinaryIO]:
        connector = self.connector
        unknown = asset.captured_at is None or asset.screenshot is None
        described = connector.probe(asset) if unknown and isinstance(connector, Prober) else asset
        return described, connector.open(asset)

    def read_ahead(self, assets: list[Asset]) -> None:
        """Tell a connector over a link the order it will be asked for files in."""
        if isinstance(self.connector, ReadAhead):
            self.connector.read_ahead(assets)

    def reconnect(self) -> bool:
        """After a dropped link: True if it could be opened again within a few seconds."""
        if not isinstance(self.connector, Reconnectable):
            return False
        return self.connector.reconnect(RECONNECT_WITHIN)


_worker_connectors: dict[str, Connector] = {}
_worker_reads: dict[str, _Watch] = {}  # in a worker: the stream of the asset it is storing


@dataclass(frozen=True, slots=True)
class SpecFetch:
    """A fetch that crosses into a worker process as a spec and builds its connector there."""

    spec: str

    def __call__(self, asset: Asset) -> tuple[Asset, BinaryIO]:
        if self.spec not in _worker_connectors:
            _worker_connectors[self.spec] = connect(self.spec)
        described, stream = ConnectorFetch(_worker_connectors[self.spec])(asset)
        watch = _worker_reads[asset.path] = _Watch()
        return described, cast(BinaryIO, Tap(stream, watch))


@dataclass(frozen=True, slots=True)
class _WithHead:
    """A worker task: store one asset (``Vault.put_task``), and bring back its first bytes."""

    task: Callable[[Asset], tuple[Asset, StoredObject]]

    def __call__(self, asset: Asset) -> tuple[Asset, StoredObject, bytes | None]:
        try:
            described, obj = self.task(asset)
        finally:
            watch = _worker_reads.pop(asset.path, None)
        return described, obj, watch.head if watch is not None else None


def _stored(deduplicated: bool, size: int, head: bytes | None) -> Stored:
    return Stored(Outcome.DEDUPLICATED if deduplicated else Outcome.NEW, size, head)


class VaultStore:
    """The real store: streams into a vault opened for writing.

    ``jobs``: worker processes; None picks one per core (at most four) for large backups.
    """

    def __init__(self, vault: Vault, jobs: int | None = None) -> None:
        self.vault = vault
        self.jobs = jobs
        self._cloud_only: list[Asset] = []  # originals the source keeps in iCloud only

    def holds(self, asset: Asset) -> bool:
        return self.vault.holds_unchanged(asset)

    def _workers(self, assets: list[Asset]) -> int:
        if self.jobs is not None:
            return max(1, min(self.jobs, len(assets)))
        return auto_workers(sum(a.size for a in assets), len(assets))

    def store_all(
        self, assets: list[Asset], fetch: Fetch, shared: Fetch | None, progress: Progress
    ) -> Iterator[tuple[Asset, Result]]:
        for asset, result in self._store_all(assets, fetch, shared, progress):
            if isinstance(result, CloudOnly):
                self._cloud_only.append(asset)
            yield asset, result

    def _store_all(
        self, assets: list[Asset], fetch: Fetch, shared: Fetch | None, progress: Progress
    ) -> Iterator[tuple[Asset, Result]]:
        workers = self._workers(assets) if shared is not None else 1
        if workers == 1:
            yield from self._here(assets, fetch, progress)
            return
        task = _WithHead(self.vault.put_task(cast(Fetch, shared)))
        with self.vault.pool(workers) as pool:
            for asset, result in pool.run(task, assets, progress.advance):
                if isinstance(result, SourceUnavailable):
                    yield asset, result
                elif isinstance(result, BaseException):
                    raise result
                else:
                    described, obj, head = result
                    put = self.vault.record_object(described, obj)
                    yield asset, _stored(put.deduplicated, obj.size, head)

    def _here(
        self, assets: list[Asset], fetch: Fetch, progress: Progress
    ) -> Iterator[tuple[Asset, Result]]:
        reads: list[_Watch] = []  # the streams of the current asset (read again on a bad size)

        def counted(stream: BinaryIO) -> BinaryIO:
            reads.append(_Watch(progress))
            return cast(BinaryIO, Tap(stream, reads[-1]))

        link = fetch if isinstance(fetch, ConnectorFetch) else None
        if link is not None:
            link.read_ahead(assets)
        reconnected = False
        index = 0
        while index < len(assets):
            asset = assets[index]
            reads.clear()
            try:
                result = self.vault.put_fetched(fetch, asset, counted)
            except SourceUnavailable as exc:  # includes SourceChanged: retried next run
                yield asset, exc
                index += 1
                continue
            except DeviceDisconnected:
                # Everything stored so far is recorded whatever happens next; a phone back
                # within seconds (a wobbly cable) gets this file asked again, once per run.
                if reconnected or link is None or not link.reconnect():
                    raise
                log.warning("the link dropped while reading %s; reopened it", asset.path)
                reconnected = True
                link.read_ahead(assets[index:])
                continue
            head = reads[-1].head if reads else None
            yield asset, _stored(result.deduplicated, result.stored.asset.size, head)
            index += 1

    def finish(self, report: BackupReport) -> BackupReport:
        counts = (
            ("deduplicated", report.deduplicated),
            ("failed", len(report.failed)),
            ("new", report.new),
            ("skipped", report.skipped),
        )
        cloudonly.note(self.vault, self._cloud_only)
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

    def holds(self, asset: Asset) -> bool:
        return self.vault is not None and self.vault.holds_unchanged(asset)

    def store_all(
        self, assets: list[Asset], fetch: Fetch, shared: Fetch | None, progress: Progress
    ) -> Iterator[tuple[Asset, Result]]:
        for asset in assets:
            progress.advance(max(asset.size, 0))
            yield asset, Stored(Outcome.WOULD_STORE, asset.size)

    def finish(self, report: BackupReport) -> BackupReport:
        return replace(report, dry_run=True)


class _Watch:
    """Watches a ``Tap`` as the vault pulls a stream through it: reports bytes to the progress
    bar (if any) and keeps the first ``HEAD_BYTES``, to tell a picture from garbage without
    reading the file again."""

    def __init__(self, progress: Progress | None = None) -> None:
        self._progress = progress
        self.head = b""

    def __call__(self, data: bytes) -> None:
        if len(self.head) < HEAD_BYTES:
            self.head += data[: HEAD_BYTES - len(self.head)]
        if self._progress is not None:
            self._progress.advance(len(data))


@dataclass
class _Tally:
    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    bytes_read: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, str] = field(default_factory=dict)
    would_store: list[str] = field(default_factory=list)

    def add(self, asset: Asset, result: Result, progress: Progress) -> None:
        if isinstance(result, SourceUnavailable):
            log.info("not backed up: %s: %s", asset.path, result.message)
            self.failed[asset.path] = result.message
            progress.item_done(asset, "failed")
            return
        self.counts[result.outcome] += 1
        if result.outcome is Outcome.WOULD_STORE:
            self.would_store.append(asset.path)
        else:
            self.bytes_read += result.size
        odd = []
        if result.size != asset.size:
            odd.append(
                f"listed as {asset.size} bytes but gave {result.size} (twice); stored as read"
            )
        if asset.mtime_ns not in SANE_MTIME_NS:
            odd.append(
                f"its modification time ({asset.mtime_ns} ns) is out of range; kept as given"
            )
        if result.head is not None and (why := unreadable(asset.kind, result.head, result.size)):
            odd.append(why)
        if odd:
            self.warnings[asset.path] = "; ".join(odd)
            log.info("%s: %s", asset.path, self.warnings[asset.path])
        progress.item_done(asset, result.outcome.value)


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
    todo = [a for a in listed if not store.holds(a)]
    progress.start(sum(max(a.size, 0) for a in todo), len(todo))
    shared = SpecFetch(connector.worker_spec()) if isinstance(connector, Shareable) else None
    tally = _Tally()
    for asset, result in store.store_all(todo, ConnectorFetch(connector), shared, progress):
        tally.add(asset, result, progress)
    report = BackupReport(
        source=connector.source,
        new=tally.counts[Outcome.NEW],
        skipped=len(listed) - len(todo),
        deduplicated=tally.counts[Outcome.DEDUPLICATED],
        bytes_read=tally.bytes_read,
        failed=tally.failed,
        warnings=tally.warnings,
        would_store=tuple(tally.would_store),
        left_out=connector.left_out() if isinstance(connector, Selective) else {},
    )
    return store.finish(report)
