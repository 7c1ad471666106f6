"""What the simulated Photos library holds beyond each asset's rows: which shots are favourites,
hidden, in Recently Deleted or iCloud-only (``plan_library``), and the library-wide rows
(``LibraryRows``): metadata, entity keys, albums in folders, a shared album with its
invitation, the album list, moments and the migration history.

Dates hold together: a photo is added a few seconds after it is shot, goes to Recently Deleted
within the last 30 days before the phone's "now" (the newest shot plus five minutes), and its
modification date is the latest of its adding, edit and deletion.
"""

from __future__ import annotations

import base64
import plistlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from random import Random

from companion.simulator.photos_schema import Model, create_statements, entities
from companion.simulator.roll import Shot

WAL_PENDING = 3
"""How many of the latest assets exist only in the WAL."""

THUMBNAILS = "PhotoData/Thumbnails/V2"
"""Where the phone keeps derivatives: ``<THUMBNAILS>/<original's path>/5005.JPG``."""

Statement = tuple[str, tuple[object, ...]]

_CORE_DATA_EPOCH = datetime(2001, 1, 1, tzinfo=UTC)
_RECENTLY_DELETED_DAYS = 30
_ROOT, _PROJECTS, _FOLDER, _USER, _SHARED = 3999, 3998, 4000, 2, 1505  # ZGENERICALBUM.ZKIND
# Smart and system rows real stores hold with no title (import sessions, projects, duplicates).
_SYSTEM_ALBUM_KINDS = (1506, 1508, 1509, 1510)
_ALBUM_TITLES = ("Holidays", "Family", "Receipts", "Garden")
_FOLDER_TITLE = "Trips"  # the first two albums live in this folder
_SHARED_TITLE = "Grandparents"


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
    photos = [i for i in photos if not shots[i].folder.startswith("PhotoData/")]
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


def core_data_time(when: datetime) -> float:
    """Seconds since 2001-01-01 UTC, the epoch of every Core Data date."""
    return (when - _CORE_DATA_EPOCH).total_seconds()


def thumbnail_path(path: str) -> str:
    """The media-root path of the large thumbnail kept for the original at ``path``."""
    return f"{THUMBNAILS}/{path}/5005.JPG"


def insert(table: str, row: Mapping[str, object]) -> Statement:
    columns = ", ".join(row)
    marks = ", ".join("?" * len(row))
    # Table and column names come from this package, never from data.
    return f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(row.values())  # noqa: S608


class LibraryRows:
    """The library-wide rows, and the per-asset facts they share with the asset rows."""

    def __init__(self, shots: Sequence[Shot], library: Library, model: Model, seed: int) -> None:
        self.shots, self.library, self.model, self.seed = shots, library, model, seed
        self.entity = entities(model)
        # Not for secrets: identifiers only have to look like a phone's and repeat.
        self.rng = Random(f"photosdb-{seed}")
        self.now = core_data_time(shots[-1].captured_at + timedelta(minutes=5))
        self.uuids = [self._asset_uuid(shot) for shot in shots]
        self.cloud_guids = [self.new_uuid() for _ in shots]
        self.master_guids = [self._master_guid() for _ in shots]
        self.cloud_names = [self._cloud_name(shot) for shot in shots]
        self.added = [core_data_time(s.captured_at) + self.rng.randint(1, 30) for s in shots]
        self.live_groups = {i: self.new_uuid() for i, s in enumerate(shots) if s.subtype == 2}
        self.trashed_at = {i: self._trash_time(i) for i in sorted(library.trashed)}
        self.moment_of: list[int] = []
        self.moments: list[list[int]] = []
        for index, shot in enumerate(shots):
            day = shot.captured_at.date()
            if not self.moments or shots[self.moments[-1][0]].captured_at.date() != day:
                self.moments.append([])
            self.moments[-1].append(index)
            self.moment_of.append(len(self.moments))

    def new_uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4)).upper()

    def from_icloud(self, index: int) -> bool:
        """Shot on another device and brought here by iCloud Photos (``CPLAssets``)."""
        return self.shots[index].folder.startswith("PhotoData/CPLAssets")

    def z_max(self, entity: str, value: int) -> Statement:
        return "UPDATE Z_PRIMARYKEY SET Z_MAX = ? WHERE Z_ENT = ?", (value, self.entity[entity])

    def fingerprints(self, index: int) -> tuple[str, str | None]:
        """The original's and the edit's fingerprints (iCloud's content identifiers)."""
        rng = Random(f"fingerprint-{self.seed}-{index}")
        original = _fingerprint(rng)
        edit = _fingerprint(rng) if self.shots[index].edited_at else None
        return original, edit

    def _asset_uuid(self, shot: Shot) -> str:
        # iCloud Photos names a file it brings by the asset's UUID.
        own = self.new_uuid()
        return shot.filename.rsplit(".", 1)[0] if shot.folder.startswith("PhotoData/") else own

    def _master_guid(self) -> str:
        return "A" + self.new_uuid().replace("-", "")[:26]

    def _cloud_name(self, shot: Shot) -> str:
        number = self.rng.randint(1, 9999)
        if shot.folder.startswith("PhotoData/"):  # the name it had on the device that shot it
            return f"IMG_{number:04d}.{shot.filename.rsplit('.', 1)[1]}"
        return shot.filename

    def _trash_time(self, index: int) -> float:
        days = self.rng.uniform(1, _RECENTLY_DELETED_DAYS - 5)
        return max(self.now - days * 86400, self.added[index] + 3600)

    def fixed(self) -> list[Statement]:
        """The schema and every row not about one asset."""
        statements: list[Statement] = [(sql, ()) for sql in create_statements(self.model)]
        store_uuid = self.new_uuid()
        plist = plistlib.dumps(
            {
                "NSPersistenceFrameworkVersion": self.model.framework,
                "NSStoreModelVersionIdentifiers": [""],
                "NSStoreType": "SQLite",
                "NSStoreUUID": store_uuid,
                "NSAutoVacuumLevel": "2",
                "PLModelVersion": self.model.model_version,
            },
            fmt=plistlib.FMT_BINARY,
        )
        statements.append(("INSERT INTO Z_METADATA VALUES (1, ?, ?)", (store_uuid, plist)))
        for name, number in sorted(self.entity.items(), key=lambda item: item[1]):
            parent = self.entity["GenericAlbum"] if name in _ALBUM_KINDS else 0
            row = (number, name, parent)
            statements.append(("INSERT INTO Z_PRIMARYKEY VALUES (?, ?, ?, 0)", row))
        statements += self._albums() + self._moments() + self._history(store_uuid)
        return statements

    def _album(self, pk: int, entity: str, kind: int, **values: object) -> Statement:
        row: dict[str, object] = {
            "Z_PK": pk,
            "Z_ENT": self.entity[entity],
            "Z_OPT": 1,
            "ZKIND": kind,
            "ZTRASHEDSTATE": 0,
            "ZCLOUDLOCALSTATE": 1,
            "ZCLOUDDELETESTATE": 0,
            "ZCACHEDCOUNT": 0,
            "ZCACHEDPHOTOSCOUNT": 0,
            "ZCACHEDVIDEOSCOUNT": 0,
            "ZCUSTOMSORTKEY": 1.0,
            "ZCUSTOMSORTASCENDING": 1,
            "ZISPINNED": 0,
            "ZISPROTOTYPE": 0,
            "ZPRIVACYSTATE": 0,
            "ZUUID": self.new_uuid(),
        }
        return insert("ZGENERICALBUM", row | values)

    def _albums(self) -> list[Statement]:
        """The root and projects folders, system albums, a user folder holding the first two
        user albums (the others at the root), and a shared album the person was invited to."""
        first = core_data_time(self.shots[0].captured_at)
        root, folder = 1, 2
        statements = [
            self._album(root, "Folder", _ROOT, ZCREATIONDATE=first),
            self._album(
                folder,
                "Folder",
                _FOLDER,
                ZTITLE=_FOLDER_TITLE,
                ZPARENTFOLDER=root,
                Z_FOK_PARENTFOLDER=1024,
                ZCREATIONDATE=first,
                ZCLOUDGUID=self.new_uuid(),
            ),
        ]
        pk = folder
        for kind in (_PROJECTS, *_SYSTEM_ALBUM_KINDS):
            pk += 1
            entity = "Folder" if kind == _PROJECTS else "GenericAlbum"
            statements.append(self._album(pk, entity, kind, ZCREATIONDATE=first))
        join = f"INSERT INTO {self.model.assets_join} VALUES (?, ?, ?)"  # noqa: S608
        top = [folder]  # what the album list shows at its top level
        for order, album in enumerate(self.library.albums, start=1):
            pk += 1
            parent = folder if order <= 2 else root
            top += [pk] if parent == root else []
            statements.append(self._user_album(pk, album, parent, order))
            for place, member in enumerate(album.members, start=1):
                statements.append((join, (pk, member + 1, place * 1024)))
        pk += 1
        statements += self._shared_album(pk, first)
        lists = (self.entity["AlbumList"], self.new_uuid())
        statements.append(("INSERT INTO ZALBUMLIST VALUES (1, ?, 1, 1, 0, ?)", lists))
        listing = f"INSERT INTO {self.model.album_lists_join} VALUES (?, 1, ?)"  # noqa: S608
        statements += [(listing, (member, n * 1024)) for n, member in enumerate(top, start=1)]
        for entity in ("GenericAlbum", "Album", "Folder", "CloudSharedAlbum"):
            statements.append(self.z_max(entity, pk))
        statements += [
            self.z_max("AlbumList", 1),
            self.z_max("CloudSharedAlbumInvitationRecord", 1),
        ]
        return statements

    def _user_album(self, pk: int, album: Album, parent: int, order: int) -> Statement:
        shots = [self.shots[i] for i in album.members]
        created = max(self.added[i] for i in album.members) + 3600
        return self._album(
            pk,
            "Album",
            _USER,
            ZTITLE=album.title,
            ZPARENTFOLDER=parent,
            Z_FOK_PARENTFOLDER=order * 1024,
            ZCACHEDCOUNT=len(shots),
            ZCACHEDPHOTOSCOUNT=sum(1 for s in shots if s.kind == 0),
            ZCACHEDVIDEOSCOUNT=sum(1 for s in shots if s.kind == 1),
            ZKEYASSET=album.members[0] + 1,
            ZCREATIONDATE=created,
            ZSTARTDATE=min(core_data_time(s.captured_at) for s in shots),
            ZENDDATE=max(core_data_time(s.captured_at) for s in shots),
            ZCLOUDGUID=self.new_uuid(),
        )

    def _shared_album(self, pk: int, first: float) -> list[Statement]:
        """A shared album someone else owns; its pictures live outside this library's rows."""
        subscribed = first + 86400 * 40
        album = self._album(
            pk,
            "CloudSharedAlbum",
            _SHARED,
            ZTITLE=_SHARED_TITLE,
            ZCLOUDGUID=self.new_uuid(),
            ZCLOUDRELATIONSHIPSTATE=2,
            ZISOWNED=0,
            ZCLOUDCREATIONDATE=first + 86400 * 39,
            ZCLOUDSUBSCRIPTIONDATE=subscribed,
            ZCLOUDOWNERFIRSTNAME="Sam",
            ZCLOUDOWNERLASTNAME="Doe",
            ZCLOUDOWNERFULLNAME="Sam Doe",
            ZCLOUDOWNEREMAILKEY="sam.doe@example.com",
            ZCREATIONDATE=subscribed,
        )
        invitation = {
            "Z_PK": 1,
            "Z_ENT": self.entity["CloudSharedAlbumInvitationRecord"],
            "Z_OPT": 1,
            "ZALBUM": pk,
            "Z_FOK_ALBUM": 1024,
            "ZINVITATIONSTATE": 2,
            "ZINVITATIONSTATELOCAL": 2,
            "ZISMINE": 1,
            "ZINVITEESUBSCRIPTIONDATE": subscribed,
            "ZINVITEEFIRSTNAME": "Demo",
            "ZINVITEELASTNAME": "Owner",
            "ZINVITEEFULLNAME": "Demo Owner",
            "ZINVITEEEMAILKEY": "demo.owner@example.com",
            "ZUUID": self.new_uuid(),
        }
        return [album, insert("ZCLOUDSHAREDALBUMINVITATIONRECORD", invitation)]

    def _moments(self) -> list[Statement]:
        """One moment per day of shooting, as the Photos app groups a library."""
        statements = []
        for pk, members in enumerate(self.moments, start=1):
            shots = [self.shots[i] for i in members]
            offset = shots[0].captured_at.utcoffset()
            moment = {
                "Z_PK": pk,
                "Z_ENT": self.entity["Moment"],
                "Z_OPT": 1,
                "ZCACHEDCOUNT": len(shots),
                "ZCACHEDPHOTOSCOUNT": sum(1 for s in shots if s.kind == 0),
                "ZCACHEDVIDEOSCOUNT": sum(1 for s in shots if s.kind == 1),
                "ZTIMEZONEOFFSET": int(offset.total_seconds()) if offset else 0,
                "ZTRASHEDSTATE": 0,
                "ZSTARTDATE": core_data_time(shots[0].captured_at),
                "ZENDDATE": core_data_time(shots[-1].captured_at),
                "ZREPRESENTATIVEDATE": core_data_time(shots[0].captured_at),
                "ZMODIFICATIONDATE": self.now,
                "ZUUID": self.new_uuid(),
            }
            statements.append(insert("ZMOMENT", moment))
        return [*statements, self.z_max("Moment", len(self.moments))]

    def _history(self, store_uuid: str) -> list[Statement]:
        """The store was created on this release (a phone set up afresh)."""
        created = core_data_time(self.shots[0].captured_at) - 86400
        history = {
            "Z_PK": 1,
            "Z_ENT": self.entity["MigrationHistory"],
            "Z_OPT": 1,
            "ZINDEX": 0,
            "ZMIGRATIONTYPE": 0,
            "ZMODELVERSION": self.model.model_version,
            "ZSOURCEMODELVERSION": 0,
            "ZORIGIN": 1,
            "ZMIGRATIONDATE": created,
            "ZOSVERSION": self.model.variant,
            "ZSTOREUUID": store_uuid,
        }
        return [insert("ZMIGRATIONHISTORY", history), self.z_max("MigrationHistory", 1)]


_ALBUM_KINDS = {"Album", "CloudSharedAlbum", "Folder"}


def _fingerprint(rng: Random) -> str:
    return base64.urlsafe_b64encode(bytes([1]) + rng.randbytes(20)).decode().rstrip("=")
