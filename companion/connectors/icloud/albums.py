"""The person's own albums in iCloud Photos: which pictures each holds, by name.

An album is a ``CPLAlbum`` record (its name base64 in ``albumNameEnc``); a folder of albums is
one too, with ``albumType`` 3, whose albums are listed by asking for the records whose
``parentId`` is the folder's record name. The album list pages with a ``continuationMarker``;
an album's pictures are an index of their own (``CPLContainerRelationLiveByAssetDate`` filtered by
``parentId``), paged by rank like the library, three records a picture (the relation, the
``CPLAsset`` and the ``CPLMaster``). Deleted and unnamed albums are left out, and so are the
smart albums (Favourites, Screenshots...), which are the pictures' own flags.

A listing attaches each picture's album names to its files (``Asset.albums``, as the USB
connector reads them from Photos.sqlite); ``IcloudOptions.albums`` narrows a backup to the
pictures of some albums, walked album by album instead of the whole library.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from companion.connectors.icloud.records import Record
from companion.errors import UsageError

ALBUMS = "CPLAlbumByPositionLive"
CONTAINER = "CPLContainerRelationLiveByAssetDate"
FOLDER = 3  # albumType of a folder of albums
_MAX_DEPTH = 8  # folders in folders; a loop of parents stops here

Query = Callable[[Mapping[str, Any]], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Album:
    """One album: its record name and the name the person gave it."""

    record: str
    name: str


def list_albums(query: Query, zone: Mapping[str, Any]) -> list[Album]:
    """Every album of the zone, folders opened, in the person's order."""
    found: list[Album] = []
    _albums_under(query, zone, None, found, 0)
    return found


def _albums_under(
    query: Query, zone: Mapping[str, Any], parent: str | None, found: list[Album], depth: int
) -> None:
    for record in _album_records(query, zone, parent):
        name = album_name(record)
        record_name = record.get("recordName")
        if name is None or not isinstance(record_name, str) or _value(record, "isDeleted"):
            continue
        if _value(record, "albumType") == FOLDER:
            if depth < _MAX_DEPTH:
                _albums_under(query, zone, record_name, found, depth + 1)
            continue
        found.append(Album(record_name, name))


def _album_records(query: Query, zone: Mapping[str, Any], parent: str | None) -> Iterator[Record]:
    body: dict[str, Any] = {"query": {"recordType": ALBUMS}, "zoneID": dict(zone)}
    if parent is not None:
        body["query"]["filterBy"] = [_equals("parentId", "STRING", parent)]
    markers: set[str] = set()
    while True:
        answer = query(body)
        records = answer.get("records")
        yield from (r for r in records or () if isinstance(r, dict))
        marker = answer.get("continuationMarker")
        if not isinstance(marker, str) or not marker or marker in markers:
            return
        markers.add(marker)
        body["continuationMarker"] = marker


def album_name(record: Record) -> str | None:
    """An album record's name, or None when it has none readable."""
    raw = _value(record, "albumNameEnc")
    if not isinstance(raw, str):
        return None
    try:
        name = base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name or None


def container_filter(album: Album) -> list[dict[str, Any]]:
    """The filter that makes a container query walk ``album``'s pictures."""
    return [_equals("parentId", "STRING", album.record)]


def members(records: Sequence[Record]) -> list[str]:
    """The ``CPLAsset`` record names of one page of an album's index."""
    return [
        str(r["recordName"])
        for r in records
        if r.get("recordType") == "CPLAsset" and isinstance(r.get("recordName"), str)
    ]


def chosen(albums: Sequence[Album], wanted: Sequence[str]) -> list[Album]:
    """The albums named in ``wanted`` (letter case aside); a ``UsageError`` naming the albums
    there are when one is not found."""
    by_name: dict[str, list[Album]] = {}
    for album in albums:
        by_name.setdefault(album.name.casefold(), []).append(album)
    missing = [name for name in wanted if name.casefold() not in by_name]
    if missing:
        there = ", ".join(sorted({a.name for a in albums})) or "none"
        raise UsageError(
            f"no album named {', '.join(repr(m) for m in missing)} in iCloud Photos",
            hint=f"The albums there are: {there}.",
        )
    return [album for name in wanted for album in by_name[name.casefold()]]


def _equals(field: str, kind: str, value: object) -> dict[str, Any]:
    value_of = {"type": kind, "value": value}
    return {"fieldName": field, "comparator": "EQUALS", "fieldValue": value_of}


def _value(record: Record, name: str) -> Any:
    field = record.get("fields", {}).get(name)
    return field.get("value") if isinstance(field, dict) else None
