"""The sample iPhone: files, Photos.sqlite, planted private shots, device values and the cache."""

from __future__ import annotations

import io
import shutil
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pillow_heif
import pytest
import segno
from PIL import Image

from companion.simulator.phone import SamplePhone, build_phone, cached_phone, icloud_original
from companion.simulator.photosdb import thumbnail_path
from companion.simulator.planted import CARD_NUMBER, TOTP_URI, qr_layout
from companion.simulator.quicktime import make_quicktime
from companion.simulator.roll import PHONE_MODEL, Movie, folder_for

SCREEN_SIZES = {(640, 1136), (750, 1334), (1170, 2532), (1179, 2556), (1290, 2796)}
MEDIA_SUFFIXES = {".JPG", ".HEIC", ".PNG", ".MOV"}


@pytest.fixture(scope="module")
def phone(tmp_path_factory: pytest.TempPathFactory) -> SamplePhone:
    return build_phone(tmp_path_factory.mktemp("phone"), seed=7, cloud_only=2)


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def open_copy(phone: SamplePhone, target: Path, *, with_wal: bool = True) -> sqlite3.Connection:
    """Open a copy of the library, as a reader must: the original may be checkpointed on close."""
    target.mkdir()
    suffixes = ["", "-wal", "-shm"] if with_wal else [""]
    for suffix in suffixes:
        source = phone.media_root / "PhotoData" / f"Photos.sqlite{suffix}"
        shutil.copyfile(source, target / source.name)
    return sqlite3.connect(target / "Photos.sqlite")


def luhn(number: str) -> bool:
    digits = [int(d) for d in number if d.isdigit()][::-1]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
    return total % 10 == 0


@pytest.mark.slow
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    first = build_phone(tmp_path / "a", seed=3, count=24)
    again = build_phone(tmp_path / "b", seed=3, count=24)
    other = build_phone(tmp_path / "c", seed=4, count=24)
    assert snapshot(first.media_root) == snapshot(again.media_root)
    assert first.device == again.device and first.apps == again.apps
    assert first.planted == again.planted
    assert snapshot(first.media_root) != snapshot(other.media_root)
    assert first.device["UniqueDeviceID"] != other.device["UniqueDeviceID"]


@pytest.mark.slow
def test_every_row_has_its_file_and_every_file_its_row(phone: SamplePhone, tmp_path: Path) -> None:
    db = open_copy(phone, tmp_path / "db")
    rows = db.execute(
        "SELECT a.ZDIRECTORY, a.ZFILENAME, a.ZKINDSUBTYPE, x.ZORIGINALFILESIZE"
        " FROM ZASSET a JOIN ZADDITIONALASSETATTRIBUTES x ON x.ZASSET = a.Z_PK"
    ).fetchall()
    assert len(rows) == phone.assets
    listed = set()
    for directory, filename, _subtype, size in rows:
        path = phone.media_root / directory / filename
        if f"{directory}/{filename}" in phone.cloud_only:  # only iCloud has it, and a thumbnail
            assert not path.exists()
            assert (phone.media_root / thumbnail_path(f"{directory}/{filename}")).is_file()
            path = icloud_original(phone.media_root, f"{directory}/{filename}")
        assert path.stat().st_size == size
        listed.add(f"{directory}/{filename}")
    live_stems = {f"{d}/{f.rsplit('.', 1)[0]}" for d, f, subtype, _ in rows if subtype == 2}
    on_disk = {
        p.relative_to(phone.media_root).as_posix()
        for top in ("DCIM", "PhotoData/CPLAssets")  # the camera's and iCloud Photos' originals
        for p in (phone.media_root / top).rglob("*")
        if p.suffix in MEDIA_SUFFIXES
    }
    assert any(p.startswith("PhotoData/CPLAssets/group") for p in on_disk)
    live_movies = {f"{stem}.MOV" for stem in live_stems}
    assert live_movies <= on_disk
    assert on_disk - live_movies == listed - phone.cloud_only
    lengths = db.execute("SELECT ZDATALENGTH, ZASSET FROM ZINTERNALRESOURCE").fetchall()
    assert all(length > 0 for length, _ in lengths)
    assert {"IMG_E" in p for p in on_disk} == {False}  # edits live under PhotoData/Mutations
    mutations = phone.media_root / "PhotoData" / "Mutations"
    assert {p.name for p in mutations.rglob("FullSizeRender.*")} == {
        "FullSizeRender.jpg",
        "FullSizeRender.mov",
    }
    edited = db.execute("SELECT count(*) FROM ZASSET WHERE ZHASADJUSTMENTS = 1").fetchone()
    assert edited == (3,)  # a photo, a video, and a photo that came through iCloud Photos
    assert list(mutations.glob("PhotoData/CPLAssets/group*/*/Adjustments/FullSizeRender.jpg"))


def test_library_flags_dates_and_places(phone: SamplePhone, tmp_path: Path) -> None:
    db = open_copy(phone, tmp_path / "db")
    count = db.execute
    assert count("SELECT count(*) FROM ZASSET WHERE ZHIDDEN = 1").fetchone() == (2,)
    assert count("SELECT count(*) FROM ZASSET WHERE ZTRASHEDSTATE = 1").fetchone() == (2,)
    assert count("SELECT count(*) FROM ZASSET WHERE ZFAVORITE = 1").fetchone() == (3,)
    assert count("SELECT count(*) FROM ZASSET WHERE ZKINDSUBTYPE = 10").fetchone()[0] >= 4
    photo = phone.media_root / "DCIM/100APPLE/IMG_0001.JPG"
    created, offset = count(
        "SELECT a.ZDATECREATED, x.ZTIMEZONEOFFSET FROM ZASSET a"
        " JOIN ZADDITIONALASSETATTRIBUTES x ON x.ZASSET = a.Z_PK WHERE a.ZFILENAME = 'IMG_0001.JPG'"
        " AND a.ZDIRECTORY = 'DCIM/100APPLE'"
    ).fetchone()
    assert created + 978307200 == pytest.approx(photo.stat().st_mtime, abs=1e-3)
    exif = Image.open(photo).getexif().get_ifd(0x8769)
    hours, minutes = exif[0x9011][1:].split(":")
    sign = -1 if exif[0x9011][0] == "-" else 1
    assert offset == sign * (int(hours) * 3600 + int(minutes) * 60)
    places = count("SELECT ZFILENAME, ZLATITUDE, ZLONGITUDE FROM ZASSET").fetchall()
    home = [name for name, lat, lon in places if (lat, lon) == phone.home]
    assert len(home) == 1
    cloud = count(
        "SELECT a.ZDIRECTORY || '/' || a.ZFILENAME FROM ZINTERNALRESOURCE r"
        " JOIN ZASSET a ON a.Z_PK = r.ZASSET WHERE r.ZLOCALAVAILABILITY = -1"
    ).fetchall()
    assert {path for (path,) in cloud} == phone.cloud_only and len(phone.cloud_only) == 2
    assert not phone.cloud_only & set(phone.planted)


def test_latest_changes_wait_in_the_wal(phone: SamplePhone, tmp_path: Path) -> None:
    main_only = open_copy(phone, tmp_path / "main", with_wal=False)
    complete = open_copy(phone, tmp_path / "full")
    query = "SELECT count(*), sum(ZFAVORITE) FROM ZASSET"
    assert complete.execute(query).fetchone() == (phone.assets, 3)
    assert main_only.execute(query).fetchone() == (phone.assets - 3, 2)


@pytest.mark.parametrize(
    ("ios", "entity"), [("16.7", 28), ("17.5.1", 28), ("17.6.1", 29), ("18.1", 30)]
)
def test_album_join_table_follows_the_ios_version(ios: str, entity: int, tmp_path: Path) -> None:
    phone = build_phone(tmp_path / "p", count=24, ios=ios)
    assert str(phone.device["ProductVersion"]).split(".")[0] == ios.split(".", maxsplit=1)[0]
    db = open_copy(phone, tmp_path / "db")
    (name,) = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'Z_[0-9]*ASSETS'"
    ).fetchone()
    assert name == f"Z_{entity}ASSETS"
    albums = dict(
        db.execute(
            f"SELECT g.ZTITLE, count(*) FROM ZGENERICALBUM g JOIN {name} j"
            f" ON j.Z_{entity}ALBUMS = g.Z_PK JOIN ZASSET a ON a.Z_PK = j.Z_3ASSETS"
            " WHERE g.ZKIND = 2 GROUP BY g.ZTITLE"
        ).fetchall()
    )
    assert {"Holidays", "Family", "Receipts"} <= set(albums)
    twice = db.execute(f"SELECT Z_3ASSETS FROM {name} GROUP BY Z_3ASSETS HAVING count(*) > 1")
    assert twice.fetchall()
    cached = db.execute("SELECT ZTITLE, ZCACHEDCOUNT FROM ZGENERICALBUM WHERE ZKIND = 2")
    assert dict(cached.fetchall()) == albums


def test_images_look_like_an_iphones(phone: SamplePhone) -> None:
    dcim = phone.media_root / "DCIM"
    heics = sorted(dcim.rglob("*.HEIC"))
    assert heics
    for path in heics:
        image = pillow_heif.open_heif(path)[0]
        assert image.info["thumbnails"]
        assert max(image.get_thumbnail(0).size) == 320
    for path in dcim.rglob("*.PNG"):
        assert Image.open(path).size in SCREEN_SIZES
    for path in dcim.rglob("*.JPG"):
        exif = Image.open(path).getexif()
        assert exif[0x010F] == "Apple" and 0x9003 in exif.get_ifd(0x8769)
    for path in dcim.rglob("*.MOV"):
        assert path.read_bytes()[4:8] == b"ftyp"


def test_planted_shots_hold_what_they_say(phone: SamplePhone) -> None:
    kinds = {label: phone.media_root / path for path, label in phone.planted.items()}
    assert set(kinds) == {"payment_card", "secret_qr", "private_place", "credentials"}
    assert luhn(CARD_NUMBER)
    qr = Image.open(kinds["secret_qr"]).convert("L")
    left, top, scale = qr_layout(qr.size)
    expected = segno.make(TOTP_URI, error="m").matrix
    seen = [
        [
            qr.getpixel((left + c * scale + scale // 2, top + r * scale + scale // 2)) == 0
            for c in range(len(expected))
        ]
        for r in range(len(expected))
    ]
    assert seen == [[bool(v) for v in row] for row in expected]
    gps = Image.open(kinds["private_place"]).getexif().get_ifd(0x8825)
    lat = sum(float(v) / 60**i for i, v in enumerate(gps[2]))
    lon = sum(float(v) / 60**i for i, v in enumerate(gps[4]))
    assert (lat, lon) == pytest.approx(phone.home, abs=1e-7)


def test_device_and_apps_are_plausible(phone: SamplePhone) -> None:
    udid = str(phone.device["UniqueDeviceID"])
    assert len(udid) == 25 and udid.startswith("00008120-")
    assert int(udid[9:], 16) == phone.device["UniqueChipID"]
    by_id = {app["CFBundleIdentifier"]: app for app in phone.apps}
    assert "NSPhotoLibraryUsageDescription" in by_id["com.facebook.Facebook"]
    assert "NSPhotoLibraryUsageDescription" not in by_id["org.example.calcpad"]
    add_only = [
        a
        for a in phone.apps
        if "NSPhotoLibraryAddUsageDescription" in a and "NSPhotoLibraryUsageDescription" not in a
    ]
    assert len(add_only) == 1
    assert by_id["com.apple.mobileslideshow"]["ApplicationType"] == "System"


@pytest.mark.slow
def test_a_few_hundred_assets_and_folders_split_by_the_thousand(tmp_path: Path) -> None:
    phone = build_phone(tmp_path / "p", count=300)
    assert phone.assets == 300
    assert {p.name for p in (phone.media_root / "DCIM").iterdir()} == {"100APPLE"}
    assert [folder_for(n, 0) for n in (1, 999, 1000, 9999)] == [
        "100APPLE",
        "100APPLE",
        "101APPLE",
        "109APPLE",
    ]
    assert folder_for(1, 1) == "110APPLE"  # numbering restarted after IMG_9999


def test_cache_builds_once_and_survives_an_interrupted_build(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / ".phone-0123456789abcdef.999999999.x").mkdir()  # an older builder's leftovers
    first = cached_phone(count=24, cache_dir=cache)
    started = time.monotonic()
    again = cached_phone(count=24, cache_dir=cache)
    assert time.monotonic() - started < 0.5
    assert again == first
    assert first.media_root.parent.parent == cache
    assert [p.name for p in cache.iterdir() if p.name.startswith(".phone-")] == [
        ".phone-0123456789abcdef.999999999.x"
    ]


@pytest.mark.slow
def test_an_interrupted_build_is_rebuilt(tmp_path: Path) -> None:
    root = tmp_path / "p"
    built = build_phone(root, count=24)
    (root / "phone.json").unlink()  # as if the build died before its last step
    (built.media_root / "DCIM" / "100APPLE" / "IMG_0001.JPG").unlink()
    again = build_phone(root, count=24)
    assert again == built
    assert (again.media_root / "DCIM" / "100APPLE" / "IMG_0001.JPG").is_file()


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="size"):
        build_phone(tmp_path, size="huge")
    with pytest.raises(ValueError, match="iOS"):
        build_phone(tmp_path, ios="15.0")
    with pytest.raises(ValueError, match="at least"):
        build_phone(tmp_path, count=5)
    with pytest.raises(ValueError, match="iCloud"):
        build_phone(tmp_path, count=24, cloud_only=500)


def test_big_movies_stream_to_disk() -> None:
    when = datetime(2024, 6, 1, 12, tzinfo=UTC)
    movie = Movie(when, 9 * 1024 * 1024 + 5, 5, 10.0)
    out = io.BytesIO()
    assert movie.write(out) == len(out.getvalue())
    assert out.getvalue() == make_quicktime(
        when, out.getvalue()[36 : 36 + movie.payload_size], duration_s=10.0, model=PHONE_MODEL
    )
