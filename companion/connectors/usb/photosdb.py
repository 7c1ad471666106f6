"""Read the Photos app's database (``PhotoData/Photos.sqlite``) from bytes copied off the phone.

The phone's library lives in a SQLite database in WAL mode: recent changes sit in
``Photos.sqlite-wal`` until the phone checkpoints them, so a reader that copies only the main file
misses the newest photos and the latest favourite or hidden flags. We never write either copy to
disk (album names, places and dates are as private as the photos): the committed frames of the WAL
are replayed onto the main file's pages in memory (``replay_wal``, after the SQLite file format
spec, section 4.3: https://www.sqlite.org/fileformat2.html#the_write_ahead_log) and the result is
opened with ``sqlite3`` ``deserialize``, read-only. ``-shm`` is only an index of the WAL for
concurrent readers; replaying the WAL needs no index.

The schema is Apple's Core Data model and moves between iOS versions: ``ZGENERICASSET`` became
``ZASSET`` in iOS 14, the album join table is ``Z_<n>ASSETS`` with ``<n>`` varying by version,
columns come and go. Every query is built from the columns the file actually has
(``photosquery.py``), and anything missing only leaves that fact unknown.
"""

from __future__ import annotations

import logging
import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from companion.connectors.usb import photosquery
from companion.errors import SourceUnavailable

logger = logging.getLogger(__name__)

CORE_DATA_EPOCH = datetime(2001, 1, 1, tzinfo=UTC)
_KIND_VIDEO = 1
_SUBTYPE_LIVE = 2
_SUBTYPE_SCREENSHOT = 10
_WAL_MAGIC = (0x377F0682, 0x377F0683)
_WAL_HEADER = struct.Struct(">8I")
_FRAME_HEADER = struct.Struct(">6I")
_SQLITE_MAGIC = b"SQLite format 3\x00"


class LibraryUnreadable(SourceUnavailable):
    """The copied database could not be read (torn copy, unknown schema, not SQLite)."""

    default_hint = "The backup goes on from the photo folders alone; albums and flags are unknown."


@dataclass(frozen=True, slots=True)
class PhotoRecord:
    """One row of the Photos library: a photo or a video as the Photos app knows it."""

    directory: str  # "DCIM/100APPLE"
    filename: str  # "IMG_0001.HEIC"
    uid: str | None
    video: bool
    live: bool  # a Live Photo: the photo row stands for the .HEIC and its paired .MOV
    screenshot: bool
    favourite: bool
    hidden: bool
    trashed: bool  # in Recently Deleted; the file is still on the phone for up to 30 days
    adjusted: bool  # edited: a render lives under PhotoData/Mutations
    captured_at: datetime | None
    original_name: str | None
    original_size: int | None
    cloud_only: bool  # the original is in iCloud only (Optimize iPhone Storage)
    albums: tuple[str, ...] = ()
    trashed_at: datetime | None = None  # when it went to Recently Deleted (ZTRASHEDDATE)
    edited_at: datetime | None = None  # the edit's time (ZUNMANAGEDADJUSTMENT)
    cloud_guid: str | None = None  # its identity in iCloud Photos (ZCLOUDASSETGUID)
    cloud_name: str | None = None  # the name iCloud Photos knows it by (ZCLOUDMASTER)

    @property
    def path(self) -> str:
        return f"{self.directory}/{self.filename}"

    @property
    def stem_path(self) -> str:
        dot = self.filename.rfind(".")
        stem = self.filename[:dot] if dot > 0 else self.filename
        return f"{self.directory}/{stem}"


def replay_wal(db: bytes | bytearray, wal: bytes | bytearray) -> bytearray:
    """The database image as a reader sees it: ``db`` with the WAL's committed frames applied.

    Frames count only up to the last commit frame whose salts match the WAL header and whose
    running checksum holds; later frames are an unfinished transaction or left over from a
    previous WAL generation. Raises ``LibraryUnreadable`` if the two files do not belong together.
    A library can weigh hundreds of megabytes: a ``bytearray`` ``db`` becomes the image itself
    (changed in place, not copied), and frames are applied from views of ``wal``.
    """
    image = db if isinstance(db, bytearray) else bytearray(db)
    if len(wal) < _WAL_HEADER.size:
        return image
    magic, _version, page_size, _seq, salt1, salt2, ck1, ck2 = _WAL_HEADER.unpack_from(wal)
    if magic not in _WAL_MAGIC or page_size < 512 or page_size & (page_size - 1):
        raise LibraryUnreadable("Photos.sqlite-wal is not a SQLite write-ahead log")
    big_endian = magic & 1 == 1
    sums = _checksum(wal[:24], (0, 0), big_endian)
    if sums != (ck1, ck2):
        return image  # a WAL whose header fails its checksum holds nothing valid
    pages: dict[int, int] = {}  # page number -> offset of its newest committed copy in the WAL
    pending: dict[int, int] = {}
    size_pages = None
    frame = _FRAME_HEADER.size + page_size
    view = memoryview(wal)
    for offset in range(_WAL_HEADER.size, len(wal) - frame + 1, frame):
        pgno, commit, fsalt1, fsalt2, fck1, fck2 = _FRAME_HEADER.unpack_from(wal, offset)
        sums = _checksum(view[offset : offset + 8], sums, big_endian)
        sums = _checksum(view[offset + _FRAME_HEADER.size : offset + frame], sums, big_endian)
        if (fsalt1, fsalt2) != (salt1, salt2) or sums != (fck1, fck2) or pgno == 0:
            break
        pending[pgno] = offset + _FRAME_HEADER.size
        if commit:
            pages.update(pending)
            pending.clear()
            size_pages = commit
    if size_pages is None:
        return image
    if image and _db_page_size(image) != page_size:
        raise LibraryUnreadable("Photos.sqlite and its WAL disagree on the page size")
    size = size_pages * page_size
    if len(image) > size:
        del image[size:]
    else:
        image.extend(bytes(size - len(image)))
    for pgno, start in pages.items():
        if pgno <= size_pages:
            image[(pgno - 1) * page_size : pgno * page_size] = view[start : start + page_size]
    return image


def _checksum(
    data: bytes | bytearray | memoryview, seed: tuple[int, int], big_endian: bool
) -> tuple[int, int]:
    """SQLite's WAL checksum: Fibonacci-weighted sums of 32-bit words, two at a time."""
    s0, s1 = seed
    words = struct.unpack(f"{'>' if big_endian else '<'}{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1


def _db_page_size(db: bytes | bytearray) -> int:
    (raw,) = struct.unpack_from(">H", db, 16)
    return 65536 if raw == 1 else int(raw)


def open_image(image: bytearray) -> sqlite3.Connection:
    """An in-memory, read-only connection over a database image (nothing touches the disk).

    SQLite takes its own copy; ``image`` is changed (its header) and may be dropped after.
    """
    if not image.startswith(_SQLITE_MAGIC) or len(image) < 100:
        raise LibraryUnreadable("Photos.sqlite is not a SQLite database")
    # Bytes 18-19 say "WAL mode"; an in-memory image has no WAL beside it, so say "rollback".
    image[18:20] = b"\x01\x01"
    conn = sqlite3.connect(":memory:")
    try:
        conn.deserialize(image)
        conn.execute("PRAGMA query_only = ON")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise LibraryUnreadable(f"Photos.sqlite could not be opened: {exc}") from exc
    return conn


def read_library(db: bytes | bytearray, wal: bytes | bytearray = b"") -> dict[str, PhotoRecord]:
    """Every photo and video the library knows, by media-root path (``DCIM/100APPLE/X.HEIC``).

    A ``bytearray`` ``db`` is used as the working image (changed in place).
    """
    conn = open_image(replay_wal(db, wal))
    try:
        return {record.path: record for record in _records(conn)}
    except sqlite3.DatabaseError as exc:  # a torn copy shows up here as "malformed"
        raise LibraryUnreadable(f"Photos.sqlite could not be read: {exc}") from exc
    finally:
        conn.close()


def _records(conn: sqlite3.Connection) -> Iterator[PhotoRecord]:
    known = photosquery.tables(conn)
    asset_table = "ZASSET" if "ZASSET" in known else "ZGENERICASSET"
    if asset_table not in known:
        raise LibraryUnreadable("Photos.sqlite has no asset table this version can read")
    if not {"ZDIRECTORY", "ZFILENAME"} <= photosquery.columns(conn, asset_table):
        raise LibraryUnreadable("Photos.sqlite's asset table has no file names")
    query, names = photosquery.record_query(conn, known, asset_table)
    albums = photosquery.albums(conn, known)
    cloud = photosquery.cloud_only(conn, known)
    for row in conn.execute(query):
        pk, directory, filename = row[0], str(row[1]), str(row[2])
        fact = dict(zip(names, row[3:], strict=True))
        trashed, size = bool(fact["trashed"]), fact["original_size"]
        cloud_name = _text(fact["cloud_name"])
        yield PhotoRecord(
            directory=directory.strip("/"),
            filename=filename,
            uid=_text(fact["uid"]),
            video=fact["kind"] == _KIND_VIDEO,
            live=fact["subtype"] == _SUBTYPE_LIVE,
            screenshot=fact["subtype"] == _SUBTYPE_SCREENSHOT,
            favourite=bool(fact["favourite"]),
            hidden=bool(fact["hidden"]),
            trashed=trashed,
            adjusted=bool(fact["adjusted"]) or fact["edited"] is not None,
            captured_at=_capture_time(fact["created"], fact["offset"]),
            original_name=_text(fact["original_name"]) or cloud_name,
            original_size=int(size) if isinstance(size, int) else None,
            cloud_only=pk in cloud,
            albums=tuple(sorted(albums.get(pk, ()))),
            trashed_at=_core_data_time(fact["trashed_date"]) if trashed else None,
            edited_at=_core_data_time(fact["edited"]),
            cloud_guid=_text(fact["cloud_guid"]),
            cloud_name=cloud_name,
        )


def _text(value: object) -> str | None:
    return str(value) if value else None


def _core_data_time(seconds: object) -> datetime | None:
    """A Core Data date (seconds since 2001-01-01 UTC), or None if it is none or out of range."""
    if not isinstance(seconds, int | float):
        return None
    try:
        return CORE_DATA_EPOCH + timedelta(seconds=float(seconds))
    except (OverflowError, ValueError):
        return None


def _capture_time(created: object, offset: object) -> datetime | None:
    when = _core_data_time(created)
    if when is not None and isinstance(offset, int) and abs(offset) < 24 * 3600:
        try:
            return when.astimezone(timezone(timedelta(seconds=offset)))
        except (OverflowError, ValueError):
            return None
    return when
