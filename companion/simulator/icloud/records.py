"""CloudKit records as iCloud Photos sends them: typed fields, change tags, zone, links.

Every field is a ``{"value": ..., "type": ...}`` wrapper (``STRING``, ``INT64``, ``TIMESTAMP`` in
milliseconds, ``ENCRYPTED_BYTES`` in base64, ``REFERENCE``, ``ASSETID``), as pyicloud's typed
CloudKit models parse them. A file is an ``ASSETID`` token (``fileChecksum``, ``size``,
``wrappingKey``, ``referenceChecksum``, ``downloadURL``); its URL names the file on the content
host, carries an expiry and a signature, and ends in the literal ``${f}`` a browser replaces with
a file name (the server ignores that last segment, as Apple's does).

Where the facts live: the original, its Live Photo movie and the file name on the ``CPLMaster``;
dates, flags (``isHidden``, ``isFavorite``, ``isDeleted`` and ``dateExpunged``, 30 days after a
delete), the edit (``adjustmentType``, the render as ``resJPEGFull*``, a video's as
``resVidFull*``) on the ``CPLAsset``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from companion.simulator.icloud.library import Album, CloudAsset, Resource

Record = dict[str, Any]
EXPUNGE_AFTER = timedelta(days=30)
_LINK_LIFETIME_S = 3600


_MOVIES = ("com.apple.quicktime-movie", "public.mpeg-4")


def millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _field(value: object, kind: str) -> dict[str, object]:
    return {"value": value, "type": kind}


class Links:
    """Signed download URLs for resources, and their check."""

    def __init__(self, base_url: str, secret: bytes) -> None:
        self._base = base_url
        self._secret = secret

    def url(self, resource: Resource) -> str:
        expires = int(time.time()) + _LINK_LIFETIME_S
        return (
            f"{self._base}/B/{resource.key}/${{f}}?o={resource.checksum[1:12]}&v=1&x=3"
            f"&e={expires}&ckc=com.apple.photos.cloud&ckz=PrimarySync"
            f"&s={self._sign(resource.key, expires)}"
        )

    def valid(self, key: str, expires: str, signature: str) -> bool:
        """Whether a URL's expiry and signature are ours and still good."""
        if not expires.isdigit() or int(expires) < time.time():
            return False
        return hmac.compare_digest(self._sign(key, int(expires)), signature)

    def _sign(self, key: str, expires: int) -> str:
        message = f"{key}:{expires}".encode("ascii")
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]


class RecordMaker:
    """Builds the records of one library's zone."""

    def __init__(
        self, owner: str, links: Links, started: datetime, zone_name: str = "PrimarySync"
    ) -> None:
        self.owner = owner
        self._started_ms = millis(started)
        self.zone = {
            "zoneName": zone_name,
            "ownerRecordName": owner,
            "zoneType": "REGULAR_CUSTOM_ZONE",
        }
        self._links = links

    def master(self, asset: CloudAsset, keys: Collection[str] | None = None) -> Record:
        fields: dict[str, object] = {
            "itemType": _field(asset.original.uti, "STRING"),
            "filenameEnc": _field(_b64(asset.filename), "ENCRYPTED_BYTES"),
            "originalOrientation": _field(1, "INT64"),
            "dataClassType": _field(1 if asset.video else 0, "INT64"),
            **self._resource("resOriginal", asset.original),
        }
        if asset.live_movie is not None:
            fields.update(self._resource("resOriginalVidCompl", asset.live_movie))
        return self._record(asset.master_name, "CPLMaster", fields, asset, keys, change=1)

    def asset(self, asset: CloudAsset, keys: Collection[str] | None = None) -> Record:
        offset = asset.captured_at.utcoffset()
        fields: dict[str, object] = {
            "masterRef": _field(
                {"recordName": asset.master_name, "action": "DELETE_SELF", "zoneID": self.zone},
                "REFERENCE",
            ),
            "assetDate": _field(millis(asset.captured_at), "TIMESTAMP"),
            "addedDate": _field(millis(asset.added_at), "TIMESTAMP"),
            "timeZoneOffset": _field(int(offset.total_seconds()) if offset else 0, "INT64"),
            "assetSubtype": _field(0, "INT64"),
            "assetSubtypeV2": _field(asset.subtype, "INT64"),
            "orientation": _field(1, "INT64"),
            "isHidden": _field(int(asset.hidden), "INT64"),
            "isFavorite": _field(int(asset.favorite), "INT64"),
            "isDeleted": _field(int(asset.deleted_at is not None), "INT64"),
            "customRenderedValue": _field(0, "INT64"),
        }
        if asset.video:
            fields["duration"] = _field(asset.duration_s, "INT64")
        if asset.deleted_at is not None:
            expunged = asset.deleted_at + EXPUNGE_AFTER
            fields["dateExpunged"] = _field(millis(expunged), "TIMESTAMP")
        if asset.render is not None:
            fields["adjustmentType"] = _field("com.apple.photo", "STRING")
            fields["adjustmentRenderType"] = _field(0, "INT64")
            prefix = "resVidFull" if asset.render.uti in _MOVIES else "resJPEGFull"
            fields.update(self._resource(prefix, asset.render))
        return self._record(asset.asset_name, "CPLAsset", fields, asset, keys, asset.change_tag)

    def relation(self, album: Album, asset: CloudAsset) -> Record:
        fields: dict[str, object] = {
            "itemId": _field(asset.asset_name, "STRING"),
            "containerId": _field(album.record_name, "STRING"),
            "position": _field(1024 * (album.members.index(asset.asset_name) + 1), "INT64"),
            "isKeyAsset": _field(int(album.members[0] == asset.asset_name), "INT64"),
        }
        name = f"{asset.asset_name}-IN-{album.record_name}"
        return self._record(name, "CPLContainerRelation", fields, asset, None, change=1)

    def album(self, album: Album) -> Record:
        fields = {
            "albumNameEnc": _field(_b64(album.name), "ENCRYPTED_BYTES"),
            "albumType": _field(0, "INT64"),
            "position": _field(album.position, "INT64"),
            "sortAscending": _field(1, "INT64"),
            "sortType": _field(0, "INT64"),
            "isDeleted": _field(0, "INT64"),
            "isExpunged": _field(0, "INT64"),
        }
        return self._plain(album.record_name, "CPLAlbum", fields)

    def indexing_state(self, state: str) -> Record:
        fields = {
            "state": _field(state, "STRING"),
            "progress": _field(100 if state == "FINISHED" else 40, "INT64"),
        }
        return self._plain("_indexingState", "CheckIndexingState", fields)

    def count(self, container: str, count: int) -> Record:
        fields = {"itemCount": _field(count, "INT64")}
        return self._plain(container, "HyperionIndexCountLookup", fields)

    def _resource(self, prefix: str, resource: Resource) -> dict[str, object]:
        token = {
            "fileChecksum": resource.checksum,
            "size": resource.size,
            "wrappingKey": _b64(hashlib.sha256(b"wrap" + resource.key.encode()).digest()[:16]),
            "referenceChecksum": _b64(b"\x01" + hashlib.sha256(resource.data).digest()[:20]),
            "downloadURL": self._links.url(resource),
        }
        return {
            f"{prefix}Res": _field(token, "ASSETID"),
            f"{prefix}FileType": _field(resource.uti, "STRING"),
            f"{prefix}Width": _field(resource.width, "INT64"),
            f"{prefix}Height": _field(resource.height, "INT64"),
            f"{prefix}Fingerprint": _field(resource.checksum, "STRING"),
        }

    def _record(
        self,
        name: str,
        kind: str,
        fields: dict[str, object],
        asset: CloudAsset,
        keys: Collection[str] | None,
        change: int,
    ) -> Record:
        if keys is not None:
            fields = {key: value for key, value in fields.items() if key in keys}
        record = self._plain(name, kind, fields, millis(asset.added_at))
        record["recordChangeTag"] = tag(change)
        if asset.modified_at is not None:
            record["modified"]["timestamp"] = millis(asset.modified_at)
        return record

    def _plain(
        self, name: str, kind: str, fields: dict[str, Any], created_ms: int | None = None
    ) -> Record:
        when = self._started_ms if created_ms is None else created_ms
        stamp = {"timestamp": when, "userRecordName": self.owner, "deviceID": "2"}
        return {
            "recordName": name,
            "recordType": kind,
            "fields": fields,
            "pluginFields": {},
            "recordChangeTag": tag(1),
            "created": dict(stamp),
            "modified": dict(stamp),
            "deleted": False,
            "zoneID": dict(self.zone),
        }


def _b64(data: str | bytes) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return base64.b64encode(raw).decode("ascii")


def tag(number: int) -> str:
    """A change tag as CloudKit spells them: short, opaque, different after every change."""
    return f"{number:x}z"
