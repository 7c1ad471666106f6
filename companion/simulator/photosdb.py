"""The simulated iPhone's ``PhotoData/Photos.sqlite``: the Core Data store as iOS writes it.

Tables, columns and entity numbers follow public forensic research for each iOS version
(``photos_schema.py``; sources in ``docs/design/photos-sqlite.md``); dates are Core Data's,
seconds since 2001-01-01 UTC. This module writes each asset's rows; ``photos_library.py`` the
rows about the library as a whole (albums, folders, a shared album, moments, metadata).

The phone has iCloud Photos on: every asset but the newest (not uploaded yet) has a
``ZCLOUDMASTER`` row and a cloud GUID, and "Optimize iPhone Storage" left a few photos as
previews only: their original's ``ZINTERNALRESOURCE`` row (``ZDATASTORESUBTYPE`` 1) says
``ZLOCALAVAILABILITY`` -1 and only a thumbnail is on the phone.

The store is left as a live phone leaves it: in WAL mode with the latest changes (the last
assets shot and one favourite toggle) not yet checkpointed, so a reader that copies only
``Photos.sqlite`` without ``-wal`` misses them. SQLite salts a WAL with random bytes; those are
rewritten from the seed (checksums recomputed, ``walfile.py``) so that the same phone has the
same bytes.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from random import Random

from companion.simulator import photos_schema
from companion.simulator.photos_library import (
    WAL_PENDING,
    Library,
    LibraryRows,
    Statement,
    core_data_time,
    insert,
    plan_library,
    thumbnail_path,
)
from companion.simulator.roll import PHONE_MODEL, Shot
from companion.simulator.walfile import resalt_wal, write_shm

__all__ = [
    "WAL_PENDING",
    "Library",
    "Statement",
    "core_data_time",
    "plan_library",
    "thumbnail_path",
    "write_photos_db",
]

_NO_LOCATION = -180.0
_VIDEO_SUBTYPE = 100  # ZKINDSUBTYPE of a plain video; 0 would decode as a still photo
_SCREENSHOT_RESOURCE = 6  # ZINTERNALRESOURCE.ZRESOURCETYPE of a screenshot
_SAVED_CAMERA, _SAVED_CLOUD_LIBRARY = 3, 6  # ZSAVEDASSETTYPE: this phone's, iCloud Photos'
_ORIGINAL, _PHOTO_EDIT, _VIDEO_EDIT, _LARGE_THUMB = 1, 2, 16, 3  # ZDATASTORESUBTYPE
_SYNCED = 3  # ZCLOUDLOCALSTATE of a resource or cloud master iCloud has
_TIMESCALE = 600  # Live Photo and video CMTime scale
_EDITOR = "com.apple.mobileslideshow"


def write_photos_db(
    photo_data: Path,
    shots: Sequence[Shot],
    sizes: Mapping[str, int],
    library: Library,
    *,
    ios: str,
    seed: int,
    scratch: Path,
) -> None:
    """Write ``Photos.sqlite`` with ``-wal`` and ``-shm`` into ``photo_data``.

    ``sizes`` maps each file's media-root path to its length (a cloud-only photo's thumbnail
    too); ``ios`` is a schema variant of ``photos_schema.MODELS``; ``scratch`` is an empty
    folder for the working copies. The last ``WAL_PENDING`` assets and the favourite toggle of
    ``library.late_favourite`` are committed to the WAL only.
    """
    rows = _Rows(shots, sizes, library, photos_schema.MODELS[ios], seed)
    work = scratch / "store"
    work.mkdir(parents=True)
    database = work / "Photos.sqlite"
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA wal_autocheckpoint=0")
        settled = len(shots) - WAL_PENDING
        _transaction(connection, [*rows.fixed(), *rows.assets(range(settled))])
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for index in range(settled, len(shots)):
            _transaction(connection, rows.assets([index]))
        toggle = (
            "UPDATE ZASSET SET ZFAVORITE = 1, ZMODIFICATIONDATE = ?, Z_OPT = Z_OPT + 1"
            " WHERE Z_PK = ?"
        )
        _transaction(connection, [(toggle, (rows.now, library.late_favourite + 1))])
        # Copied while the writer is open: closing would checkpoint and delete the WAL.
        photo_data.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(database, photo_data / "Photos.sqlite")
        salts = Random(f"wal-{seed}")
        wal = resalt_wal(
            Path(f"{database}-wal").read_bytes(), salts.getrandbits(32), salts.getrandbits(32)
        )
        (photo_data / "Photos.sqlite-wal").write_bytes(wal)
    finally:
        connection.close()
    write_shm(photo_data, scratch / "index")


def _transaction(connection: sqlite3.Connection, statements: Sequence[Statement]) -> None:
    connection.execute("BEGIN")
    for sql, values in statements:
        connection.execute(sql, values)
    connection.execute("COMMIT")


class _Rows(LibraryRows):
    """Each asset's rows: the asset, its attributes, its cloud master, its edit, its files."""

    def __init__(
        self,
        shots: Sequence[Shot],
        sizes: Mapping[str, int],
        library: Library,
        model: photos_schema.Model,
        seed: int,
    ) -> None:
        super().__init__(shots, library, model, seed)
        self.sizes = sizes
        self.resources = 0
        self.cloud_resources = 0
        self.adjustments = 0

    def assets(self, indices: Sequence[int] | range) -> list[Statement]:
        """Each asset's rows, then the entities' ``Z_MAX``."""
        statements: list[Statement] = []
        for index in indices:
            statements += self._asset(index)
        last = max(indices) + 1
        for name, value in (
            ("Asset", last),
            ("AdditionalAssetAttributes", last),
            ("ExtendedAttributes", last),
            ("CloudMaster", last),
            ("InternalResource", self.resources),
            ("CloudResource", self.cloud_resources),
            ("UnmanagedAdjustment", self.adjustments),
        ):
            statements.append(self.z_max(name, value))
        return statements

    def synced(self, index: int) -> bool:
        """Uploaded to iCloud Photos: all but the assets still waiting in the WAL."""
        return index < len(self.shots) - WAL_PENDING

    def _asset(self, index: int) -> list[Statement]:
        shot = self.shots[index]
        statements = [self._asset_row(index), self._attributes(index), self._extended(index)]
        if self.synced(index):
            statements.append(self._cloud_master(index))
        if shot.edited_at is not None:
            statements.append(self._adjustment(index))
        statements += self._resources(index)
        if index in self.library.cloud_only:
            statements.append(self._thumbnail(index))
        return statements

    def _asset_row(self, index: int) -> Statement:
        shot, library, pk = self.shots[index], self.library, index + 1
        captured = core_data_time(shot.captured_at)
        added = self.added[index]
        trashed = self.trashed_at.get(index)
        edited = core_data_time(shot.edited_at) if shot.edited_at else None
        latitude, longitude = shot.gps or (_NO_LOCATION, _NO_LOCATION)
        synced, live = self.synced(index), shot.subtype == 2
        asset = {
            "Z_PK": pk,
            "Z_ENT": self.entity["Asset"],
            "Z_OPT": 1 + (trashed is not None),
            "ZKIND": shot.kind,
            "ZKINDSUBTYPE": _VIDEO_SUBTYPE if shot.kind == 1 else shot.subtype,
            "ZFAVORITE": int(index in library.favourite),
            "ZHIDDEN": int(index in library.hidden),
            "ZTRASHEDSTATE": int(trashed is not None),
            "ZCLOUDDELETESTATE": 0,
            "ZCLOUDLOCALSTATE": int(synced),
            "ZCLOUDPLACEHOLDERKIND": 3 if index in library.cloud_only else 0,
            "ZCOMPLETE": 1,
            "ZBUNDLESCOPE": 0,
            "ZWIDTH": shot.size[0],
            "ZHEIGHT": shot.size[1],
            "ZORIENTATION": 1,
            "ZPLAYBACKSTYLE": {0: 1, 2: 3, 10: 1}[shot.subtype] if shot.kind == 0 else 4,
            "ZPLAYBACKVARIATION": 0,
            "ZSAVEDASSETTYPE": _SAVED_CLOUD_LIBRARY if self.from_icloud(index) else _SAVED_CAMERA,
            "ZVISIBILITYSTATE": 0,
            "ZADDITIONALATTRIBUTES": pk,
            "ZEXTENDEDATTRIBUTES": pk,
            "ZMASTER": pk if synced else None,
            "ZMOMENT": self.moment_of[index],
            "ZDATECREATED": captured,
            "ZMODIFICATIONDATE": max(d for d in (added, edited, trashed) if d is not None),
            "ZADDEDDATE": added,
            "ZTRASHEDDATE": trashed,
            "ZADJUSTMENTTIMESTAMP": edited,
            "ZSORTTOKEN": captured,
            "ZDURATION": shot.duration_s,
            "ZLATITUDE": latitude,
            "ZLONGITUDE": longitude,
            "ZVIDEOCPDURATIONVALUE": int(2.8 * _TIMESCALE) if live else None,
            "ZVIDEOCPVISIBILITYSTATE": 1 if live else None,
            "ZVIDEOKEYFRAMEVALUE": int(1.5 * _TIMESCALE) if live else None,
            "ZVIDEOKEYFRAMETIMESCALE": _TIMESCALE if live else None,
            "ZDIRECTORY": shot.directory,
            "ZFILENAME": shot.filename,
            "ZUNIFORMTYPEIDENTIFIER": shot.uti,
            "ZUUID": self.uuids[index],
            "ZMEDIAGROUPUUID": self.live_groups.get(index),
            "ZCLOUDASSETGUID": self.cloud_guids[index] if synced else None,
        }
        if self.model.hashes:
            asset["ZADJUSTMENTSSTATE"] = 2 if edited is not None else 0
        else:
            asset["ZHASADJUSTMENTS"] = int(edited is not None)
        return insert("ZASSET", asset)

    def _attributes(self, index: int) -> Statement:
        shot, pk = self.shots[index], index + 1
        offset = shot.captured_at.utcoffset()
        seconds = int(offset.total_seconds()) if offset is not None else 0
        hours, minutes = divmod(abs(seconds) // 60, 60)
        live = shot.subtype == 2
        original, edit = self.fingerprints(index)
        attributes = {
            "Z_PK": pk,
            "Z_ENT": self.entity["AdditionalAssetAttributes"],
            "Z_OPT": 1,
            "ZASSET": pk,
            "ZORIGINALFILESIZE": self.sizes[shot.path],
            "ZORIGINALWIDTH": shot.size[0],
            "ZORIGINALHEIGHT": shot.size[1],
            "ZORIGINALORIENTATION": 1,
            "ZTIMEZONEOFFSET": seconds,
            "ZIMPORTEDBY": 0 if self.from_icloud(index) else 1,
            "ZCLOUDKINDSUBTYPE": _VIDEO_SUBTYPE if shot.kind == 1 else shot.subtype,
            "ZUNMANAGEDADJUSTMENT": self.adjustments + 1 if shot.edited_at else None,
            "ZVIDEOCPDURATIONTIMESCALE": _TIMESCALE if live else None,
            "ZVIDEOCPDISPLAYVALUE": int(1.5 * _TIMESCALE) if live else None,
            "ZVIDEOCPDISPLAYTIMESCALE": _TIMESCALE if live else None,
            "ZEXIFTIMESTAMPSTRING": shot.captured_at.strftime("%Y:%m:%d %H:%M:%S"),
            "ZORIGINALFILENAME": shot.filename,
            "ZTIMEZONENAME": f"GMT{'-' if seconds < 0 else '+'}{hours:02d}{minutes:02d}",
            "ZTITLE": None,
            "ZEDITORBUNDLEID": _EDITOR if shot.edited_at else None,
        }
        keys = ("ZORIGINALSTABLEHASH", "ZADJUSTEDSTABLEHASH")
        if not self.model.hashes:
            keys = ("ZMASTERFINGERPRINT", "ZADJUSTEDFINGERPRINT")
        attributes |= dict(zip(keys, (original, edit), strict=True))
        return insert("ZADDITIONALASSETATTRIBUTES", attributes)

    def _extended(self, index: int) -> Statement:
        shot, pk = self.shots[index], index + 1
        latitude, longitude = shot.gps or (None, None)
        screenshot = shot.subtype == 10
        extended = {
            "Z_PK": pk,
            "Z_ENT": self.entity["ExtendedAttributes"],
            "Z_OPT": 1,
            "ZASSET": pk,
            "ZLATITUDE": latitude,
            "ZLONGITUDE": longitude,
            "ZDURATION": shot.duration_s if shot.kind == 1 else None,
            "ZCAMERAMAKE": None if screenshot else "Apple",
            "ZCAMERAMODEL": None if screenshot else PHONE_MODEL,
            "ZCODEC": "hvc1" if shot.kind == 1 else None,
        }
        return insert("ZEXTENDEDATTRIBUTES", extended)

    def _cloud_master(self, index: int) -> Statement:
        shot, pk = self.shots[index], index + 1
        master = {
            "Z_PK": pk,
            "Z_ENT": self.entity["CloudMaster"],
            "Z_OPT": 1,
            "ZCLOUDLOCALSTATE": _SYNCED,
            "ZIMPORTEDBY": 0 if self.from_icloud(index) else 1,
            "ZPLACEHOLDERSTATE": 0,
            "ZCREATIONDATE": core_data_time(shot.captured_at),
            "ZIMPORTDATE": self.added[index],
            "ZCLOUDMASTERGUID": self.master_guids[index],
            "ZORIGINALFILENAME": self.cloud_names[index],
            "ZUNIFORMTYPEIDENTIFIER": shot.uti,
        }
        return insert("ZCLOUDMASTER", master)

    def _adjustment(self, index: int) -> Statement:
        shot = self.shots[index]
        assert shot.edited_at is not None
        self.adjustments += 1
        adjustment = {
            "Z_PK": self.adjustments,
            "Z_ENT": self.entity["UnmanagedAdjustment"],
            "Z_OPT": 1,
            "ZASSETATTRIBUTES": index + 1,
            "ZADJUSTMENTRENDERTYPES": 0,
            "ZADJUSTMENTFORMATVERSION": 1.6 if shot.kind == 1 else 1.5,
            "ZADJUSTMENTTIMESTAMP": core_data_time(shot.edited_at),
            "ZADJUSTMENTFORMATIDENTIFIER": "com.apple.video" if shot.kind else "com.apple.photo",
            "ZEDITORLOCALIZEDNAME": "Photos",
            "ZUUID": self.new_uuid(),
        }
        return insert("ZUNMANAGEDADJUSTMENT", adjustment)

    def _resources(self, index: int) -> list[Statement]:
        """One row per file: originals (version 0) and an edit's render (version 2); for an
        asset iCloud has, a ``ZCLOUDRESOURCE`` row per original too."""
        shot, pk, statements = self.shots[index], index + 1, []
        synced = self.synced(index)
        original, edit = self.fingerprints(index)
        for file in shot.files:
            self.resources += 1
            render = file.version == 2
            away = index in self.library.cloud_only and not render
            kind = file.resource_type
            if shot.subtype == 10 and kind == 0:
                kind = _SCREENSHOT_RESOURCE
            subtype = _ORIGINAL
            if render:
                subtype = _VIDEO_EDIT if file.resource_type == 1 else _PHOTO_EDIT
            resource = {
                "Z_PK": self.resources,
                "Z_ENT": self.entity["InternalResource"],
                "Z_OPT": 1,
                "ZASSET": pk,
                "ZRESOURCETYPE": kind,
                "ZVERSION": file.version,
                "ZRECIPEID": (131072 if file.resource_type == 1 else 65938) if render else 0,
                "ZDATASTORECLASSID": 0,
                "ZDATASTORESUBTYPE": subtype,
                "ZLOCALAVAILABILITY": -1 if away else 1,
                "ZREMOTEAVAILABILITY": int(synced),
                "ZCLOUDLOCALSTATE": _SYNCED if synced else 0,
                "ZTRASHEDSTATE": 0,
                "ZDATALENGTH": self.sizes[file.path],
                "ZFINGERPRINT": (edit if render else original) if synced else None,
                "ZCLOUDMASTERDATECREATED": core_data_time(shot.captured_at) if synced else None,
            }
            if self.model.hashes:
                resource["ZSTABLEHASH"] = resource["ZFINGERPRINT"]
            statements.append(insert("ZINTERNALRESOURCE", resource))
            if synced and not render:
                statements.append(self._cloud_resource(index, file.path, kind, not away))
        return statements

    def _cloud_resource(self, index: int, path: str, kind: int, local: bool) -> Statement:
        shot = self.shots[index]
        self.cloud_resources += 1
        resource = {
            "Z_PK": self.cloud_resources,
            "Z_ENT": self.entity["CloudResource"],
            "Z_OPT": 1,
            "ZASSET": index + 1,
            "ZCLOUDMASTER": index + 1,
            "ZTYPE": kind,
            "ZWIDTH": shot.size[0],
            "ZHEIGHT": shot.size[1],
            "ZFILESIZE": self.sizes[path],
            "ZISAVAILABLE": 1,
            "ZISLOCALLYAVAILABLE": int(local),
            "ZDATECREATED": self.added[index],
            "ZASSETUUID": self.uuids[index],
            "ZFINGERPRINT": self.fingerprints(index)[0],
            "ZUNIFORMTYPEIDENTIFIER": shot.uti,
        }
        return insert("ZCLOUDRESOURCE", resource)

    def _thumbnail(self, index: int) -> Statement:
        """The derivative Optimize iPhone Storage keeps of a cloud-only photo."""
        shot = self.shots[index]
        self.resources += 1
        resource = {
            "Z_PK": self.resources,
            "Z_ENT": self.entity["InternalResource"],
            "Z_OPT": 1,
            "ZASSET": index + 1,
            "ZRESOURCETYPE": 0,
            "ZVERSION": 0,
            "ZRECIPEID": 65743,
            "ZDATASTORECLASSID": 0,
            "ZDATASTORESUBTYPE": _LARGE_THUMB,
            "ZLOCALAVAILABILITY": 1,
            "ZREMOTEAVAILABILITY": 1,
            "ZCLOUDLOCALSTATE": _SYNCED,
            "ZTRASHEDSTATE": 0,
            "ZDATALENGTH": self.sizes[thumbnail_path(shot.path)],
            "ZCOMPACTUTI": 1,
        }
        return insert("ZINTERNALRESOURCE", resource)
