"""Thumbnails for the review page: small upright JPEGs made in memory, never a file, never the
photo's metadata, and nothing at all for bytes over the scan's bounds or not a picture."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from companion.cleanup.review import thumbs
from companion.cleanup.review.thumbs import thumbnail_of, too_large
from companion.model import Asset, AssetKind
from tests.review_support import picture

_WRITES: list[str] = []
_WATCHING = [False]
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _WATCHING[0] or event != "open":
        return
    path, mode, flags = args
    if (isinstance(mode, str) and set(mode) & set("wax+")) or (flags or 0) & _WRITE_FLAGS:
        _WRITES.append(str(path))


_HOOKED = [False]


@pytest.fixture
def no_file_written() -> Iterator[None]:
    """Fails the test if Python code opened a file for writing while it ran (what a decoder
    library does in its own C code is left to the review's no-pictures-on-disk test)."""
    if not _HOOKED[0]:
        sys.addaudithook(_audit)  # hooks cannot be removed: this one only looks while asked to
        _HOOKED[0] = True
    _WRITES.clear()
    _WATCHING[0] = True
    try:
        yield
    finally:
        _WATCHING[0] = False
    assert not _WRITES, f"files opened for writing: {_WRITES}"


def asset(name: str, kind: AssetKind = AssetKind.PHOTO, size: int = 1000) -> Asset:
    return Asset("folder:/photos", f"DCIM/{name}", size, 0, kind)


def opened(data: bytes | None) -> Image.Image:
    assert data is not None and data.startswith(b"\xff\xd8\xff")
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return image


@pytest.mark.parametrize(
    ("kind", "name"), [("JPEG", "a.JPG"), ("PNG", "b.PNG"), ("HEIF", "c.HEIC")]
)
def test_a_photo_becomes_a_small_jpeg_in_memory(
    kind: str, name: str, no_file_written: None
) -> None:
    made = opened(thumbnail_of(picture(kind, size=(1200, 800)), asset(name)))
    assert made.size == (320, 213)
    smaller = opened(thumbnail_of(picture(kind, size=(1200, 800)), asset(name), max_px=100))
    assert max(smaller.size) == 100


def test_the_thumbnail_is_upright_and_carries_no_metadata(no_file_written: None) -> None:
    image = Image.new("RGB", (400, 200), (10, 200, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # held on its side: shown turned a quarter clockwise
    exif[0x010F] = "Apple"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    made = opened(thumbnail_of(out.getvalue(), asset("d.JPG")))
    assert made.size[1] > made.size[0]
    assert not made.getexif() and "exif" not in made.info


def test_bytes_that_are_no_picture_give_none(no_file_written: None) -> None:
    assert thumbnail_of(b"", asset("e.JPG")) is None
    assert thumbnail_of(b"\xff\xd8\xff\xe0 not really", asset("f.JPG")) is None
    assert thumbnail_of(b"\x00\x00\x00\x18ftypqt  garbage", asset("g.MOV", AssetKind.VIDEO)) is None


def test_objects_over_the_scans_bounds_are_not_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    assert too_large(asset("h.MOV", AssetKind.VIDEO, 100_000_001))
    assert not too_large(asset("h.MOV", AssetKind.VIDEO, 100_000_000))
    assert too_large(asset("i.JPG", size=200_000_001))
    assert not too_large(asset("i.JPG", size=10), 1000)
    data = picture("JPEG")
    monkeypatch.setattr(thumbs, "MAX_IMAGE_BYTES", len(data) - 1)
    assert thumbnail_of(data, asset("j.JPG", size=10)) is None  # the bytes count, not the listing


def test_a_video_shows_its_first_keyframe(no_file_written: None) -> None:
    av = pytest.importorskip("av", reason="video frames need PyAV (the scan extra)")
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for shade in range(0, 200, 20):
            frame = av.VideoFrame.from_image(Image.new("RGB", (640, 360), (shade, 60, 90)))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    made = opened(thumbnail_of(out.getvalue(), asset("k.MOV", AssetKind.VIDEO)))
    assert made.size == (320, 180)
