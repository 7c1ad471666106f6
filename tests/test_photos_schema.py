"""The simulated Photos.sqlite against the published forensic queries' forms, with sqlite3 only.

Each query here is written from the public descriptions of iOS 16-18 libraries
(docs/design/photos-sqlite.md): the join tables named after each release's entity numbers, the
cloud master, the unmanaged adjustment, the internal resources of an optimized photo. None of
companion's reader is used: the rows are checked against what the sample phone planted.
"""

from __future__ import annotations

import plistlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from companion.simulator.phone import SamplePhone, build_phone

VERSIONS = {  # iOS version -> (Album entity, GenericAlbum entity, adjustments column)
    "16.7.8": (28, 27, "ZHASADJUSTMENTS"),
    "17.5.1": (28, 27, "ZHASADJUSTMENTS"),
    "17.6.1": (29, 28, "ZHASADJUSTMENTS"),
    "18.1": (30, 29, "ZADJUSTMENTSSTATE"),
}
TABLES = {
    "ZASSET",
    "ZADDITIONALASSETATTRIBUTES",
    "ZEXTENDEDATTRIBUTES",
    "ZINTERNALRESOURCE",
    "ZCLOUDMASTER",
    "ZCLOUDRESOURCE",
    "ZUNMANAGEDADJUSTMENT",
    "ZGENERICALBUM",
    "ZALBUMLIST",
    "ZMOMENT",
    "ZCLOUDSHAREDALBUMINVITATIONRECORD",
    "ZMIGRATIONHISTORY",
    "Z_PRIMARYKEY",
    "Z_METADATA",
}
DAY = 86400


@pytest.fixture(scope="module", params=sorted(VERSIONS))
def phone(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SamplePhone:
    root = tmp_path_factory.mktemp(f"ios-{request.param}")
    return build_phone(root, seed=5, count=30, cloud_only=2, ios=request.param)


@pytest.fixture
def db(phone: SamplePhone, tmp_path: Path) -> sqlite3.Connection:
    for suffix in ("", "-wal"):
        source = phone.media_root / "PhotoData" / f"Photos.sqlite{suffix}"
        shutil.copyfile(source, tmp_path / source.name)
    return sqlite3.connect(tmp_path / "Photos.sqlite")


def _version(phone: SamplePhone) -> tuple[int, int, str]:
    return VERSIONS[str(phone.device["ProductVersion"])]


def test_tables_entities_and_metadata_follow_the_release(
    phone: SamplePhone, db: sqlite3.Connection
) -> None:
    album, generic, adjusted = _version(phone)
    names = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert TABLES | {f"Z_{album}ASSETS", f"Z_{generic}ALBUMLISTS"} <= names
    entities = dict(db.execute("SELECT Z_NAME, Z_ENT FROM Z_PRIMARYKEY"))
    assert (entities["Album"], entities["GenericAlbum"], entities["Asset"]) == (album, generic, 3)
    assert entities["AdditionalAssetAttributes"] == 1 and entities["AlbumList"] == 2
    asset_columns = {row[1] for row in db.execute("PRAGMA table_info(ZASSET)")}
    assert adjusted in asset_columns
    (other,) = {"ZHASADJUSTMENTS", "ZADJUSTMENTSSTATE"} - {adjusted}
    assert other not in asset_columns
    (plist,) = db.execute("SELECT Z_PLIST FROM Z_METADATA").fetchone()
    assert isinstance(plistlib.loads(plist)["PLModelVersion"], int)


def test_assets_in_albums_and_folders(phone: SamplePhone, db: sqlite3.Connection) -> None:
    album, generic, _ = _version(phone)
    rows = db.execute(
        f"SELECT g.ZTITLE, parent.ZKIND, parent.ZTITLE, a.ZFILENAME"
        f" FROM ZASSET a JOIN Z_{album}ASSETS j ON j.Z_3ASSETS = a.Z_PK"
        f" JOIN ZGENERICALBUM g ON g.Z_PK = j.Z_{album}ALBUMS"
        f" LEFT JOIN ZGENERICALBUM parent ON parent.Z_PK = g.ZPARENTFOLDER"
        f" WHERE g.ZKIND = 2"
    ).fetchall()
    by_album = {title: (kind, folder) for title, kind, folder, _ in rows}
    assert by_album["Holidays"] == by_album["Family"] == (4000, "Trips")
    assert by_album["Receipts"][0] == 3999
    listed = db.execute(
        f"SELECT g.ZTITLE FROM ZALBUMLIST l"
        f" JOIN Z_{generic}ALBUMLISTS j ON j.Z_2ALBUMLISTS = l.Z_PK"
        f" JOIN ZGENERICALBUM g ON g.Z_PK = j.Z_{generic}ALBUMS"
    ).fetchall()
    assert ("Trips",) in listed and ("Holidays",) not in listed
    counts = dict(db.execute("SELECT ZTITLE, ZCACHEDCOUNT FROM ZGENERICALBUM WHERE ZKIND = 2"))
    assert counts == {t: sum(1 for r in rows if r[0] == t) for t in counts}
    shared = db.execute(
        "SELECT g.ZTITLE, g.ZCLOUDGUID, i.ZISMINE FROM ZGENERICALBUM g"
        " JOIN ZCLOUDSHAREDALBUMINVITATIONRECORD i ON i.ZALBUM = g.Z_PK WHERE g.ZKIND = 1505"
    ).fetchall()
    assert len(shared) == 1 and shared[0][1] and shared[0][2] == 1


def test_hidden_favourites_and_recently_deleted(db: sqlite3.Connection) -> None:
    assert db.execute("SELECT count(*) FROM ZASSET WHERE ZHIDDEN = 1").fetchone() == (2,)
    assert db.execute("SELECT count(*) FROM ZASSET WHERE ZFAVORITE = 1").fetchone() == (3,)
    newest = db.execute("SELECT max(ZADDEDDATE) FROM ZASSET").fetchone()[0]
    trashed = db.execute(
        "SELECT ZTRASHEDDATE, ZMODIFICATIONDATE, ZADDEDDATE FROM ZASSET WHERE ZTRASHEDSTATE = 1"
    ).fetchall()
    assert len(trashed) == 2
    for when, modified, added in trashed:
        assert newest - 30 * DAY < when <= newest + DAY  # Recently Deleted keeps 30 days
        assert modified >= when > added


def test_kinds_decode_as_the_published_values(db: sqlite3.Connection) -> None:
    kinds = set(db.execute("SELECT ZKIND, ZKINDSUBTYPE, ZPLAYBACKSTYLE FROM ZASSET"))
    assert {(k, s) for k, s, _ in kinds} <= {(0, 0), (0, 2), (0, 10), (1, 100)}
    assert (1, 100, 4) in kinds and (0, 2, 3) in kinds
    screenshots = db.execute(
        "SELECT DISTINCT r.ZRESOURCETYPE FROM ZINTERNALRESOURCE r JOIN ZASSET a"
        " ON a.Z_PK = r.ZASSET WHERE a.ZKINDSUBTYPE = 10 AND r.ZDATASTORESUBTYPE = 1"
    ).fetchall()
    assert screenshots == [(6,)]
    live = db.execute(
        "SELECT a.ZMEDIAGROUPUUID, a.ZVIDEOCPDURATIONVALUE, x.ZVIDEOCPDURATIONTIMESCALE"
        " FROM ZASSET a JOIN ZADDITIONALASSETATTRIBUTES x ON x.Z_PK = a.ZADDITIONALATTRIBUTES"
        " WHERE a.ZKINDSUBTYPE = 2"
    ).fetchall()
    assert live and all(group and value and scale for group, value, scale in live)
    cloud = db.execute(
        "SELECT a.ZUUID, a.ZFILENAME, a.ZSAVEDASSETTYPE, m.ZORIGINALFILENAME FROM ZASSET a"
        " JOIN ZCLOUDMASTER m ON m.Z_PK = a.ZMASTER WHERE a.ZDIRECTORY LIKE 'PhotoData/CPLAssets/%'"
    ).fetchall()
    assert cloud and all(f == f"{u}.JPG" and t == 6 for u, f, t, _ in cloud)
    assert all(name.startswith("IMG_") for *_, name in cloud)


def test_edits_and_their_adjustment_rows(phone: SamplePhone, db: sqlite3.Connection) -> None:
    _, _, adjusted = _version(phone)
    edits = db.execute(
        f"SELECT a.ZADJUSTMENTTIMESTAMP, u.ZADJUSTMENTTIMESTAMP, u.ZADJUSTMENTFORMATIDENTIFIER,"
        f" x.ZEDITORBUNDLEID, a.ZMODIFICATIONDATE, a.ZDIRECTORY, a.ZFILENAME"
        f" FROM ZASSET a JOIN ZADDITIONALASSETATTRIBUTES x ON x.Z_PK = a.ZADDITIONALATTRIBUTES"
        f" JOIN ZUNMANAGEDADJUSTMENT u ON u.Z_PK = x.ZUNMANAGEDADJUSTMENT WHERE a.{adjusted} > 0"
    ).fetchall()
    assert len(edits) == 3
    for asset_time, edit_time, fmt, editor, modified, directory, name in edits:
        assert asset_time == edit_time <= modified
        assert fmt in ("com.apple.photo", "com.apple.video")
        assert editor == "com.apple.mobileslideshow"
        stem = name.rsplit(".", 1)[0]
        assert (
            phone.media_root / "PhotoData/Mutations" / directory / stem / "Adjustments"
        ).is_dir()


def test_cloud_only_photos_are_placeholders(phone: SamplePhone, db: sqlite3.Connection) -> None:
    away = db.execute(
        "SELECT a.ZDIRECTORY || '/' || a.ZFILENAME FROM ZASSET a"
        " JOIN ZINTERNALRESOURCE r ON r.ZASSET = a.Z_PK WHERE r.ZDATASTORESUBTYPE = 1"
        " AND r.ZLOCALAVAILABILITY = -1 AND r.ZFINGERPRINT IS NOT NULL"
    ).fetchall()
    assert {path for (path,) in away} == phone.cloud_only
    for path in phone.cloud_only:
        assert not (phone.media_root / path).exists()
    thumbs = db.execute(
        "SELECT count(*) FROM ZINTERNALRESOURCE r JOIN ZASSET a ON a.Z_PK = r.ZASSET"
        " WHERE r.ZDATASTORESUBTYPE IN (3, 4, 5) AND r.ZLOCALAVAILABILITY = 1"
        " AND a.ZCLOUDPLACEHOLDERKIND = 3"
    ).fetchone()
    assert thumbs == (2,)
    pending = db.execute(
        "SELECT count(*) FROM ZASSET WHERE ZMASTER IS NULL AND ZCLOUDLOCALSTATE = 0"
    ).fetchone()
    assert pending == (3,)  # the newest shots, not uploaded yet
