"""What became of photos the person deleted in the Photos app, read again from the phone.

Deleting files over AFC would leave the Photos library pointing at missing files, so the phone
is never written: the person deletes in the Photos app and this module tells, for each asset,
what the phone now shows (``RemovalChecker``). The Photos app deletes in two steps:

- deleting moves a photo to Recently Deleted: its row stays in ``Photos.sqlite`` with
  ``ZTRASHEDSTATE`` 1 and ``ZTRASHEDDATE`` (a Core Data time) and its files stay on the phone;
- 30 days later, or when the person empties Recently Deleted, the row and the files go.

So an asset is ``TRASHED`` when the row it belongs to is (its own row, its Live Photo's or the
edited original's, found by path, or by the asset's ``uid``, the row's ``ZUUID``), with the day
it will be purged; ``PRESENT`` when that row is not trashed, or when there is no row but the file
is still in its folder (a file the library does not know is still on the phone); ``GONE`` when
there is neither row nor file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from companion.connectors.base import Removal, RemovalState
from companion.connectors.usb.iphone import check_path
from companion.connectors.usb.photosdb import LibraryUnreadable, PhotoRecord, read_library
from companion.connectors.usb.roll import owner_of
from companion.connectors.usb.session import PHOTOS_DB, Session
from companion.model import Asset

RECENTLY_DELETED_DAYS = 30  # how long the Photos app keeps a deleted photo


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the phone shows now: its library files and the names in each asked folder."""

    db: bytearray
    wal: bytearray
    folders: Mapping[str, frozenset[str]]


async def snapshot(session: Session, assets: Sequence[Asset]) -> Snapshot:
    """The library (with its WAL) and one directory read of each folder holding one of
    ``assets``; runs on the link's loop. Reads only."""
    db = await session.read_whole(PHOTOS_DB)
    wal = await session.read_whole(PHOTOS_DB + "-wal")
    folders = sorted({_folder(a.path) for a in assets})
    listings = await asyncio.gather(*(session.listdir(f) for f in folders))
    return Snapshot(
        db, wal, {f: frozenset(names) for f, names in zip(folders, listings, strict=True)}
    )


def removal_states(assets: Sequence[Asset], read: Callable[[], Snapshot]) -> list[Removal]:
    """One ``Removal`` per asset, in order, from what ``read`` brings back from the phone.

    A library copied while the phone writes it can come out torn: it is read twice at most. A
    library that cannot be read raises ``LibraryUnreadable``: without it, a photo in Recently
    Deleted cannot be told from one still in the library, and guessing would mislead.
    """
    for asset in assets:
        check_path(asset.path)
    error: LibraryUnreadable | None = None
    for _attempt in range(2):
        seen = read()
        try:
            records = read_library(seen.db, seen.wal)
        except LibraryUnreadable as exc:
            error = exc
            continue
        return judge(assets, records, seen.folders)
    raise LibraryUnreadable(
        f"cannot tell what became of the photos: {error}",
        hint="Unlock the iPhone, keep it unlocked, and run the check again.",
    )


def judge(
    assets: Sequence[Asset],
    records: Mapping[str, PhotoRecord],
    folders: Mapping[str, frozenset[str]],
) -> list[Removal]:
    """Pure: each asset's state from the library rows (by path) and the folders' names."""
    by_stem = {r.stem_path: r for r in records.values()}
    by_uid = {r.uid: r for r in records.values() if r.uid}
    found = []
    for asset in assets:
        row = _row(asset, records, by_stem, by_uid)
        folder, _, name = asset.path.rpartition("/")
        if row is not None and row.trashed:
            purge = _purge_day(row.trashed_at)
            found.append(Removal(asset, RemovalState.TRASHED, purge_on=purge))
        elif row is not None or name in folders.get(folder, ()):
            found.append(Removal(asset, RemovalState.PRESENT))
        else:
            found.append(Removal(asset, RemovalState.GONE))
    return found


def _row(
    asset: Asset,
    records: Mapping[str, PhotoRecord],
    by_stem: Mapping[str, PhotoRecord],
    by_uid: Mapping[str, PhotoRecord],
) -> PhotoRecord | None:
    """The row ``asset`` belongs to. Its ``uid`` wins: a path can be another photo's by now
    (file numbers start again after IMG_9999)."""
    if asset.uid is not None and asset.uid in by_uid:
        return by_uid[asset.uid]
    row = owner_of(asset.path, records, by_stem)
    if row is not None and asset.uid is not None and row.uid not in (None, asset.uid):
        return None
    return row


def _purge_day(trashed_at: datetime | None) -> date | None:
    """The day (on this computer's calendar) the Photos app drops a photo deleted then."""
    if trashed_at is None:
        return None
    try:
        return (trashed_at + timedelta(days=RECENTLY_DELETED_DAYS)).astimezone().date()
    except (OverflowError, ValueError):  # a date no calendar holds: the day is unknown
        return None


def _folder(path: str) -> str:
    return path.rpartition("/")[0]
