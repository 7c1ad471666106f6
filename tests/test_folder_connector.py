"""The folder connector against the shared contract, then what only a folder does.

Every test source is a camera roll from the simulator (``companion.simulator.media``), written to
a temporary folder: the pretend iPhone is the test double, nothing of ours is mocked.
"""

from __future__ import annotations

import ctypes
import functools
import io
import logging
import os
import struct
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from companion.connectors import connect
from companion.connectors.folder import FolderConnector
from companion.errors import SourceChanged, SourceUnavailable, UsageError
from companion.model import Asset, AssetKind
from companion.simulator.media import (
    MIN_COUNT,
    MediaItem,
    generate_camera_roll,
    write_camera_roll,
)
from companion.simulator.quicktime import make_quicktime
from tests.connector_contract import ConnectorContract, Source, drain

SEED = 7


@functools.cache
def _roll() -> tuple[MediaItem, ...]:
    """One small roll for the whole module: generating it is the slow part, writing is cheap."""
    return tuple(generate_camera_roll(SEED, count=MIN_COUNT + 3))


class TestFolderContract(ConnectorContract):
    def make_connector(self, tmp_path: Path) -> Source:
        self.root = tmp_path / "iPhone"
        write_camera_roll(_roll(), self.root)
        expected = {item.path: item.data for item in _roll()}
        # One file larger than the stream's buffer, so that reads cross buffer boundaries.
        big = bytes(range(256)) * (5 * 1024 + 3)
        (self.root / "DCIM/100APPLE/IMG_0900.MOV").write_bytes(big)
        expected["DCIM/100APPLE/IMG_0900.MOV"] = big
        return FolderConnector(str(self.root)), expected

    def rewrite(self, path: str, data: bytes) -> None:
        (self.root / path).write_bytes(data)

    def remove(self, path: str) -> None:
        (self.root / path).unlink()


@pytest.fixture
def roll(tmp_path: Path) -> tuple[Path, dict[str, MediaItem], FolderConnector]:
    root = tmp_path / "iPhone"
    write_camera_roll(_roll(), root)
    return root, {item.path: item for item in _roll()}, FolderConnector(str(root))


Roll = tuple[Path, dict[str, MediaItem], FolderConnector]


def _assets(connector: FolderConnector) -> dict[str, Asset]:
    return {asset.path: asset for asset in connector.list_assets()}


# --- what the listing understands -------------------------------------------------------------


def test_links_match_what_the_phone_wrote(roll: Roll) -> None:
    _, items, connector = roll
    assets = _assets(connector)
    assert sorted(assets) == sorted(items)
    for path, item in items.items():
        asset = assets[path]
        assert asset.kind.value == item.kind, path
        assert (asset.live_group, asset.edited_of, asset.sidecar_of) == (
            item.live_group,
            item.edited_of,
            item.sidecar_of,
        ), path


def test_live_photo_halves_share_a_group(roll: Roll) -> None:
    _, _, connector = roll
    assets = _assets(connector)
    group = "DCIM/100APPLE/IMG_0005"
    assert assets[f"{group}.HEIC"].live_group == group
    assert assets[f"{group}.MOV"].live_group == group
    assert assets["DCIM/100APPLE/IMG_0004.MOV"].live_group is None


def test_edited_render_and_recipe_point_at_the_original(roll: Roll) -> None:
    _, _, connector = roll
    assets = _assets(connector)
    original = "DCIM/100APPLE/IMG_0007.JPG"
    assert assets["DCIM/100APPLE/IMG_E0007.JPG"].edited_of == original
    assert assets["DCIM/100APPLE/IMG_0007.AAE"].sidecar_of == original
    assert assets["DCIM/100APPLE/IMG_0007.AAE"].kind is AssetKind.SIDECAR
    assert assets[original].edited_of is None


def test_edit_without_original_has_no_link(tmp_path: Path) -> None:
    (tmp_path / "IMG_E0042.JPG").write_bytes(b"render")
    (tmp_path / "IMG_0043.AAE").write_bytes(b"<plist/>")
    (tmp_path / "IMG_O0044.AAE").write_bytes(b"<plist/>")
    (tmp_path / "IMG_0044.HEIC").write_bytes(b"photo")
    assets = _assets(FolderConnector(str(tmp_path)))
    assert assets["IMG_E0042.JPG"].edited_of is None
    assert assets["IMG_0043.AAE"].sidecar_of is None
    assert assets["IMG_O0044.AAE"].sidecar_of == "IMG_0044.HEIC"


def test_same_name_in_two_dcim_folders_is_two_assets(roll: Roll) -> None:
    _, items, connector = roll
    assets = _assets(connector)
    first, second = assets["DCIM/100APPLE/IMG_0001.JPG"], assets["DCIM/101APPLE/IMG_0001.JPG"]
    assert first.name == second.name
    assert items[first.path].data != items[second.path].data
    with connector.open(first) as a, connector.open(second) as b:
        assert a.read() != b.read()


def test_listing_order_is_sorted_and_depth_first(roll: Roll) -> None:
    _, _, connector = roll
    paths = [asset.path for asset in connector.list_assets()]
    assert paths == sorted(paths, key=lambda p: p.split("/"))


def test_listing_sizes_and_mtimes_come_from_stat(roll: Roll) -> None:
    root, items, connector = roll
    for asset in connector.list_assets():
        info = (root / asset.path).stat()
        assert (asset.size, asset.mtime_ns) == (info.st_size, info.st_mtime_ns)
        assert asset.captured_at is None and asset.screenshot is None  # only probe reads
        assert asset.mtime_ns == _unix_ns(items[asset.path].captured_at)


def test_listing_opens_no_file(roll: Roll) -> None:
    root, _, connector = roll
    folders = [root / "DCIM" / "100APPLE", root / "DCIM" / "101APPLE"]
    with _OpenWatch(folders) as watch:
        assets = list(connector.list_assets())
        info = connector.info()
        assert watch.opened_files() == []
        # The watch works: reading one file is seen.
        with connector.open(assets[0]) as stream:
            drain(stream)
        assert watch.opened_files() == [assets[0].name]
    assert info.name == "iPhone"


def test_root_may_be_the_dcim_folder_itself(roll: Roll) -> None:
    root, _, _ = roll
    assets = _assets(FolderConnector(str(root / "DCIM")))
    assert "100APPLE/IMG_0001.JPG" in assets
    assert assets["100APPLE/IMG_0005.MOV"].live_group == "100APPLE/IMG_0005"


def test_media_root_lists_only_dcim(roll: Roll) -> None:
    root, items, connector = roll
    (root / "PhotoData").mkdir()
    (root / "PhotoData" / "Photos.sqlite").write_bytes(b"SQLite format 3\x00")
    (root / "notes.txt").write_text("not a photo")
    assert sorted(_assets(connector)) == sorted(items)


def test_any_folder_of_photos_is_walked(tmp_path: Path) -> None:
    (tmp_path / "2024" / "June").mkdir(parents=True)
    (tmp_path / "2024" / "June" / "beach.jpeg").write_bytes(b"jpeg")
    (tmp_path / "clip.mp4").write_bytes(b"mp4")
    (tmp_path / "readme.txt").write_bytes(b"text")
    assets = _assets(FolderConnector(str(tmp_path)))
    assert {path: a.kind for path, a in assets.items()} == {
        "2024/June/beach.jpeg": AssetKind.PHOTO,
        "clip.mp4": AssetKind.VIDEO,
        "readme.txt": AssetKind.OTHER,
    }


def test_hidden_and_special_files_are_skipped(roll: Roll) -> None:
    root, items, connector = roll
    folder = root / "DCIM" / "100APPLE"
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (folder / "._IMG_0001.JPG").write_bytes(b"\x00\x05\x16\x07AppleDouble")
    (root / "DCIM" / ".Trashes").mkdir()
    (root / "DCIM" / ".Trashes" / "IMG_0002.JPG").write_bytes(b"deleted")
    os.mkfifo(folder / "IMG_0999.JPG")  # opening a FIFO would hang a naive reader
    assert sorted(_assets(connector)) == sorted(items)


def test_symlinks_are_not_followed(roll: Roll, tmp_path: Path) -> None:
    root, items, connector = roll
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(b"not from the phone")
    (root / "DCIM" / "100APPLE" / "IMG_0998.JPG").symlink_to(outside / "secret.jpg")
    (root / "DCIM" / "102APPLE").symlink_to(outside, target_is_directory=True)
    assert sorted(_assets(connector)) == sorted(items)
    # Even an asset naming the link is refused rather than read through it.
    ghost = Asset(connector.source, "DCIM/100APPLE/IMG_0998.JPG", 18, 0, AssetKind.PHOTO)
    with pytest.raises(SourceUnavailable):
        connector.open(ghost)


def test_undecodable_name_is_skipped_with_a_warning(
    roll: Roll, caplog: pytest.LogCaptureFixture
) -> None:
    root, items, connector = roll
    # A name whose bytes are not UTF-8 (surrogate escapes turn them back into those bytes).
    (root / "DCIM" / "100APPLE" / os.fsdecode(b"IMG_\xff\xfe.JPG")).write_bytes(b"bytes")
    (root / "DCIM" / "100APPLE" / "IMG\n0002.JPG").write_bytes(b"a newline is a legal name")
    with caplog.at_level(logging.WARNING, logger="companion.connectors.folder"):
        assets = _assets(connector)
    assert "not valid UTF-8" in caplog.text
    assert sorted(assets) == sorted([*items, "DCIM/100APPLE/IMG\n0002.JPG"])
    with connector.open(assets["DCIM/100APPLE/IMG\n0002.JPG"]) as stream:
        assert stream.read() == b"a newline is a legal name"


# --- building the connector ---------------------------------------------------------------------


def test_registry_builds_it_and_source_is_the_resolved_root(roll: Roll, tmp_path: Path) -> None:
    root, _, _ = roll
    link = tmp_path / "phone-link"
    link.symlink_to(root, target_is_directory=True)
    connector = connect(f"folder:{link}")
    assert isinstance(connector, FolderConnector)
    assert connector.source == f"folder:{root.resolve()}"


def test_tilde_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "Pictures").mkdir()
    assert FolderConnector("~/Pictures").source == f"folder:{tmp_path.resolve()}/Pictures"


def test_empty_path_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        FolderConnector("  ")


def test_missing_folder_is_unavailable(tmp_path: Path) -> None:
    connector = FolderConnector(str(tmp_path / "not-mounted"))
    with pytest.raises(SourceUnavailable) as raised:
        list(connector.list_assets())
    assert raised.value.hint
    with pytest.raises(SourceUnavailable):
        connector.info()


# --- reading ------------------------------------------------------------------------------------


def test_growing_while_read_raises_source_changed(roll: Roll) -> None:
    root, _, connector = roll
    asset = _assets(connector)["DCIM/100APPLE/IMG_0004.MOV"]
    with pytest.raises(SourceChanged), connector.open(asset) as stream:
        stream.read(10)
        with (root / asset.path).open("ab") as file:
            file.write(b"more frames")
        drain(stream)


def test_shrinking_while_read_raises_source_changed(roll: Roll) -> None:
    root, _, connector = roll
    asset = _assets(connector)["DCIM/100APPLE/IMG_0004.MOV"]
    with pytest.raises(SourceChanged), connector.open(asset) as stream:
        stream.read(10)
        os.truncate(root / asset.path, 20)
        drain(stream)


def test_same_size_rewrite_before_reading_yields_the_new_bytes(roll: Roll) -> None:
    root, items, connector = roll
    asset = _assets(connector)["DCIM/100APPLE/IMG_0001.JPG"]
    (root / asset.path).write_bytes(bytes(reversed(items[asset.path].data)))
    with connector.open(asset) as stream:  # a consistent copy of what is there now
        assert drain(stream) == bytes(reversed(items[asset.path].data))


def test_same_size_rewrite_while_read_raises_source_changed(roll: Roll) -> None:
    root, _, connector = roll
    asset = _assets(connector)["DCIM/100APPLE/IMG_0001.JPG"]
    with pytest.raises(SourceChanged), connector.open(asset) as stream:
        stream.read(10)
        os.utime(root / asset.path, ns=(1, 1))  # rewritten in place: a torn copy
        drain(stream)


def test_stream_reports_its_position_and_refuses_fileno(roll: Roll) -> None:
    _, items, connector = roll
    asset = _assets(connector)["DCIM/100APPLE/IMG_0001.JPG"]
    with connector.open(asset) as stream:
        assert stream.read(100) == items[asset.path].data[:100]
        assert stream.tell() == 100
        with pytest.raises(io.UnsupportedOperation):
            stream.fileno()


# --- probing ------------------------------------------------------------------------------------


def test_probe_reads_the_capture_time_the_phone_wrote(roll: Roll) -> None:
    _, items, connector = roll
    seen = set()
    for asset in connector.list_assets():
        item = items[asset.path]
        if item.kind == "sidecar":
            assert connector.probe(asset) == asset
            continue
        probed = connector.probe(asset)
        assert probed.captured_at == item.captured_at, asset.path
        assert probed.captured_at.utcoffset() == item.captured_at.utcoffset(), asset.path
        seen.add(asset.path.rsplit(".", 1)[1])
    assert {"JPG", "HEIC", "MOV", "PNG"} <= seen


def test_probe_marks_screenshots(roll: Roll) -> None:
    _, items, connector = roll
    for asset in connector.list_assets():
        if asset.kind is AssetKind.PHOTO:
            assert connector.probe(asset).screenshot is items[asset.path].screenshot, asset.path


@pytest.mark.parametrize(
    ("size", "metadata", "expected"),
    [
        ((1170, 2532), None, True),
        ((2556, 1179), None, True),  # landscape
        ((300, 200), None, False),
        ((300, 200), "exif", True),
        ((300, 200), "xmp", True),
    ],
)
def test_screenshot_by_screen_size_or_ios_comment(
    tmp_path: Path, size: tuple[int, int], metadata: str | None, expected: bool
) -> None:
    _write_png(tmp_path / "IMG_0100.PNG", size, metadata)
    connector = FolderConnector(str(tmp_path))
    (asset,) = connector.list_assets()
    assert connector.probe(asset).screenshot is expected


def test_movie_dates_fall_back_from_key_to_udta_to_mvhd(tmp_path: Path) -> None:
    when = datetime(2024, 6, 1, 14, 3, 22, tzinfo=timezone(timedelta(hours=-4)))
    (tmp_path / "udta.MOV").write_bytes(make_quicktime(when, b"\x00" * 64, creation_key=False))
    (tmp_path / "mvhd.MOV").write_bytes(
        make_quicktime(when, b"\x00" * 64, creation_key=False, udta_date=False)
    )
    connector = FolderConnector(str(tmp_path))
    probed = {a.path: connector.probe(a).captured_at for a in connector.list_assets()}
    assert probed["udta.MOV"] == when
    assert probed["udta.MOV"].utcoffset() == timedelta(hours=-4)
    assert probed["mvhd.MOV"] == when
    assert probed["mvhd.MOV"].tzinfo == UTC


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("IMG_0100.JPG", lambda data: data[:2] + b"\xff\xe1\xff\xff" + b"\x00" * 40),
        ("IMG_0100.JPG", lambda data: b"not a jpeg at all"),
        ("IMG_0100.HEIC", lambda data: data[:120]),
        ("IMG_0100.MOV", lambda data: data[:8] + b"\x7f\xff\xff\xffmoov"),
        ("IMG_0100.PNG", lambda data: data[:30]),
        ("IMG_0100.JPG", lambda data: b""),
    ],
)
def test_corrupt_header_leaves_the_asset_unchanged(
    tmp_path: Path, name: str, damage: Callable[[bytes], bytes]
) -> None:
    source = next(i for i in _roll() if i.path.endswith(name.rsplit(".", 1)[1]))
    (tmp_path / name).write_bytes(damage(source.data))
    connector = FolderConnector(str(tmp_path))
    (asset,) = connector.list_assets()
    assert connector.probe(asset) == asset


def test_probe_leaves_other_files_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("2024-06-01T14:03:22+02:00")
    connector = FolderConnector(str(tmp_path))
    (asset,) = connector.list_assets()
    assert connector.probe(asset) == asset


# --- helpers ------------------------------------------------------------------------------------


def _unix_ns(when: datetime) -> int:
    return (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000


def _write_png(path: Path, size: tuple[int, int], metadata: str | None) -> None:
    """A flat PNG; ``metadata`` adds the iOS screenshot comment as EXIF or as XMP."""
    image = Image.new("RGB", size, (250, 250, 250))
    if metadata == "exif":
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9286] = b"ASCII\x00\x00\x00Screenshot"
        image.save(path, "PNG", exif=exif.tobytes())
    elif metadata == "xmp":
        info = PngImagePlugin.PngInfo()
        info.add_itxt(
            "XML:com.adobe.xmp",
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description><exif:UserComment>'
            '<rdf:Alt><rdf:li xml:lang="x-default">Screenshot</rdf:li></rdf:Alt>'
            "</exif:UserComment></rdf:Description></rdf:RDF></x:xmpmeta>",
        )
        image.save(path, "PNG", pnginfo=info)
    else:
        image.save(path, "PNG")


class _OpenWatch:
    """Linux inotify on some folders: which files in them were opened or read.

    The kernel reports every open, whoever does it, so this sees what listing really does without
    patching anything of ours. Events on the watched folders themselves (``scandir``) are ignored.
    """

    _IN_ACCESS, _IN_OPEN, _IN_ISDIR = 0x1, 0x20, 0x40000000

    def __init__(self, folders: list[Path]) -> None:
        if not sys.platform.startswith("linux"):
            pytest.skip("inotify is Linux-only")
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self._fd < 0:
            pytest.skip("inotify is not available here")
        for folder in folders:
            mask = self._IN_ACCESS | self._IN_OPEN
            if self._libc.inotify_add_watch(self._fd, os.fsencode(folder), mask) < 0:
                pytest.skip("cannot watch the test folder")

    def __enter__(self) -> _OpenWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self._fd)

    def opened_files(self) -> list[str]:
        names: list[str] = []
        for name, mask in self._events():
            if name and not mask & self._IN_ISDIR and name not in names:
                names.append(name)
        return names

    def _events(self) -> Iterator[tuple[str, int]]:
        while True:
            try:
                data = os.read(self._fd, 64 * 1024)
            except BlockingIOError:
                return
            position = 0
            while position < len(data):
                _, mask, _, length = struct.unpack_from("iIII", data, position)
                name = data[position + 16 : position + 16 + length].rstrip(b"\x00")
                yield os.fsdecode(name), mask
                position += 16 + length
