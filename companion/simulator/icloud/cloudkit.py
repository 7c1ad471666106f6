"""The Photos CloudKit database (``com.apple.photos.cloud``), as pyicloud queries it.

Listings are "indexes" named by record type (``CPLAssetAndMasterByAssetDateWithoutHiddenOrDeleted``
and its siblings). Each orders its assets and numbers them from 0 (its ranks); a query starts at
the rank in its ``startRank`` filter and walks ``ASCENDING`` (up) or ``DESCENDING`` (down) for as
many assets as ``resultsLimit`` allows records: two per asset (its ``CPLAsset`` and ``CPLMaster``),
three in an album (the ``CPLContainerRelation`` first). Date indexes rank oldest first; the
added-date index ranks newest first (pyicloud reads it as a trailing window). Album lists page
with ``continuationMarker`` instead. Counts come from ``internal/records/query/batch``; deleting,
favouriting and hiding are ``records/modify`` updates of a ``CPLAsset``.

Methods take the request's JSON and return ``(status, payload)``; the server calls them under its
lock, after it checked the caller's web session.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from companion.simulator.icloud.library import Album, CloudAsset, Library
from companion.simulator.icloud.records import Record, RecordMaker, tag

Answer = tuple[int, dict[str, Any]]
Test = Callable[[CloudAsset], bool]

_SMART: dict[str, Test] = {
    "FAVORITE": lambda asset: asset.favorite,
    "VIDEO": lambda asset: asset.video,
    "SCREENSHOT": lambda asset: asset.screenshot,
    "LIVE": lambda asset: asset.live_movie is not None,
    "PANORAMA": lambda asset: False,
    "TIMELAPSE": lambda asset: False,
    "SLOMO": lambda asset: False,
}
_COUNTED: dict[str, Test] = {
    "CPLAssetByAssetDateWithoutHiddenOrDeleted": lambda asset: asset.visible,
    "CPLAssetHiddenByAssetDate": lambda asset: asset.hidden and asset.deleted_at is None,
    "CPLAssetDeletedByExpungedDate": lambda asset: asset.deleted_at is not None,
    "CPLAssetBurstStackAssetByAssetDate": lambda asset: False,
}


def _shown_and(test: Test) -> Test:
    return lambda asset: asset.visible and test(asset)


_COUNTED.update(
    {
        f"CPLAssetInSmartAlbumByAssetDate:{name.capitalize()}": _shown_and(test)
        for name, test in _SMART.items()
    }
)
_ALBUM_COUNT = "CPLContainerRelationNotDeletedByAssetDate:"
_CONTAINERS = ("CPLContainerRelationLiveByAssetDate", "CPLContainerRelationLiveByPosition")
_FLAGS = ("isDeleted", "isFavorite", "isHidden")
_ALBUM_PAGE = 100


class Database:
    """One zone of an account's private Photos database: its own library (``PrimarySync``) or a
    shared library it takes part in (``SharedSync-<id>``)."""

    def __init__(self, library: Library, maker: RecordMaker) -> None:
        self.library = library
        self.maker = maker
        self.changes = 1

    @property
    def sync_token(self) -> str:
        raw = b"simulated-icloud-sync:" + self.changes.to_bytes(8, "big")
        return base64.b64encode(raw).decode("ascii")

    def zones(self, scope: str) -> Answer:
        if scope != "private":
            return 200, {"zones": []}
        zone = {"zoneID": self.maker.zone, "syncToken": self.sync_token, "atomic": True}
        return 200, {"zones": [zone]}

    def query(self, body: Mapping[str, Any], indexing: bool) -> Answer:
        query = body.get("query")
        if not isinstance(query, dict) or not self._our_zone(body.get("zoneID")):
            return _error(400, "BAD_REQUEST", "a query needs a query and a zone")
        kind = str(query.get("recordType", ""))
        filters = _filters(query.get("filterBy"))
        keys = body.get("desiredKeys")
        keys = set(keys) if isinstance(keys, list) else None
        limit = body.get("resultsLimit")
        if kind == "CheckIndexingState":
            state = "RUNNING" if indexing else "FINISHED"
            return 200, self._page([self.maker.indexing_state(state)])
        if kind == "CPLAlbumByPositionLive":
            return 200, self._albums(filters, body.get("continuationMarker"), limit)
        album = self._album(filters) if kind in _CONTAINERS else None
        ordered = self._index(kind, filters, album)
        if ordered is None:
            return _error(400, "BAD_REQUEST", f"unknown query record type {kind!r}")
        per_asset = 3 if album else 2
        if "recordName" in filters:
            chosen = [asset for asset in ordered if asset.asset_name == filters["recordName"]]
        else:
            wanted = max(1, int(limit) // per_asset) if isinstance(limit, int) else 100
            chosen = _walk(ordered, _int(filters.get("startRank")), filters, wanted)
        records: list[Record] = []
        for asset in chosen:
            if album is not None:
                records.append(self.maker.relation(album, asset))
            records += [self.maker.asset(asset, keys), self.maker.master(asset, keys)]
        return 200, self._page(records)

    def count(self, body: Mapping[str, Any]) -> Answer:
        batches = body.get("batch")
        if not isinstance(batches, list):
            return _error(400, "BAD_REQUEST", "a count needs a batch")
        answers = []
        for entry in batches:
            query = entry.get("query", {}) if isinstance(entry, dict) else {}
            filters = query.get("filterBy", [])
            filters = filters if isinstance(filters, list) else [filters]
            names = [
                name
                for item in filters
                if isinstance(item, dict) and item.get("fieldName") == "indexCountID"
                for name in item.get("fieldValue", {}).get("value", [])
            ]
            counted = [self.maker.count(name, self._count(str(name))) for name in names]
            answers.append({"records": counted, "syncToken": self.sync_token})
        return 200, {"batch": answers}

    def lookup(self, body: Mapping[str, Any]) -> Answer:
        keys = body.get("desiredKeys")
        keys = set(keys) if isinstance(keys, list) else None
        records = []
        for wanted in body.get("records", []):
            name = wanted.get("recordName") if isinstance(wanted, dict) else None
            if name in self.library.by_asset:
                records.append(self.maker.asset(self.library.by_asset[name], keys))
            elif name in self.library.by_master:
                records.append(self.maker.master(self.library.by_master[name], keys))
            else:
                records.append(_record_error(str(name), "NOT_FOUND", "Record not found"))
        return 200, self._page(records)

    def modify(self, body: Mapping[str, Any], now: datetime) -> Answer:
        operations = body.get("operations")
        if not isinstance(operations, list) or not self._our_zone(body.get("zoneID")):
            return _error(400, "BAD_REQUEST", "a modify needs operations and a zone")
        checked = [self._check(operation) for operation in operations]
        failed = any(isinstance(item, dict) for item in checked)
        if failed and body.get("atomic"):
            records = [
                item if isinstance(item, dict) else _atomic_error(item[0].asset_name)
                for item in checked
            ]
            return 200, {"records": records, "syncToken": self.sync_token}
        records = []
        for item in checked:
            if isinstance(item, dict):
                records.append(item)
                continue
            asset, fields = item
            _apply(asset, fields, now)
            self.changes += 1
            records.append(self.maker.asset(asset))
        return 200, {"records": records, "syncToken": self.sync_token}

    def _check(self, operation: object) -> Record | tuple[CloudAsset, dict[str, int]]:
        """The asset and flags an update sets, or the per-record error CloudKit would give."""
        if not isinstance(operation, dict) or not isinstance(operation.get("record"), dict):
            return _record_error("", "BAD_REQUEST", "an operation needs a record")
        record = operation["record"]
        name = str(record.get("recordName", ""))
        asset = self.library.by_asset.get(name)
        if operation.get("operationType") not in ("update", "forceUpdate"):
            return _record_error(name, "BAD_REQUEST", "only updates are simulated")
        if asset is None or record.get("recordType") != "CPLAsset":
            return _record_error(name, "NOT_FOUND", "Record not found")
        sent_tag = record.get("recordChangeTag")
        if operation["operationType"] == "update" and sent_tag not in (None, tag(asset.change_tag)):
            return _record_error(name, "CONFLICT", "record to save is older than server's record")
        fields: dict[str, int] = {}
        for key, wrapper in (record.get("fields") or {}).items():
            value = wrapper.get("value") if isinstance(wrapper, dict) else None
            if key not in _FLAGS or value not in (0, 1):
                return _record_error(name, "BAD_REQUEST", f"field {key!r} is not simulated")
            fields[key] = int(value)
        return asset, fields

    def _index(
        self, kind: str, filters: Mapping[str, Any], album: Album | None
    ) -> list[CloudAsset] | None:
        assets = self.library.assets
        if kind == "CPLAssetAndMasterByAssetDateWithoutHiddenOrDeleted":
            return _by_date(asset for asset in assets if asset.visible)
        if kind == "CPLAssetAndMasterByAddedDate":
            visible = [asset for asset in assets if asset.visible]
            return sorted(
                visible, key=lambda asset: (asset.added_at, asset.asset_name), reverse=True
            )
        if kind == "CPLAssetAndMasterHiddenByAssetDate":
            return _by_date(asset for asset in assets if asset.hidden and asset.deleted_at is None)
        if kind == "CPLAssetAndMasterDeletedByExpungedDate":
            gone = [asset for asset in assets if asset.deleted_at is not None]
            return sorted(gone, key=lambda asset: (asset.deleted_at, asset.asset_name))
        if kind == "CPLAssetAndMasterInSmartAlbumByAssetDate":
            test = _SMART.get(str(filters.get("smartAlbum", "")).upper())
            if test is None:
                return None
            return _by_date(asset for asset in assets if asset.visible and test(asset))
        if kind == "CPLBurstStackAssetAndMasterByAssetDate":
            return []
        if kind in _CONTAINERS:
            members = [self.library.by_asset[name] for name in album.members] if album else []
            shown = [asset for asset in members if asset.visible]
            return shown if kind.endswith("ByPosition") else _by_date(shown)
        return None

    def _count(self, name: str) -> int:
        if name.startswith(_ALBUM_COUNT):
            album = self._album({"parentId": name[len(_ALBUM_COUNT) :]})
            members = (self.library.by_asset[n] for n in album.members) if album else ()
            return sum(1 for asset in members if asset.visible)
        test = _COUNTED.get(name)
        return sum(1 for asset in self.library.assets if test(asset)) if test else 0

    def _album(self, filters: Mapping[str, Any]) -> Album | None:
        wanted = filters.get("parentId")
        return next((a for a in self.library.albums if a.record_name == wanted), None)

    def _albums(self, filters: Mapping[str, Any], marker: object, limit: object) -> dict[str, Any]:
        albums = [] if "parentId" in filters else self.library.albums
        start = int(base64.b64decode(marker)) if isinstance(marker, str) and marker else 0
        size = limit if isinstance(limit, int) and limit > 0 else _ALBUM_PAGE
        payload = self._page([self.maker.album(album) for album in albums[start : start + size]])
        if start + size < len(albums):
            payload["continuationMarker"] = base64.b64encode(str(start + size).encode()).decode()
        return payload

    def _page(self, records: list[Record]) -> dict[str, Any]:
        return {"records": records, "syncToken": self.sync_token}

    def _our_zone(self, zone: object) -> bool:
        return isinstance(zone, dict) and zone.get("zoneName") == self.maker.zone["zoneName"]


def _walk(
    ordered: list[CloudAsset], start: int, filters: Mapping[str, Any], wanted: int
) -> list[CloudAsset]:
    """The assets from rank ``start`` on, in the query's direction.

    Walking up past the last rank gives an empty page (icloudpd stops only on one); walking
    down starts at the last rank at most (a count read before a delete may be one too high).
    """
    start = max(start, 0)
    if str(filters.get("direction", "ASCENDING")).upper() == "DESCENDING":
        start = min(start, len(ordered) - 1)
        return ordered[max(0, start - wanted + 1) : start + 1][::-1] if start >= 0 else []
    return ordered[start : start + wanted]


def _apply(asset: CloudAsset, fields: Mapping[str, int], now: datetime) -> None:
    if "isDeleted" in fields:
        if not fields["isDeleted"]:
            asset.deleted_at = None
        elif asset.deleted_at is None:
            asset.deleted_at = now
    if "isFavorite" in fields:
        asset.favorite = bool(fields["isFavorite"])
    if "isHidden" in fields:
        asset.hidden = bool(fields["isHidden"])
    asset.change_tag += 1
    asset.modified_at = now


def _by_date(assets: Iterable[CloudAsset]) -> list[CloudAsset]:
    return sorted(assets, key=lambda asset: (asset.captured_at.astimezone(UTC), asset.asset_name))


def _filters(raw: object) -> dict[str, Any]:
    items = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
    found = {}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("fieldValue"), dict):
            found[str(item.get("fieldName"))] = item["fieldValue"].get("value")
    return found


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def _error(status: int, code: str, reason: str) -> Answer:
    return status, {"uuid": str(uuid.uuid4()), "serverErrorCode": code, "reason": reason}


def _record_error(name: str, code: str, reason: str) -> Record:
    return {"recordName": name, "reason": reason, "serverErrorCode": code}


def _atomic_error(name: str) -> Record:
    return _record_error(name, "ATOMIC_ERROR", "atomic batch failed: another record was refused")
