"""iCloud Photos records as the files companion backs up. Pure: JSON in, ``Asset``s out.

iCloud keeps a picture as two CloudKit records: a ``CPLMaster`` (the original file, its name, a
Live Photo's movie) and a ``CPLAsset`` (the capture date, hidden and favourite, the edit, whose
full-size render is a field of its own, ``resJPEGFullRes``). Each file is an ``ASSETID`` field
holding its ``size`` and a signed ``downloadURL`` that expires after a while.

Paths are ``<YYYY>/<MM>/<name>_<TAG><.ext>``: the year and month of the capture (in the time zone
it was taken in), the file's own name, and ``TAG``, the first 8 letters and digits of the asset's
record name; a shared library's pictures (an iCloud Shared Photo Library the person takes
part in) under ``Shared Library/``. iCloud keeps many files of one name (``IMG_0001.JPG`` from
every phone and camera), so the name alone is not unique, and a suffix given only on a clash
would rename a file when another one arrives; the record name never changes for the life of the
asset, so neither does its path. The name as the person knows it is the asset's
``original_name``. The three files of a picture share the tag: ``IMG_0005_C8B1A80B.HEIC``, its
Live Photo movie ``IMG_0005_C8B1A80B.MOV`` (same ``live_group``), its edit
``IMG_E0005_C8B1A80B.JPG`` (``edited_of`` the original), as Apple names an edit in an export.
The modification stamp is the capture time: it changes only when the person changes the date,
so a re-run skips what it stored (same path, size and stamp).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import PurePosixPath
from typing import Any

from companion.connectors import kinds
from companion.model import Asset, AssetKind

Record = Mapping[str, Any]

ORIGINAL, LIVE, EDIT = "original", "live", "edit"
PRIMARY = "PrimarySync"  # the zone of the person's own library
SHARED_FOLDER = "Shared Library"  # where a shared library's pictures are listed
# Where each file lives: (record type, field prefix) -> its size and URL are in <prefix>Res.
_FIELDS = {
    ORIGINAL: ("CPLMaster", ("resOriginal",)),
    LIVE: ("CPLMaster", ("resOriginalVidCompl",)),
    EDIT: ("CPLAsset", ("resJPEGFull", "resVidFull")),
}
# What a listing asks for: the fields read here and nothing else (a page stays small).
DESIRED_KEYS = [
    "recordName",
    "recordType",
    "masterRef",
    "assetDate",
    "addedDate",
    "timeZoneOffset",
    "isHidden",
    "isFavorite",
    "isDeleted",
    "assetSubtypeV2",
    "adjustmentType",
    "itemType",
    "filenameEnc",
    *(
        f"{prefix}{part}"
        for _kind, prefixes in _FIELDS.values()
        for prefix in prefixes
        for part in ("Res", "FileType")
    ),
]
_SUFFIXES = {
    "public.jpeg": ".JPG",
    "public.heic": ".HEIC",
    "public.heif": ".HEIF",
    "public.png": ".PNG",
    "com.apple.quicktime-movie": ".MOV",
    "public.mpeg-4": ".MP4",
    "com.adobe.raw-image": ".DNG",
}
_SCREENSHOT = 10  # assetSubtypeV2, as Photos.sqlite numbers kinds of pictures
_TAG = 8
_NAME_MAX = 120
_EDIT_NAME = re.compile(r"([A-Za-z]+_)(\d+)")


@dataclass(frozen=True, slots=True)
class CloudFile:
    """One file of the library: the asset companion lists, and where iCloud keeps it (the
    ``CPLAsset`` and ``CPLMaster`` record names, which file of the picture, its signed URL)."""

    asset: Asset
    record: str
    master: str
    role: str
    url: str
    zone: str = PRIMARY


@dataclass(frozen=True, slots=True)
class Link:
    """Where a file can be downloaded now, and how big the record says it is."""

    url: str
    size: int


def pairs(records: Iterable[Record]) -> list[tuple[Record, Record]]:
    """Each ``CPLAsset`` of a page with its ``CPLMaster``, in the page's order; an asset whose
    master is missing (a page that ended between the two) is left out."""
    listed = list(records)
    masters = {r.get("recordName"): r for r in listed if r.get("recordType") == "CPLMaster"}
    found = []
    for record in listed:
        if record.get("recordType") != "CPLAsset":
            continue
        reference = _value(record, "masterRef")
        name = reference.get("recordName") if isinstance(reference, dict) else None
        master = masters.get(name)
        if master is not None:
            found.append((record, master))
    return found


def files_of(
    source: str,
    asset: Record,
    master: Record,
    *,
    whole_tag: bool = False,
    albums: tuple[str, ...] = (),
    zone: str = PRIMARY,
) -> list[CloudFile]:
    """The files of one picture (original, Live Photo movie, edit), as assets of ``source``,
    in ``albums``. ``whole_tag``: the whole record name in the paths, for the rare picture whose
    short tag and name are another's. A picture of a shared library (``zone`` other than the
    person's own) has its paths under ``Shared Library/``."""
    record = str(asset.get("recordName", ""))
    master_name = str(master.get("recordName", ""))
    original = link(asset, master, ORIGINAL)
    if not record or not master_name or original is None:
        return []
    millis, captured = _captured_at(asset, master)
    name = _file_name(master, record)
    stem, suffix = _split(name, _uti(master, ORIGINAL))
    folder = f"{captured.year:04d}/{captured.month:02d}"
    if zone != PRIMARY:
        folder = f"{SHARED_FOLDER}/{folder}"
    label = tag(record, whole=whole_tag)
    base = f"{folder}/{stem}_{label}"
    live = link(asset, master, LIVE)
    first = Asset(
        source=source,
        path=base + suffix,
        size=original.size,
        mtime_ns=millis * 1_000_000,
        kind=_kind(name, _uti(master, ORIGINAL)),
        captured_at=captured,
        live_group=base if live is not None else None,
        hidden=bool(_value(asset, "isHidden")),
        favourite=bool(_value(asset, "isFavorite")),
        screenshot=_value(asset, "assetSubtypeV2") == _SCREENSHOT,
        uid=record,
        original_name=name,
        albums=albums,
        cloud_id=record,
    )
    files = [CloudFile(first, record, master_name, ORIGINAL, original.url, zone)]
    # The movie and the edit carry the picture's date and flags, not its identity.
    other = replace(first, screenshot=None, uid=None, live_group=None, cloud_id=None)
    if live is not None:
        movie_suffix = _SUFFIXES.get(_uti(master, LIVE) or "", ".MOV")
        movie = replace(
            other,
            path=base + movie_suffix,
            size=live.size,
            kind=AssetKind.VIDEO,
            live_group=base,
            original_name=stem + movie_suffix,
        )
        files.append(CloudFile(movie, record, master_name, LIVE, live.url, zone))
    edit = link(asset, master, EDIT)
    if edit is not None:
        edit_stem = _edited_stem(stem)
        edit_suffix = _SUFFIXES.get(_uti(asset, EDIT) or "", ".JPG")
        render = replace(
            other,
            path=f"{folder}/{edit_stem}_{label}{edit_suffix}",
            size=edit.size,
            kind=kinds.kind_of_suffix(edit_suffix.lower()),
            edited_of=first.path,
            original_name=edit_stem + edit_suffix,
        )
        files.append(CloudFile(render, record, master_name, EDIT, edit.url, zone))
    return files


def link(asset: Record, master: Record, role: str) -> Link | None:
    """The size and URL the records give for one file of a picture, or None if it has none."""
    kind, prefixes = _FIELDS[role]
    record = master if kind == "CPLMaster" else asset
    for prefix in prefixes:
        token = _value(record, prefix + "Res")
        if not isinstance(token, dict):
            continue
        url, size = token.get("downloadURL"), token.get("size")
        if isinstance(url, str) and url.startswith("https://") and isinstance(size, int):
            return Link(url, size)
    return None


def tag(record: str, *, whole: bool = False) -> str:
    """The part of a record name a path carries: its first letters and digits, upper case."""
    letters = re.sub(r"[^A-Za-z0-9]", "", record).upper()
    return (letters if whole else letters[:_TAG]) or "ASSET"


def _value(record: Record, name: str) -> Any:
    field = record.get("fields", {}).get(name)
    return field.get("value") if isinstance(field, dict) else None


def _uti(record: Record, role: str) -> str | None:
    for prefix in _FIELDS[role][1]:
        value = _value(record, prefix + "FileType")
        if isinstance(value, str):
            return value
    return _value(record, "itemType") if role == ORIGINAL else None


def _captured_at(asset: Record, master: Record) -> tuple[int, datetime]:
    """The capture time in milliseconds since 1970, and as a time in the zone it was taken in
    (UTC when the record gives none); the date it was added, or made, if there is none."""
    created = master.get("created")
    candidates = (
        _value(asset, "assetDate"),
        _value(asset, "addedDate"),
        created.get("timestamp") if isinstance(created, dict) else None,
    )
    millis = next((int(c) for c in candidates if isinstance(c, int | float)), 0)
    offset = _value(asset, "timeZoneOffset")
    zone: timezone = UTC
    if isinstance(offset, int) and abs(offset) < 24 * 3600:
        zone = timezone(timedelta(seconds=offset))
    try:
        return millis, datetime.fromtimestamp(millis / 1000, zone)
    except (OverflowError, OSError, ValueError):
        return 0, datetime.fromtimestamp(0, UTC)


def _file_name(master: Record, record: str) -> str:
    """The original's name from ``filenameEnc`` (base64 of UTF-8, or plain text), made safe
    for a path: its last component, printable, no leading dot, not too long."""
    raw = _value(master, "filenameEnc")
    text = ""
    if isinstance(raw, str):
        try:
            text = base64.b64decode(raw, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            text = raw
    name = text.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().lstrip(".")
    return name[-_NAME_MAX:] if name else tag(record)


def _split(name: str, uti: str | None) -> tuple[str, str]:
    path = PurePosixPath(name)
    if path.suffix and path.stem:
        return path.stem, path.suffix
    return name, _SUFFIXES.get(uti or "", "")


def _kind(name: str, uti: str | None) -> AssetKind:
    kind = kinds.kind_of(name)
    if kind is not AssetKind.OTHER or uti is None:
        return kind
    return kinds.kind_of_suffix(_SUFFIXES.get(uti, "").lower())


def _edited_stem(stem: str) -> str:
    """``IMG_0005`` -> ``IMG_E0005``, as Apple names an edit when it exports one."""
    match = _EDIT_NAME.fullmatch(stem)
    return f"{match.group(1)}E{match.group(2)}" if match else f"{stem}_edited"
