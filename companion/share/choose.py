"""Which files a share would write, and which it leaves out, read from the vault alone.

A library item (a photo with its Live Photo movie, its edited render and its ``.AAE`` recipe,
linked by ``Asset.live_group``, ``edited_of`` and ``sidecar_of``) is shared as one file: the
edited render if there is one (what the person sees in Photos), else the original; the Live
Photo's movie and the recipe never leave. The filters (dates, album, path) are asked of the
item's original.

The rule, the same for every item: an item with a flagged file (``ScanRecord.flagged``: any
verdict, whatever its category) is **flagged**; an item whose shared file was never scanned is
**not scanned**. A photo the person put in the Hidden album is flagged too (``hidden``): they
said it is private. All are left out unless the person asks for them (``--include-flagged``, after
a typed confirmation). Files are grouped as the cleanup groups them (``model.items_of``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from companion.model import CONTEXT_CATEGORIES, Asset, AssetKind, ScanRecord, StoredAsset, items_of

SHARED_KINDS = (AssetKind.PHOTO, AssetKind.VIDEO)


class Status(StrEnum):
    OK = "ok"
    FLAGGED = "flagged"
    NOT_SCANNED = "not scanned"


@dataclass(frozen=True, slots=True)
class Filters:
    since: datetime | None = None
    until: datetime | None = None  # excluded: the first moment not wanted
    album: str | None = None
    path: str | None = None  # a glob, matched against the path and against the file name


@dataclass(frozen=True, slots=True)
class Item:
    """One library item to share: its original, the file that would be written, and why it
    may not go (``status``; ``categories``: the flagging verdicts)."""

    original: StoredAsset
    shared: StoredAsset
    status: Status
    categories: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.original.asset.name


@dataclass(frozen=True, slots=True)
class Selection:
    """The items the filters chose, in capture order, split by status."""

    items: tuple[Item, ...] = field(default=())

    def by_status(self, status: Status) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.status is status)

    @property
    def risky(self) -> tuple[Item, ...]:
        """Flagged or not scanned: what ``--include-flagged`` adds, after the confirmation."""
        return tuple(i for i in self.items if i.status is not Status.OK)


def select(
    stored: Iterable[StoredAsset], scans: dict[str, ScanRecord], filters: Filters
) -> Selection:
    """The items of ``stored`` (the vault's current assets) that the filters keep, each once
    (the same bytes held under two paths or two sources are one file to share)."""
    chosen: list[Item] = []
    seen: set[str] = set()
    for item in items_of(list(stored), _asset):
        original = item[0]
        if original.asset.kind not in SHARED_KINDS or not _wanted(original, filters):
            continue
        shared = _shared_file(item)
        if shared.object_id in seen:
            continue
        seen.add(shared.object_id)
        chosen.append(_judged(item, shared, scans))
    chosen.sort(key=_when)
    return Selection(tuple(chosen))


def _asset(stored: StoredAsset) -> Asset:
    return stored.asset


def _judged(item: Sequence[StoredAsset], shared: StoredAsset, scans: dict[str, ScanRecord]) -> Item:
    records = [scans.get(s.object_id) for s in item]
    verdicts = sorted(
        {
            f.category
            for scan in records
            if scan is not None and scan.flagged()
            for f in scan.findings()
        }
        - set(CONTEXT_CATEGORIES)
    )
    if any(scan is not None and scan.flagged() for scan in records):
        return Item(item[0], shared, Status.FLAGGED, tuple(verdicts))
    if any(s.asset.hidden for s in item):  # the person hid it in Photos: as private as a finding
        return Item(item[0], shared, Status.FLAGGED, ("hidden",))
    if scans.get(shared.object_id) is None:
        return Item(item[0], shared, Status.NOT_SCANNED)
    return Item(item[0], shared, Status.OK)


def _wanted(stored: StoredAsset, filters: Filters) -> bool:
    asset = stored.asset
    when = asset.captured_at
    if filters.since is not None and (when is None or when < filters.since):
        return False
    if filters.until is not None and (when is None or when >= filters.until):
        return False
    if filters.album is not None and filters.album not in asset.albums:
        return False
    if filters.path is not None:
        pattern = filters.path
        return fnmatch.fnmatchcase(asset.path, pattern) or fnmatch.fnmatchcase(asset.name, pattern)
    return True


def _shared_file(item: Sequence[StoredAsset]) -> StoredAsset:
    """The edited render of the original if there is one (the newest), else the original."""
    original = item[0]
    renders = [
        s
        for s in item
        if s.asset.edited_of == original.asset.path and s.asset.kind is original.asset.kind
    ]
    return max(renders, key=lambda s: s.recorded_at) if renders else original


def _when(item: Item) -> tuple[float, str]:
    captured = item.original.asset.captured_at
    return (captured.timestamp() if captured else 0.0, item.original.asset.path)
