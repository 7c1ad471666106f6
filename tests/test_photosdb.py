"""Reading Photos.sqlite from copied bytes: WAL replay against SQLite itself, schema variants,
and how files become assets (``connectors.usb.roll``)."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from companion.connectors.usb.photosdb import (
    CORE_DATA_EPOCH,
    LibraryUnreadable,
    PhotoRecord,
    open_image,
    read_library,
    replay_wal,
)
from companion.connectors.usb.roll import FileStat, assemble
from companion.model import AssetKind
from companion.simulator.phone import build_phone


def _wal_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    return conn


def _snapshot(path: Path) -> tuple[bytes, bytes]:
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes(), wal.read_bytes() if wal.exists() else b""


def _sqlite_view(tmp: Path, db: bytes, wal: bytes, query: str) -> list[tuple[object, ...]]:
    """What SQLite itself reads from the same two files (the oracle)."""
    folder = tmp / "oracle"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    (folder / "x.sqlite").write_bytes(db)
    (folder / "x.sqlite-wal").write_bytes(wal)
    conn = sqlite3.connect(folder / "x.sqlite")
    try:
        return list(conn.execute(query))
    finally:
        conn.close()


def _ours(db: bytes, wal: bytes, query: str) -> list[tuple[object, ...]]:
    conn = open_image(replay_wal(db, wal))
    try:
        return list(conn.execute(query))
    finally:
        conn.close()


@pytest.mark.slow
def test_replay_sees_what_sqlite_sees_and_ignores_an_open_transaction(tmp_path: Path) -> None:
    conn = _wal_db(tmp_path / "p.sqlite")
    conn.execute("CREATE TABLE t(x)")
    conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(2000)])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(2000, 2600)])
    conn.execute("UPDATE t SET x = -1 WHERE x = 5")
    conn.execute("BEGIN")
    conn.execute("INSERT INTO t VALUES (999999)")  # not committed: must stay invisible
    db, wal = _snapshot(tmp_path / "p.sqlite")
    query = "SELECT count(*), min(x), max(x) FROM t"
    assert _ours(db, b"", query) == [(2000, 0, 1999)]
    assert _ours(db, wal, query) == _sqlite_view(tmp_path, db, wal, query) == [(2600, -1, 2599)]


@pytest.mark.slow
def test_replay_ignores_frames_left_from_an_earlier_wal_generation(tmp_path: Path) -> None:
    conn = _wal_db(tmp_path / "p.sqlite")
    conn.execute("CREATE TABLE t(x)")
    conn.executemany("INSERT INTO t VALUES (?)", [(str(i) * 50,) for i in range(3000)])
    conn.execute("PRAGMA wal_checkpoint(RESTART)")
    conn.execute("INSERT INTO t VALUES ('new')")  # rewrites the WAL's start with new salts
    db, wal = _snapshot(tmp_path / "p.sqlite")
    query = "SELECT count(*) FROM t"
    assert _ours(db, wal, query) == _sqlite_view(tmp_path, db, wal, query) == [(3001,)]


@pytest.mark.parametrize("cut", [7, 32, 100, 4096 + 24 + 10, -1])
def test_a_torn_wal_gives_a_consistent_earlier_state(tmp_path: Path, cut: int) -> None:
    conn = _wal_db(tmp_path / "p.sqlite")
    conn.execute("CREATE TABLE t(x)")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for i in range(20):
        conn.execute("INSERT INTO t VALUES (?)", (i,))
    db, wal = _snapshot(tmp_path / "p.sqlite")
    torn = wal[:cut]
    rows = _ours(db, torn, "SELECT count(*) FROM t")
    assert rows == _sqlite_view(tmp_path, db, torn, "SELECT count(*) FROM t")


def test_garbage_is_unreadable_not_a_crash() -> None:
    with pytest.raises(LibraryUnreadable):
        read_library(b"not a database at all" * 10)
    with pytest.raises(LibraryUnreadable):
        replay_wal(b"", b"\x00" * 64)  # a WAL header with the wrong magic
    with pytest.raises(LibraryUnreadable):
        read_library(b"SQLite format 3\x00" + b"\xff" * 200)


def _core_data(seconds: float) -> float:
    return seconds - (CORE_DATA_EPOCH - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()


IOS17 = """
CREATE TABLE ZASSET (Z_PK INTEGER PRIMARY KEY, ZKIND INTEGER, ZKINDSUBTYPE INTEGER,
  ZFAVORITE INTEGER, ZHIDDEN INTEGER, ZTRASHEDSTATE INTEGER, ZHASADJUSTMENTS INTEGER,
  ZADDITIONALATTRIBUTES INTEGER, ZDATECREATED TIMESTAMP, ZDIRECTORY VARCHAR, ZFILENAME VARCHAR,
  ZUUID VARCHAR);
CREATE TABLE ZADDITIONALASSETATTRIBUTES (Z_PK INTEGER PRIMARY KEY, ZASSET INTEGER,
  ZORIGINALFILESIZE INTEGER, ZTIMEZONEOFFSET INTEGER, ZORIGINALFILENAME VARCHAR);
CREATE TABLE ZGENERICALBUM (Z_PK INTEGER PRIMARY KEY, ZKIND INTEGER, ZTRASHEDSTATE INTEGER,
  ZTITLE VARCHAR);
CREATE TABLE Z_30ASSETS (Z_30ALBUMS INTEGER, Z_3ASSETS INTEGER, Z_FOK_3ASSETS INTEGER);
CREATE TABLE ZINTERNALRESOURCE (Z_PK INTEGER PRIMARY KEY, ZASSET INTEGER, ZRESOURCETYPE INTEGER,
  ZVERSION INTEGER, ZLOCALAVAILABILITY INTEGER, ZRECIPEID INTEGER);
"""


def _library(tmp_path: Path) -> tuple[bytes, bytes]:
    conn = _wal_db(tmp_path / "Photos.sqlite")
    conn.executescript(IOS17)
    when = _core_data(datetime(2024, 7, 14, 10, 0, tzinfo=UTC).timestamp())
    rows = [  # pk, kind, subtype, fav, hidden, trashed, adjusted, attrs, date, dir, name, uuid
        (1, 0, 2, 1, 0, 0, 0, 1, when, "DCIM/100APPLE", "IMG_0001.HEIC", "U1"),
        (2, 0, 10, 0, 1, 0, 0, 2, when + 60, "DCIM/100APPLE", "IMG_0002.PNG", "U2"),
        (3, 0, 0, 0, 0, 1, 0, 3, when + 120, "DCIM/100APPLE", "IMG_0003.JPG", "U3"),
        (4, 0, 0, 0, 0, 0, 1, 4, when + 180, "DCIM/100APPLE", "IMG_0004.JPG", "U4"),
        (5, 1, 0, 0, 0, 0, 0, 5, when + 240, "DCIM/101APPLE", "IMG_0005.MOV", "U5"),
        (6, 0, 0, 0, 0, 0, 0, 6, when + 300, "DCIM/101APPLE", "IMG_0006.HEIC", "U6"),
    ]
    conn.executemany(f"INSERT INTO ZASSET VALUES ({','.join('?' * 12)})", rows)
    conn.executemany(
        "INSERT INTO ZADDITIONALASSETATTRIBUTES VALUES (?, ?, ?, ?, ?)",
        [(i, i, 1000 + i, 7200, f"IMG_000{i}.X") for i in range(1, 7)],
    )
    conn.executemany(
        "INSERT INTO ZGENERICALBUM VALUES (?, ?, ?, ?)",
        [(1, 2, 0, "Holidays"), (2, 2, 0, "Family"), (3, 3999, 0, None), (4, 2, 1, "Old")],
    )
    conn.executemany(
        "INSERT INTO Z_30ASSETS VALUES (?, ?, 0)", [(1, 1), (2, 1), (1, 4), (4, 6), (3, 6)]
    )
    conn.executemany(
        "INSERT INTO ZINTERNALRESOURCE VALUES (?, ?, ?, 0, ?, ?)",
        [(1, 6, 0, -1, 0), (2, 6, 0, 1, 65749), (3, 1, 0, 1, 0), (4, 1, 3, 1, 0)],
    )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("UPDATE ZASSET SET ZFAVORITE = 1 WHERE Z_PK = 2")  # only in the WAL
    return _snapshot(tmp_path / "Photos.sqlite")


def test_library_rows_carry_flags_albums_time_zone_and_cloud_state(tmp_path: Path) -> None:
    db, wal = _library(tmp_path)
    records = read_library(db, wal)
    assert sorted(records) == [
        "DCIM/100APPLE/IMG_0001.HEIC",
        "DCIM/100APPLE/IMG_0002.PNG",
        "DCIM/100APPLE/IMG_0003.JPG",
        "DCIM/100APPLE/IMG_0004.JPG",
        "DCIM/101APPLE/IMG_0005.MOV",
        "DCIM/101APPLE/IMG_0006.HEIC",
    ]
    live = records["DCIM/100APPLE/IMG_0001.HEIC"]
    assert live.live and live.favourite and not live.cloud_only
    assert live.albums == ("Family", "Holidays")
    assert live.captured_at == datetime(2024, 7, 14, 10, 0, tzinfo=UTC)
    assert live.captured_at is not None
    assert live.captured_at.utcoffset() == timedelta(hours=2)
    shot = records["DCIM/100APPLE/IMG_0002.PNG"]
    assert shot.screenshot and shot.hidden and shot.favourite  # the favourite is in the WAL only
    assert not read_library(db)["DCIM/100APPLE/IMG_0002.PNG"].favourite
    assert records["DCIM/100APPLE/IMG_0003.JPG"].trashed
    assert records["DCIM/100APPLE/IMG_0004.JPG"].adjusted
    assert records["DCIM/101APPLE/IMG_0005.MOV"].video
    cloud = records["DCIM/101APPLE/IMG_0006.HEIC"]
    assert cloud.cloud_only  # the original is remote; its thumbnail (a recipe) is local
    assert cloud.albums == ()  # "Old" is trashed, 3999 is a system folder


def test_an_older_schema_without_optional_tables_still_lists_files(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "old.sqlite")
    conn.execute("CREATE TABLE ZGENERICASSET (Z_PK INTEGER PRIMARY KEY, ZDIRECTORY, ZFILENAME)")
    conn.execute("INSERT INTO ZGENERICASSET VALUES (1, 'DCIM/100APPLE', 'IMG_0001.JPG')")
    conn.commit()
    conn.close()
    records = read_library((tmp_path / "old.sqlite").read_bytes())
    record = records["DCIM/100APPLE/IMG_0001.JPG"]
    assert not record.live and not record.hidden and record.captured_at is None
    assert record.albums == ()


def _record(path: str, **flags: object) -> PhotoRecord:
    directory, filename = path.rsplit("/", 1)
    values: dict[str, object] = {
        "uid": "U",
        "video": False,
        "live": False,
        "screenshot": False,
        "favourite": False,
        "hidden": False,
        "trashed": False,
        "adjusted": False,
        "captured_at": None,
        "original_name": None,
        "original_size": None,
        "cloud_only": False,
    }
    values.update(flags)
    return PhotoRecord(directory, filename, **values)  # type: ignore[arg-type]


def test_assemble_pairs_live_photos_keeps_edits_and_skips_trash() -> None:
    records = {
        r.path: r
        for r in (
            _record("DCIM/100APPLE/IMG_0001.HEIC", live=True, hidden=True, albums=("A",)),
            _record("DCIM/100APPLE/IMG_0002.JPG", adjusted=True),
            _record("DCIM/100APPLE/IMG_0003.JPG", trashed=True, live=True),
            _record("DCIM/100APPLE/IMG_0004.HEIC", cloud_only=True, original_size=5),
            _record("DCIM/100APPLE/IMG_0005.HEIC", cloud_only=True, original_size=9),
        )
    }
    edit = "PhotoData/Mutations/DCIM/100APPLE/IMG_0002/Adjustments"
    files = {
        p: FileStat(10, 1)
        for p in (
            "DCIM/100APPLE/IMG_0001.HEIC",
            "DCIM/100APPLE/IMG_0001.MOV",
            "DCIM/100APPLE/IMG_0002.JPG",
            f"{edit}/FullSizeRender.jpg",
            f"{edit}/Adjustments.plist",
            "DCIM/100APPLE/IMG_0003.JPG",
            "DCIM/100APPLE/IMG_0003.MOV",
            "DCIM/100APPLE/IMG_0004.HEIC",
            "DCIM/100APPLE/IMG_9999.JPG",  # not in the library (yet): still backed up
        )
    }
    roll = assemble("usb:X", files, records)
    by_path = {a.path: a for a in roll.assets}
    assert "DCIM/100APPLE/IMG_0003.JPG" not in by_path
    assert "DCIM/100APPLE/IMG_0003.MOV" not in by_path
    assert roll.trashed == 1
    photo, video = by_path["DCIM/100APPLE/IMG_0001.HEIC"], by_path["DCIM/100APPLE/IMG_0001.MOV"]
    assert photo.live_group == video.live_group == "DCIM/100APPLE/IMG_0001"
    assert video.kind is AssetKind.VIDEO and video.hidden and video.albums == ("A",)
    assert by_path[f"{edit}/FullSizeRender.jpg"].edited_of == "DCIM/100APPLE/IMG_0002.JPG"
    assert by_path[f"{edit}/Adjustments.plist"].sidecar_of == "DCIM/100APPLE/IMG_0002.JPG"
    assert by_path["DCIM/100APPLE/IMG_9999.JPG"].uid is None
    assert roll.cloud_only == {"DCIM/100APPLE/IMG_0004.HEIC", "DCIM/100APPLE/IMG_0005.HEIC"}
    assert by_path["DCIM/100APPLE/IMG_0004.HEIC"].size == 10  # the placeholder's listed size
    assert by_path["DCIM/100APPLE/IMG_0005.HEIC"].size == 9  # no file: the library's size
    everything = assemble("usb:X", files, records, include_trashed=True)
    assert "DCIM/100APPLE/IMG_0003.MOV" in {a.path for a in everything.assets}


def test_assemble_without_a_library_keeps_every_file_plain() -> None:
    files = {
        "DCIM/100APPLE/IMG_0001.HEIC": FileStat(3, 2),
        "DCIM/100APPLE/IMG_0001.MOV": FileStat(4, 2),
    }
    roll = assemble("usb:X", files, None)
    assert [a.path for a in roll.assets] == sorted(files)
    assert all(a.live_group is None and a.albums == () for a in roll.assets)


@pytest.mark.parametrize("ios", ["16.7.8", "17.5.1", "17.6.1", "18.1"])
def test_each_simulated_release_reads_with_its_own_columns(tmp_path: Path, ios: str) -> None:
    phone = build_phone(tmp_path / "phone", seed=5, count=30, cloud_only=2, ios=ios)
    data = phone.media_root / "PhotoData"
    records = read_library(
        (data / "Photos.sqlite").read_bytes(), (data / "Photos.sqlite-wal").read_bytes()
    )
    assert len(records) == phone.assets
    assert {p for p, r in records.items() if r.cloud_only} == phone.cloud_only
    edits = [r for r in records.values() if r.adjusted]
    assert len(edits) == 3  # ZHASADJUSTMENTS up to 17, ZADJUSTMENTSSTATE on 18
    assert all(r.edited_at is not None and r.captured_at < r.edited_at for r in edits)
    assert {r.directory.split("/")[0] for r in edits} == {"DCIM", "PhotoData"}
    from_icloud = [r for r in records.values() if r.directory.startswith("PhotoData/CPLAssets")]
    assert from_icloud and all(
        r.cloud_name and r.cloud_name.startswith("IMG_") for r in from_icloud
    )
    assert all(r.filename == f"{r.uid}.JPG" for r in from_icloud)
    synced = [r for r in records.values() if r.cloud_guid]
    assert len(synced) == phone.assets - 3  # the newest are not uploaded yet
    assert {"Holidays", "Family"} <= {a for r in records.values() for a in r.albums}
    videos = [r for r in records.values() if r.video]
    assert videos and not any(r.screenshot or r.live for r in videos)
