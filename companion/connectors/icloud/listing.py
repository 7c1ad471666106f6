"""Walking an iCloud Photos library: its zones, its indexes page by page, its albums.

The Photos database holds the person's own library (the ``PrimarySync`` zone) and one zone per
iCloud Shared Photo Library they take part in (``SharedSync-<id>``); each is listed the same way.

An index is walked one page of 200 records (100 pictures) per request, by rank from 0
(``startRank``, ascending: oldest first), until an empty page. A page that fails (iCloud asks to
slow down, the web session expires) is asked again at the same rank by ``Account``, so one
hiccup never restarts a 50,000-item listing; no file is downloaded while listing, and only the
fields read are asked for (``records.DESIRED_KEYS``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from companion.connectors.icloud import albums as al
from companion.connectors.icloud.account import PAGE, ZONE, Account
from companion.connectors.icloud.records import DESIRED_KEYS, PRIMARY, Record, pairs

log = logging.getLogger(__name__)

LIBRARY = "CPLAssetAndMasterByAssetDateWithoutHiddenOrDeleted"
HIDDEN = "CPLAssetAndMasterHiddenByAssetDate"
RECENTLY_DELETED = "CPLAssetAndMasterDeletedByExpungedDate"
_SHARED_PREFIX = "SharedSync-"
_MEMBER_KEYS = ["recordName", "recordType"]


@dataclass(frozen=True, slots=True)
class Zone:
    """One library of the database: its CloudKit zone id, and its name."""

    zone_id: Mapping[str, Any]

    @property
    def name(self) -> str:
        return str(self.zone_id.get("zoneName", PRIMARY))

    @property
    def shared(self) -> bool:
        return self.name != PRIMARY


@dataclass(frozen=True, slots=True)
class Found:
    """A picture's two records as one index gave them, in a zone, with its album names."""

    asset: Record
    master: Record
    zone: Zone
    albums: tuple[str, ...]


def zones(account: Account, *, shared: bool) -> list[Zone]:
    """The person's library, then (with ``shared``) each shared library, as iCloud lists them;
    the person's library alone when the list names none."""
    listed = [Zone(z["zoneID"]) for z in account.zones()]
    own = next((z for z in listed if z.name == PRIMARY), Zone(ZONE))
    others = [z for z in listed if z.name.startswith(_SHARED_PREFIX)] if shared else []
    return [own, *others]


def walk(
    account: Account,
    chosen_zones: Sequence[Zone],
    *,
    trashed: bool,
    only_albums: Sequence[str] = (),
) -> Iterator[Found]:
    """Every picture of the zones (the library, the Hidden album, with ``trashed`` Recently
    Deleted), or with ``only_albums`` those of the albums so named, each once."""
    everywhere = {zone.name: al.list_albums(account.query, zone.zone_id) for zone in chosen_zones}
    wanted = al.chosen([a for found in everywhere.values() for a in found], only_albums)
    seen: set[tuple[str, str]] = set()
    for zone in chosen_zones:
        albums = everywhere[zone.name]
        names_of = album_members(account, zone, albums)
        if only_albums:
            mine = [a for a in wanted if a in albums]
            pages = (
                found
                for album in mine
                for found in _index(account, zone, al.CONTAINER, al.container_filter(album))
            )
        else:
            indexes = [LIBRARY, HIDDEN] + ([RECENTLY_DELETED] if trashed else [])
            pages = (found for index in indexes for found in _index(account, zone, index))
        for asset, master in pages:
            key = (zone.name, str(asset.get("recordName")))
            if key in seen:  # an index that moved under the walk repeats one; two albums too
                continue
            seen.add(key)
            yield Found(asset, master, zone, names_of.get(key[1], ()))


def album_members(
    account: Account, zone: Zone, albums: Sequence[al.Album]
) -> dict[str, tuple[str, ...]]:
    """Record name of each picture -> the names of the albums holding it (sorted)."""
    holding: dict[str, set[str]] = {}
    for album in albums:
        query = al.container_filter(album)
        for page in _pages(account, zone, al.CONTAINER, query, _MEMBER_KEYS):
            for name in al.members(page):
                holding.setdefault(name, set()).add(album.name)
    return {name: tuple(sorted(found)) for name, found in holding.items()}


def _index(
    account: Account, zone: Zone, index: str, extra: list[dict[str, Any]] | None = None
) -> Iterator[tuple[Record, Record]]:
    for page in _pages(account, zone, index, extra or [], DESIRED_KEYS):
        yield from pairs(page)


def _pages(
    account: Account,
    zone: Zone,
    index: str,
    extra: list[dict[str, Any]],
    keys: list[str],
) -> Iterator[Sequence[Record]]:
    """The pages of an index from rank 0, until one holds no picture."""
    rank = 0
    while True:
        answer = account.query(page_query(zone, index, rank, extra, keys))
        records = [r for r in answer.get("records", []) if isinstance(r, dict)]
        pictures = sum(1 for r in records if r.get("recordType") == "CPLAsset")
        if pictures == 0:
            return
        log.debug("%s %s: %d pictures from rank %d", zone.name, index, pictures, rank)
        yield records
        rank += pictures


def page_query(
    zone: Zone, index: str, rank: int, extra: list[dict[str, Any]], keys: list[str]
) -> dict[str, Any]:
    """One page of ``index`` from ``rank``, oldest first, with the fields ``keys``."""
    return {
        "query": {
            "recordType": index,
            "filterBy": [
                {
                    "fieldName": "startRank",
                    "comparator": "EQUALS",
                    "fieldValue": {"type": "INT64", "value": rank},
                },
                {
                    "fieldName": "direction",
                    "comparator": "EQUALS",
                    "fieldValue": {"type": "STRING", "value": "ASCENDING"},
                },
                *extra,
            ],
        },
        "zoneID": dict(zone.zone_id),
        "resultsLimit": PAGE,
        "desiredKeys": keys,
    }
