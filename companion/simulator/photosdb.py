"""The simulated iPhone's ``PhotoData/Photos.sqlite``: a faithful subset of the Core Data store.

Table and column names are the real ones (iOS 16-18); dates are Core Data's, seconds since
2001-01-01 UTC. The album-to-asset join table is ``Z_<n>ASSETS`` with ``<n>`` the Album entity's
number, which moves between iOS versions, so a reader has to find it in ``sqlite_master``.

The store is left as a live phone leaves it: in WAL mode with the latest changes (the last
assets shot and one favourite toggle) not yet checkpointed, so a reader that copies only
``Photos.sqlite`` without ``-wal`` misses them. SQLite salts a WAL with random bytes; those are
rewritten from the seed (checksums recomputed, ``walfile.py``) so that the same phone has the
same bytes.
"""

from __future__ import annotations

import plistlib
import shutil
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from random import Random

from companion.simulator.roll import Shot
from companion.simulator.walfile import resalt_wal, write_shm

WAL_PENDING = 3
"""How many of the latest assets exist only in the WAL."""

ALBUM_ENTITY = {16: 28, 17: 30, 18: 33}
"""The Album entity's number per iOS major version: the ``<n>`` of ``Z_<n>ASSETS``."""

ASSET_ENTITY = 3
_ATTRIBUTES_ENTITY = 1
_CORE_DATA_EPOCH = datetime(2001, 1, 1, tzinfo=UTC)
_NO_LOCATION = -180.0
# System rows real stores hold with no title: root folders (3999, 4000) and smart albums.
_SYSTEM_ALBUM_KINDS = (3999, 4000, 1505, 1506, 1507, 1508, 1509, 1510)
_ALBUM_TITLES = ("Holidays", "Family", "Receipts", "Garden")

Statement = tuple[str, tuple[object, ...]]


@dataclass(frozen=True, slots=True)
class Album:
    title: str
    members: tuple[int, ...]  # indices into the shots


@dataclass(frozen=True, slots=True)
class Library:
    """The Photos app's state beyond the files: flags and albums, by index into the shots."""

    favourite: frozenset[int]
    hidden: frozenset[int]
    trashed: frozenset[int]
    cloud_only: frozenset[int]
    late_favourite: int  # made a favourite in the WAL only
    albums: tuple[Album, ...]


def plan_library(shots: Sequence[Shot], seed: int, cloud_only: int) -> Library:
    """Choose flags and albums among ordinary shots (never planted, never WAL-only ones).

    ``cloud_only`` ordinary photos get iCloud-only originals. Raises ``ValueError`` if the
    phone has too few ordinary photos for that.
    """
    # Not for secrets: the library must repeat exactly for a seed.
    rng = Random(f"library-{seed}")
    ordinary = [
        i for i, s in enumerate(shots[:-WAL_PENDING]) if s.planted is None and s.edited_at is None
    ]
    pool = list(ordinary)
    rng.shuffle(pool)
    hidden, favourite, trashed = pool[0:2], pool[2:4], pool[4:6]
    late = pool[6]
    photos = [i for i in pool[7:] if shots[i].kind == 0 and shots[i].subtype == 0]
    if cloud_only > len(photos):
        raise ValueError(f"only {len(photos)} photos can be iCloud-only, not {cloud_only}")
    albums = []
    shared = rng.choice(ordinary)  # in two albums, as people file one picture twice
    for title in _ALBUM_TITLES:
        size = min(len(ordinary), rng.randint(2, 5))
        members = set(rng.sample(ordinary, size))
        if title in _ALBUM_TITLES[:2]:
            members.add(shared)
        albums.append(Album(title, tuple(sorted(members))))
    return Library(
        frozenset(favourite),
        frozenset(hidden),
        frozenset(trashed),
        frozenset(photos[:cloud_only]),
        late,
        tuple(albums),
    )


def write_photos_db(
    photo_data: Path,
    shots: Sequence[Shot],
    sizes: Mapping[str, int],
    library: Library,
    *,
    ios_major: int,
    seed: int,
    scratch: Path,
) -> None:
    """Write ``Photos.sqlite`` with ``-wal`` and ``-shm`` into ``photo_data``.

    ``sizes`` maps each file's media-root path to its length; ``scratch`` is an empty folder for
    the working copies. The last ``WAL_PENDING`` assets and the favourite toggle of
    ``library.late_favourite`` are committed to the WAL only. Raises ``KeyError`` for an
    iOS major version not in ``ALBUM_ENTITY``.
    """
    rows = _Rows(shots, sizes, library, ios_major, seed)
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
        toggle = "UPDATE ZASSET SET ZFAVORITE = 1, Z_OPT = Z_OPT + 1 WHERE Z_PK = ?"
        _transaction(connection, [(toggle, (library.late_favourite + 1,))])
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


def core_data_time(when: datetime) -> float:
    """Seconds since 2001-01-01 UTC, the epoch of every Core Data date."""
    return (when - _CORE_DATA_EPOCH).total_seconds()


class _Rows:
    """The INSERTs: the fixed rows (schema, metadata, albums) and each asset's rows."""

    def __init__(
        self,
        shots: Sequence[Shot],
        sizes: Mapping[str, int],
        library: Library,
        ios_major: int,
        seed: int,
    ) -> None:
        self.shots, self.sizes, self.library = shots, sizes, library
        self.album_entity = ALBUM_ENTITY[ios_major]
        self.ios_major = ios_major
        # Not for secrets: identifiers only have to look like a phone's and repeat.
        self.rng = Random(f"photosdb-{seed}")
        self.uuids = [self._uuid() for _ in shots]
        self.resources = 0
        self.remote = 1 if library.cloud_only else 0

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4)).upper()

    def fixed(self) -> list[Statement]:
        n = self.album_entity
        statements: list[Statement] = [(sql, ()) for sql in schema(self.ios_major)]
        store_uuid = self._uuid()
        plist = plistlib.dumps(
            {
                "NSPersistenceFrameworkVersion": 1338 if self.ios_major >= 17 else 1244,
                "NSStoreModelVersionIdentifiers": [""],
                "NSStoreType": "SQLite",
                "NSStoreUUID": store_uuid,
                "NSAutoVacuumLevel": "2",
            },
            fmt=plistlib.FMT_BINARY,
        )
        statements.append(("INSERT INTO Z_METADATA VALUES (1, ?, ?)", (store_uuid, plist)))
        entities = (
            (_ATTRIBUTES_ENTITY, "AdditionalAssetAttributes", 0),
            (ASSET_ENTITY, "Asset", 0),
            (n - 1, "GenericAlbum", 0),
            (n, "Album", n - 1),
            (n + 2, "Folder", n - 1),
            (n + 12, "InternalResource", 0),
        )
        for entity, name, parent in entities:
            statements.append(
                ("INSERT INTO Z_PRIMARYKEY VALUES (?, ?, ?, 0)", (entity, name, parent))
            )
        statements += self._albums()
        return statements

    def _albums(self) -> list[Statement]:
        n = self.album_entity
        sql = (
            "INSERT INTO ZGENERICALBUM (Z_PK, Z_ENT, Z_OPT, ZKIND, ZTRASHEDSTATE, ZCACHEDCOUNT,"
            " ZPARENTFOLDER, ZTITLE, ZUUID) VALUES (?, ?, 1, ?, 0, ?, ?, ?, ?)"
        )
        statements: list[Statement] = []
        for pk, kind in enumerate(_SYSTEM_ALBUM_KINDS, start=1):
            entity = n + 2 if kind in (3999, 4000) else n - 1
            statements.append((sql, (pk, entity, kind, 0, None, None, self._uuid())))
        root = 1
        for offset, album in enumerate(self.library.albums):
            pk = len(_SYSTEM_ALBUM_KINDS) + 1 + offset
            row = (pk, n, 2, len(album.members), root, album.title, self._uuid())
            statements.append((sql, row))
            join = f"INSERT INTO Z_{n}ASSETS VALUES (?, ?, ?)"  # noqa: S608 (n is a constant)
            for order, member in enumerate(album.members, start=1):
                statements.append((join, (pk, member + 1, order * 1024)))
        last = len(_SYSTEM_ALBUM_KINDS) + len(self.library.albums)
        update = "UPDATE Z_PRIMARYKEY SET Z_MAX = ? WHERE Z_ENT = ?"
        statements += [(update, (last, n)), (update, (last, n - 1)), (update, (last, n + 2))]
        return statements

    def assets(self, indices: Sequence[int] | range) -> list[Statement]:
        """Each asset's ZASSET, ZADDITIONALASSETATTRIBUTES and ZINTERNALRESOURCE rows."""
        statements: list[Statement] = []
        for index in indices:
            statements += self._asset(index)
        last = max(indices) + 1
        update = "UPDATE Z_PRIMARYKEY SET Z_MAX = ? WHERE Z_ENT = ?"
        statements += [
            (update, (last, ASSET_ENTITY)),
            (update, (last, _ATTRIBUTES_ENTITY)),
            (update, (self.resources, self.album_entity + 12)),
        ]
        return statements

    def _asset(self, index: int) -> list[Statement]:
        shot, library, pk = self.shots[index], self.library, index + 1
        captured = core_data_time(shot.captured_at)
        added = captured + self.rng.randint(1, 30)
        trashed = index in library.trashed
        latitude, longitude = shot.gps or (_NO_LOCATION, _NO_LOCATION)
        live_group = self._uuid() if shot.subtype == 2 else None
        asset = {
            "Z_PK": pk,
            "Z_ENT": ASSET_ENTITY,
            "Z_OPT": 1,
            "ZKIND": shot.kind,
            "ZKINDSUBTYPE": shot.subtype,
            "ZFAVORITE": int(index in library.favourite),
            "ZHIDDEN": int(index in library.hidden),
            "ZTRASHEDSTATE": int(trashed),
            "ZHASADJUSTMENTS": int(shot.edited_at is not None),
            "ZWIDTH": shot.size[0],
            "ZHEIGHT": shot.size[1],
            "ZORIENTATION": 1,
            "ZPLAYBACKSTYLE": {0: 1, 2: 3, 10: 1}[shot.subtype] if shot.kind == 0 else 4,
            "ZSAVEDASSETTYPE": 3,
            "ZVISIBILITYSTATE": 0,
            "ZADDITIONALATTRIBUTES": pk,
            "ZDATECREATED": captured,
            "ZMODIFICATIONDATE": core_data_time(shot.edited_at) if shot.edited_at else added,
            "ZADDEDDATE": added,
            "ZTRASHEDDATE": added + 86400 * self.rng.randint(1, 20) if trashed else None,
            "ZADJUSTMENTTIMESTAMP": core_data_time(shot.edited_at) if shot.edited_at else None,
            "ZDURATION": shot.duration_s,
            "ZLATITUDE": latitude,
            "ZLONGITUDE": longitude,
            "ZDIRECTORY": shot.directory,
            "ZFILENAME": shot.filename,
            "ZUNIFORMTYPEIDENTIFIER": shot.uti,
            "ZUUID": self.uuids[index],
            "ZMEDIAGROUPUUID": live_group,
        }
        statements = [_insert("ZASSET", asset), self._attributes(index)]
        return statements + self._resources(index)

    def _attributes(self, index: int) -> Statement:
        shot, pk = self.shots[index], index + 1
        offset = shot.captured_at.utcoffset()
        seconds = int(offset.total_seconds()) if offset is not None else 0
        hours, minutes = divmod(abs(seconds) // 60, 60)
        attributes = {
            "Z_PK": pk,
            "Z_ENT": _ATTRIBUTES_ENTITY,
            "Z_OPT": 1,
            "ZASSET": pk,
            "ZORIGINALFILESIZE": self.sizes[shot.path],
            "ZORIGINALWIDTH": shot.size[0],
            "ZORIGINALHEIGHT": shot.size[1],
            "ZTIMEZONEOFFSET": seconds,
            "ZEXIFTIMESTAMPSTRING": shot.captured_at.strftime("%Y:%m:%d %H:%M:%S"),
            "ZORIGINALFILENAME": shot.filename,
            "ZTIMEZONENAME": f"GMT{'-' if seconds < 0 else '+'}{hours:02d}{minutes:02d}",
            "ZTITLE": None,
        }
        return _insert("ZADDITIONALASSETATTRIBUTES", attributes)

    def _resources(self, index: int) -> list[Statement]:
        """One row per file: originals (version 0) and an edit's render (version 2)."""
        shot, pk, statements = self.shots[index], index + 1, []
        for file in shot.files:
            self.resources += 1
            local = -1 if index in self.library.cloud_only and file.version == 0 else 1
            resource = {
                "Z_PK": self.resources,
                "Z_ENT": self.album_entity + 12,
                "Z_OPT": 1,
                "ZASSET": pk,
                "ZRESOURCETYPE": file.resource_type,
                "ZVERSION": file.version,
                "ZLOCALAVAILABILITY": local,
                "ZREMOTEAVAILABILITY": self.remote,
                "ZDATALENGTH": self.sizes[file.path],
            }
            statements.append(_insert("ZINTERNALRESOURCE", resource))
        return statements


def _insert(table: str, row: Mapping[str, object]) -> Statement:
    columns = ", ".join(row)
    marks = ", ".join("?" * len(row))
    # Table and column names come from this module, never from data.
    return f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(row.values())  # noqa: S608


def schema(ios_major: int) -> list[str]:
    """The CREATE statements, with the join table named for ``ios_major``'s Album entity."""
    n, m = ALBUM_ENTITY[ios_major], ASSET_ENTITY
    return [
        "CREATE TABLE ZASSET (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,"
        " ZKIND INTEGER, ZKINDSUBTYPE INTEGER, ZFAVORITE INTEGER, ZHIDDEN INTEGER,"
        " ZTRASHEDSTATE INTEGER, ZHASADJUSTMENTS INTEGER, ZWIDTH INTEGER, ZHEIGHT INTEGER,"
        " ZORIENTATION INTEGER, ZPLAYBACKSTYLE INTEGER, ZSAVEDASSETTYPE INTEGER,"
        " ZVISIBILITYSTATE INTEGER, ZADDITIONALATTRIBUTES INTEGER, ZDATECREATED TIMESTAMP,"
        " ZMODIFICATIONDATE TIMESTAMP, ZADDEDDATE TIMESTAMP, ZTRASHEDDATE TIMESTAMP,"
        " ZADJUSTMENTTIMESTAMP TIMESTAMP, ZDURATION FLOAT, ZLATITUDE FLOAT, ZLONGITUDE FLOAT,"
        " ZDIRECTORY VARCHAR, ZFILENAME VARCHAR, ZUNIFORMTYPEIDENTIFIER VARCHAR, ZUUID VARCHAR,"
        " ZMEDIAGROUPUUID VARCHAR)",
        "CREATE TABLE ZADDITIONALASSETATTRIBUTES (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER,"
        " Z_OPT INTEGER, ZASSET INTEGER, ZORIGINALFILESIZE INTEGER, ZORIGINALWIDTH INTEGER,"
        " ZORIGINALHEIGHT INTEGER, ZTIMEZONEOFFSET INTEGER, ZEXIFTIMESTAMPSTRING VARCHAR,"
        " ZORIGINALFILENAME VARCHAR, ZTIMEZONENAME VARCHAR, ZTITLE VARCHAR)",
        "CREATE TABLE ZGENERICALBUM (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,"
        " ZKIND INTEGER, ZTRASHEDSTATE INTEGER, ZCACHEDCOUNT INTEGER, ZPARENTFOLDER INTEGER,"
        " ZTITLE VARCHAR, ZUUID VARCHAR)",
        f"CREATE TABLE Z_{n}ASSETS (Z_{n}ALBUMS INTEGER, Z_{m}ASSETS INTEGER,"
        f" Z_FOK_{m}ASSETS INTEGER, PRIMARY KEY (Z_{n}ALBUMS, Z_{m}ASSETS))",
        "CREATE TABLE ZINTERNALRESOURCE (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER,"
        " ZASSET INTEGER, ZRESOURCETYPE INTEGER, ZVERSION INTEGER, ZLOCALAVAILABILITY INTEGER,"
        " ZREMOTEAVAILABILITY INTEGER, ZDATALENGTH INTEGER)",
        "CREATE TABLE Z_PRIMARYKEY (Z_ENT INTEGER PRIMARY KEY, Z_NAME VARCHAR, Z_SUPER INTEGER,"
        " Z_MAX INTEGER)",
        "CREATE TABLE Z_METADATA (Z_VERSION INTEGER PRIMARY KEY, Z_UUID VARCHAR(255),"
        " Z_PLIST BLOB)",
        "CREATE INDEX ZASSET_ZADDITIONALATTRIBUTES_INDEX ON ZASSET (ZADDITIONALATTRIBUTES)",
        "CREATE INDEX ZADDITIONALASSETATTRIBUTES_ZASSET_INDEX"
        " ON ZADDITIONALASSETATTRIBUTES (ZASSET)",
        "CREATE INDEX ZINTERNALRESOURCE_ZASSET_INDEX ON ZINTERNALRESOURCE (ZASSET)",
        f"CREATE INDEX Z_{n}ASSETS_Z_{m}ASSETS_INDEX ON Z_{n}ASSETS (Z_{m}ASSETS, Z_{n}ALBUMS)",
    ]
