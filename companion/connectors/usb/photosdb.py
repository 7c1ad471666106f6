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
columns come and go. Every query is built from the columns the file actually has, and anything
missing only leaves that fact unknown.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from companion.errors import SourceUnavailable

logger = logging.getLogger(__name__)

CORE_DATA_EPOCH = datetime(2001, 1, 1, tzinfo=UTC)
_KIND_VIDEO = 1
_SUBTYPE_LIVE = 2
_SUBTYPE_SCREENSHOT = 10
_ALBUM_USER = 2  # ZGENERICALBUM.ZKIND of an album the person made
_AVAILABLE_LOCALLY = 1  # ZINTERNALRESOURCE.ZLOCALAVAILABILITY
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


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


# Each fact: (column in the asset table, SQL expression when present, default when absent).
_ASSET_FIELDS = (
    ("ZKIND", "a.ZKIND", "0"),
    ("ZKINDSUBTYPE", "a.ZKINDSUBTYPE", "0"),
    ("ZFAVORITE", "a.ZFAVORITE", "0"),
    ("ZHIDDEN", "a.ZHIDDEN", "0"),
    ("ZTRASHEDSTATE", "a.ZTRASHEDSTATE", "0"),
    ("ZHASADJUSTMENTS", "a.ZHASADJUSTMENTS", "0"),
    ("ZDATECREATED", "a.ZDATECREATED", "NULL"),
    ("ZUUID", "a.ZUUID", "NULL"),
    ("ZTRASHEDDATE", "a.ZTRASHEDDATE", "NULL"),
)


def _records(conn: sqlite3.Connection) -> Iterator[PhotoRecord]:
    tables = _tables(conn)
    asset_table = "ZASSET" if "ZASSET" in tables else "ZGENERICASSET"
    if asset_table not in tables:
        raise LibraryUnreadable("Photos.sqlite has no asset table this version can read")
    cols = _columns(conn, asset_table)
    if not {"ZDIRECTORY", "ZFILENAME"} <= cols:
        raise LibraryUnreadable("Photos.sqlite's asset table has no file names")
    picks = [expr if col in cols else default for col, expr, default in _ASSET_FIELDS]
    extra_join, extra = _attribute_columns(conn, tables, cols)
    query = (
        f"SELECT a.Z_PK, a.ZDIRECTORY, a.ZFILENAME, {', '.join(picks)}, {extra} "
        f"FROM {asset_table} a {extra_join} "
        "WHERE a.ZDIRECTORY IS NOT NULL AND a.ZFILENAME IS NOT NULL"
    )
    albums = _albums(conn, tables)
    cloud = _cloud_only(conn, tables)
    for row in conn.execute(query):
        pk, directory, filename = row[0], str(row[1]), str(row[2])
        kind, subtype, fav, hidden, trashed, adjusted, created, uid, trashed_date = row[3:12]
        offset, original_name, original_size = row[12:15]
        yield PhotoRecord(
            directory=directory.strip("/"),
            filename=filename,
            uid=str(uid) if uid else None,
            video=kind == _KIND_VIDEO,
            live=subtype == _SUBTYPE_LIVE,
            screenshot=subtype == _SUBTYPE_SCREENSHOT,
            favourite=bool(fav),
            hidden=bool(hidden),
            trashed=bool(trashed),
            adjusted=bool(adjusted),
            captured_at=_capture_time(created, offset),
            original_name=str(original_name) if original_name else None,
            original_size=int(original_size) if isinstance(original_size, int) else None,
            cloud_only=pk in cloud,
            albums=tuple(sorted(albums.get(pk, ()))),
            trashed_at=_core_data_time(trashed_date) if trashed else None,
        )


def _attribute_columns(
    conn: sqlite3.Connection, tables: set[str], asset_cols: set[str]
) -> tuple[str, str]:
    """The join and the select list for the time zone, original name and size, if known."""
    table = "ZADDITIONALASSETATTRIBUTES"
    if table not in tables or "ZADDITIONALATTRIBUTES" not in asset_cols:
        return "", "NULL, NULL, NULL"
    cols = _columns(conn, table)
    picks = [f"x.{c}" if c in cols else "NULL" for c in _ATTRIBUTE_COLUMNS]
    return f"LEFT JOIN {table} x ON x.Z_PK = a.ZADDITIONALATTRIBUTES", ", ".join(picks)


_ATTRIBUTE_COLUMNS = ("ZTIMEZONEOFFSET", "ZORIGINALFILENAME", "ZORIGINALFILESIZE")


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


_JOIN_TABLE = re.compile(r"Z_(\d+)ASSETS")


def _albums(conn: sqlite3.Connection, tables: set[str]) -> dict[int, list[str]]:
    """Asset primary key -> titles of the albums the person made that hold it."""
    if "ZGENERICALBUM" not in tables:
        return {}
    for table in sorted(tables):
        match = _JOIN_TABLE.fullmatch(table)
        if not match:
            continue
        cols = _columns(conn, table)
        album_col = f"Z_{match.group(1)}ALBUMS"
        asset_cols = [c for c in cols if re.fullmatch(r"Z_\d+ASSETS", c)]
        if album_col not in cols or len(asset_cols) != 1:
            continue
        album_cols = _columns(conn, "ZGENERICALBUM")
        trashed = "AND COALESCE(g.ZTRASHEDSTATE, 0) = 0" if "ZTRASHEDSTATE" in album_cols else ""
        found: dict[int, list[str]] = {}
        query = (
            f"SELECT j.{asset_cols[0]}, g.ZTITLE FROM {table} j "
            f"JOIN ZGENERICALBUM g ON g.Z_PK = j.{album_col} "
            f"WHERE g.ZKIND = {_ALBUM_USER} AND g.ZTITLE IS NOT NULL {trashed}"
        )
        for asset_pk, title in conn.execute(query):
            found.setdefault(int(asset_pk), []).append(str(title))
        return found
    return {}


def _cloud_only(conn: sqlite3.Connection, tables: set[str]) -> set[int]:
    """Assets none of whose original resources is on the phone."""
    if "ZINTERNALRESOURCE" not in tables:
        return set()
    cols = _columns(conn, "ZINTERNALRESOURCE")
    if not {"ZASSET", "ZLOCALAVAILABILITY"} <= cols:
        return set()
    # Originals only: version 0, the photo / video / Live Photo video resource types, no recipe
    # (recipes are derivatives such as thumbnails, which stay on the phone).
    original = " ".join(
        clause
        for col, clause in (
            ("ZVERSION", "AND ZVERSION = 0"),
            ("ZRESOURCETYPE", "AND ZRESOURCETYPE IN (0, 1, 3)"),
            ("ZRECIPEID", "AND COALESCE(ZRECIPEID, 0) = 0"),
        )
        if col in cols
    )
    query = (
        "SELECT ZASSET FROM ZINTERNALRESOURCE WHERE ZASSET IS NOT NULL "
        f"{original} GROUP BY ZASSET "
        f"HAVING MAX(COALESCE(ZLOCALAVAILABILITY, 0)) < {_AVAILABLE_LOCALLY}"
    )
    return {int(row[0]) for row in conn.execute(query)}
