"""Turn what a phone shows (file listings) and what its Photos library says into ``Asset``s.

Pure functions, no I/O: the USB connector lists the folders of originals (``DCIM/``,
``PhotoData/CPLAssets/``) and the edit renders under ``PhotoData/Mutations/``, and reads
``Photos.sqlite``; this module decides what each file is.

- A photo or video is a row of the library; its file is ``<ZDIRECTORY>/<ZFILENAME>``
  (``DCIM/100APPLE/IMG_0001.HEIC``, or ``PhotoData/CPLAssets/group12/<UUID>.JPG`` for a photo
  iCloud Photos brought from another device).
- A Live Photo is one row (subtype 2) standing for two files with the same stem: the photo and a
  ``.MOV`` that has no row of its own. Both halves get the same ``live_group``.
- An edit is a render under ``PhotoData/Mutations/<ZDIRECTORY>/<stem>/Adjustments/``
  (``FullSizeRender.jpg|.heic|.mov``) with the recipe (``Adjustments.plist``) beside it; the
  original stays untouched, so both are kept.
- A row in Recently Deleted is skipped (with its Live Photo half and its edits) unless asked.
- A row whose original is only in iCloud is listed (the person must learn it is not backed up)
  and marked cloud-only, whether or not a placeholder file is present.
- Files the library does not know (it could not be read, or it lags behind) are kept as plain
  files: nothing on the phone is skipped for want of a row.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath

from companion.connectors import kinds
from companion.connectors.usb.photosdb import PhotoRecord
from companion.model import Asset, AssetKind

logger = logging.getLogger(__name__)

MUTATIONS = "PhotoData/Mutations"
ADJUSTMENTS = "Adjustments"
RECIPE = "Adjustments.plist"


def phone_kind(path: str) -> AssetKind:
    """What a phone's file is; the edit recipe beside a render is a sidecar like an ``.AAE``."""
    return AssetKind.SIDECAR if path.endswith("/" + RECIPE) else kinds.kind_of(path)


@dataclass(frozen=True, slots=True)
class FileStat:
    """A file as the phone lists it; ``problem`` says why it cannot be read, if the phone listed
    it but would not describe it (gone when asked, an error status, an answer without a size)."""

    size: int
    mtime_ns: int
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Roll:
    """The assets of a phone, sorted by path, which of them are only in iCloud, and which the
    phone listed but would not describe (path -> why): those are listed, to be reported as
    failed, never stored."""

    assets: tuple[Asset, ...]
    cloud_only: frozenset[str]
    trashed: int  # rows skipped because they are in Recently Deleted
    unreadable: Mapping[str, str] = field(default_factory=dict)


def mutation_folder(record: PhotoRecord) -> str:
    """Where the Photos app keeps the edit of ``record``."""
    return f"{MUTATIONS}/{record.stem_path}/{ADJUSTMENTS}"


def assemble(
    source: str,
    files: Mapping[str, FileStat],
    records: Mapping[str, PhotoRecord] | None,
    *,
    include_trashed: bool = False,
) -> Roll:
    """Every asset of the phone from its listed ``files`` (media-root paths) and library rows.

    ``records`` is None when the library could not be read: then every file is a plain asset.
    """
    records = records or {}
    by_stem = {r.stem_path: r for r in records.values()}
    skip = {path for path, r in records.items() if r.trashed and not include_trashed}
    assets: list[Asset] = []
    for path, stat in files.items():
        owner = owner_of(path, records, by_stem)
        if owner is not None and owner.path in skip:
            continue
        assets.append(_asset(source, path, stat, owner))
    cloud_only = set()
    for path, record in records.items():
        if not record.cloud_only or path in skip:
            continue
        cloud_only.add(path)
        if path not in files:  # no placeholder file at all: list it from the library alone
            size = record.original_size or 0
            stat = FileStat(size, _ns(record.captured_at))
            assets.append(_asset(source, path, stat, record))
    assets.sort(key=lambda a: a.path)
    unreadable = {path: stat.problem for path, stat in files.items() if stat.problem}
    return Roll(tuple(assets), frozenset(cloud_only), len(skip), unreadable)


def owner_of(
    path: str, records: Mapping[str, PhotoRecord], by_stem: Mapping[str, PhotoRecord]
) -> PhotoRecord | None:
    """The library row a file belongs to: its own, its Live Photo's, or the edited original's.
    ``by_stem`` maps each row's ``stem_path`` to it."""
    if path in records:
        return records[path]
    if path.startswith(MUTATIONS + "/"):
        # PhotoData/Mutations/DCIM/100APPLE/IMG_0007/Adjustments/FullSizeRender.jpg
        parts = PurePosixPath(path[len(MUTATIONS) + 1 :]).parts
        if len(parts) >= 3 and parts[-2] == ADJUSTMENTS:
            return by_stem.get("/".join(parts[:-2]))
        return None
    record = by_stem.get(_without_suffix(path))
    if record is not None and (record.live or phone_kind(path) is AssetKind.SIDECAR):
        return record
    return None


def _asset(source: str, path: str, stat: FileStat, owner: PhotoRecord | None) -> Asset:
    kind = phone_kind(path)
    if owner is None:
        return Asset(source, path, stat.size, stat.mtime_ns, kind)
    own = owner.path == path
    edit = path.startswith(MUTATIONS + "/")
    sidecar = kind is AssetKind.SIDECAR
    live_half = not own and not edit and not sidecar
    return Asset(
        source=source,
        path=path,
        size=stat.size,
        mtime_ns=stat.mtime_ns,
        kind=AssetKind.VIDEO if live_half else kind,
        captured_at=owner.captured_at if own or live_half else None,
        live_group=owner.stem_path if owner.live and (own or live_half) else None,
        edited_of=owner.path if edit and not sidecar else None,
        sidecar_of=owner.path if sidecar else None,
        albums=owner.albums,
        hidden=owner.hidden,
        favourite=owner.favourite,
        screenshot=owner.screenshot if own else None,
        uid=owner.uid if own else None,
        cloud_id=owner.cloud_guid if own else None,
        original_name=owner.original_name
        if own and owner.original_name not in (None, owner.filename)
        else None,
    )


def _without_suffix(path: str) -> str:
    folder, _, base = path.rpartition("/")
    dot = base.rfind(".")
    stem = base[:dot] if dot > 0 else base
    return f"{folder}/{stem}" if folder else stem


def _ns(when: datetime | None) -> int:
    return int(when.timestamp() * 1_000_000_000) if when is not None else 0
