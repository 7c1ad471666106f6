"""A summary of what a vault holds, for ``companion status`` (its ``--json`` is this, as named
fields: docs/cli.md describes the shape)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations

from companion.model import AssetKind, EventKind, StoredAsset, VaultEvent
from companion.portable.synced import sync_client
from companion.vault import cloudonly
from companion.vault.cloudonly import CloudOnlyFiles
from companion.vault.unlock import key_files
from companion.vault.vault import Vault


@dataclass(frozen=True, slots=True)
class KindCount:
    count: int
    bytes: int  # plaintext bytes


@dataclass(frozen=True, slots=True)
class BackupRun:
    """The last backup run that finished, with what it did."""

    at: datetime
    source: str | None
    new: int
    deduplicated: int
    skipped: int
    failed: int


@dataclass(frozen=True, slots=True)
class Interrupted:
    """Files stored after the last finished backup (or with none yet): a run that stopped
    before its end (Ctrl-C, a pulled cable, a crash). The next backup of the source resumes."""

    at: datetime  # when the newest of them was stored
    files: int
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SharedFiles:
    """Two sources holding the same files (same content), such as one folder backed up under two
    spellings (``folder:X`` holding ``DCIM/``, then ``folder:X/DCIM``): stored once, but counted
    and restored under each source."""

    sources: tuple[str, str]
    files: int
    bytes: int


@dataclass(frozen=True, slots=True)
class Removals:
    """Cleanup's audit trail for one source: files chosen for removal (``planned``), taken off
    by companion (``removed``), seen gone or in Recently Deleted when the source was read again
    (``confirmed``), left because their copy in the vault was not verified (``refused``)."""

    source: str
    planned: int
    removed: int
    confirmed: int
    refused: int
    last: datetime


_REMOVAL_FIELDS = {
    EventKind.REMOVAL_PLANNED: "planned",
    EventKind.REMOVED: "removed",
    EventKind.REMOVAL_CONFIRMED: "confirmed",
    EventKind.REMOVAL_REFUSED: "refused",
}


@dataclass(frozen=True, slots=True)
class VaultStatus:
    assets: int
    by_kind: dict[str, KindCount]  # every kind, in AssetKind order, zero when absent
    bytes: int  # plaintext bytes of current assets
    stored_bytes: int  # ciphertext bytes of every object the catalogue references
    objects: int
    first_capture: datetime | None
    last_capture: datetime | None
    last_backup: BackupRun | None
    interrupted: Interrupted | None
    shared: tuple[SharedFiles, ...]  # most files first
    last_verify: datetime | None
    verified_ok: int  # objects whose latest full check passed
    verified_bad: int  # objects whose latest full check failed
    segments: int
    passphrases: int
    removals: tuple[Removals, ...] = ()  # by source, per cleanup's audit trail
    cloud_only: tuple[CloudOnlyFiles, ...] = ()  # by source: previews only, originals found?
    synced_by: str | None = None  # the cloud client that uploads the vault's folder (encrypted)


def summarize(vault: Vault) -> VaultStatus:
    counts: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    times: list[datetime] = []
    assets = list(vault.assets())
    for stored in assets:
        counts[stored.asset.kind.value] += 1
        sizes[stored.asset.kind.value] += stored.asset.size
        if stored.asset.captured_at is not None:
            times.append(stored.asset.captured_at)
    objects = list(vault.index.objects())
    backups = list(vault.index.events(EventKind.BACKUP))
    latest: dict[str, bool] = {}
    last_verify = None
    for event in vault.index.events(EventKind.VERIFIED):
        if event.object_id is not None:
            latest[event.object_id] = bool(event.ok)
        last_verify = event.at
    return VaultStatus(
        assets=len(assets),
        by_kind={k.value: KindCount(counts[k.value], sizes[k.value]) for k in AssetKind},
        bytes=sum(sizes.values()),
        stored_bytes=sum(o[3] for o in objects),
        objects=len(objects),
        first_capture=min(times, default=None),
        last_capture=max(times, default=None),
        last_backup=_run(backups[-1]) if backups else None,
        interrupted=_interrupted(vault.index.stored_since_last_backup()),
        shared=shared_sources(assets),
        last_verify=last_verify,
        verified_ok=sum(latest.values()),
        verified_bad=sum(not ok for ok in latest.values()),
        segments=len(vault.index.segments()),
        passphrases=len(key_files(vault.root)),
        removals=_removals(vault),
        cloud_only=cloudonly.summarize(vault, assets),
        synced_by=sync_client(vault.root),
    )


def _removals(vault: Vault) -> tuple[Removals, ...]:
    counts: dict[str, Counter[str]] = {}
    last: dict[str, datetime] = {}
    for kind, name in _REMOVAL_FIELDS.items():
        for event in vault.index.events(kind):
            source = event.source or ""
            counts.setdefault(source, Counter())[name] += 1
            last[source] = max(last.get(source, event.at), event.at)
    return tuple(
        Removals(
            source,
            **{name: counts[source][name] for name in _REMOVAL_FIELDS.values()},
            last=last[source],
        )
        for source in sorted(counts)
    )


def _run(event: VaultEvent) -> BackupRun:
    counts = dict(event.counts)
    return BackupRun(
        at=event.at,
        source=event.source,
        new=counts.get("new", 0),
        deduplicated=counts.get("deduplicated", 0),
        skipped=counts.get("skipped", 0),
        failed=counts.get("failed", 0),
    )


def _interrupted(stored: list[StoredAsset]) -> Interrupted | None:
    if not stored:
        return None
    return Interrupted(
        at=max(s.recorded_at for s in stored),
        files=len({s.asset_id for s in stored}),
        sources=tuple(sorted({s.asset.source for s in stored})),
    )


def shared_sources(assets: list[StoredAsset]) -> tuple[SharedFiles, ...]:
    """Pairs of sources whose current assets share objects (the same bytes), most first."""
    holders: dict[str, set[str]] = {}
    size: dict[str, int] = {}
    for stored in assets:
        holders.setdefault(stored.object_id, set()).add(stored.asset.source)
        size[stored.object_id] = stored.asset.size
    files: Counter[tuple[str, str]] = Counter()
    nbytes: Counter[tuple[str, str]] = Counter()
    for object_id, sources in holders.items():
        for pair in combinations(sorted(sources), 2):
            files[pair] += 1
            nbytes[pair] += size[object_id]
    return tuple(
        SharedFiles(pair, n, nbytes[pair])
        for pair, n in sorted(files.items(), key=lambda item: (-item[1], item[0]))
    )
