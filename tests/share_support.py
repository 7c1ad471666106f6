"""Pictures and movies with every trace a phone leaves, for the share tests: the simulated
iPhone's files carry EXIF, GPS and QuickTime keys; these add what it does not write (maker notes
with an asset id, serial numbers, a lens, XMP, IPTC, a comment, an embedded thumbnail, a Display
P3 profile, QuickTime ``©xyz`` and ``mdta`` location atoms), and read what exiftool finds."""

from __future__ import annotations

import io
import json
import struct
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from random import Random

from PIL import Image

from companion.simulator.media import exif_bytes, heic_bytes, photo_pixels, screen_pixels

EXIFTOOL = "/usr/bin/exiftool"
WHEN = datetime(2024, 6, 1, 12, 3, 22, tzinfo=UTC)
PLACE = (48.8584, 2.2945)

# Tags a clean copy must not carry, by name (any group), and groups it must not have at all.
FORBIDDEN_NAMES = (
    "GPS",
    "SerialNumber",
    "MakerNote",
    "Make",
    "Model",
    "LensModel",
    "LensMake",
    "Software",
    "ThumbnailImage",
    "ThumbnailOffset",
    "PreviewImage",
    "DateTimeOriginal",
    "ContentIdentifier",
    "Location",
    "Comment",
    "UserComment",
    "By-line",
    "Creator",
    "Encoder",
)
FORBIDDEN_GROUPS = ("GPS", "XMP", "IPTC", "MakerNotes", "Apple", "Keys", "UserData", "ItemList")
_ZERO_DATE = "0000:00:00 00:00:00"


def _apple_maker_note() -> bytes:
    """An Apple maker note as iOS starts it (``Apple iOS``, version, ``MM``) holding one tag."""
    entries = struct.pack(">HHHIHH", 1, 0x0001, 3, 1, 14, 0) + struct.pack(">I", 0)
    return b"Apple iOS\x00\x00\x01MM" + entries


def dirty_exif(*, orientation: int | None = None) -> bytes:
    """The simulator's iPhone EXIF (make, model, software, dates, GPS) plus a serial number, a
    lens and Apple maker notes; ``orientation`` if given."""
    exif = Image.Exif()
    exif.load(exif_bytes(WHEN, gps=PLACE))
    sub = exif.get_ifd(0x8769)
    sub[0xA431] = "C39XK0LSJC67"  # BodySerialNumber
    sub[0xA433] = "Apple"  # LensMake
    sub[0xA434] = "iPhone 15 back camera 6.86mm f/1.78"  # LensModel
    sub[0x927C] = _apple_maker_note()
    if orientation is not None:
        exif[0x0112] = orientation
    return exif.tobytes()


def _exiftool_add(path: Path, *, thumbnail: bool) -> None:
    """XMP (a creator, a place), IPTC (a by-line, a city), a comment, and a thumbnail."""
    args = [
        EXIFTOOL,
        "-q",
        "-overwrite_original",
        "-XMP-dc:Creator=Jo Example",
        "-XMP-exif:GPSLatitude=48.8584",
        "-XMP-exif:GPSLongitude=2.2945",
        "-XMP-photoshop:City=Paris",
    ]
    if path.suffix.lower() in (".jpg", ".jpeg"):
        args += ["-IPTC:By-line=Jo Example", "-IPTC:City=Paris", "-Comment=shot by Jo"]
    if thumbnail:
        thumb = path.with_name(path.name + ".thumb.jpg")
        Image.new("RGB", (32, 24), (200, 10, 10)).save(thumb, "JPEG")
        args.append(f"-ThumbnailImage<={thumb}")
    subprocess.run([*args, str(path)], check=True, capture_output=True)
    if thumbnail:
        thumb.unlink()


def dirty_jpeg(path: Path, *, seed: int = 1, size: tuple[int, int] = (96, 64), **kw: int) -> Path:
    """A small JPEG with every trace (module docstring)."""
    buffer = io.BytesIO()
    photo_pixels(Random(seed), size).save(buffer, "JPEG", quality=85, exif=dirty_exif(**kw))
    path.write_bytes(buffer.getvalue())
    _exiftool_add(path, thumbnail=True)
    return path


def dirty_png(path: Path, *, seed: int = 1) -> Path:
    """A small screenshot PNG with EXIF (dates, a comment), text chunks and XMP."""
    image = screen_pixels(Random(seed), (160, 240))
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jo Example")
    info.add_itxt("Description", "my flat, 3rd floor")
    image.save(path, "PNG", exif=dirty_exif(), pnginfo=info)
    _exiftool_add(path, thumbnail=False)
    return path


def dirty_heic(path: Path, *, seed: int = 1) -> Path:
    """A small HEIC with the EXIF above, XMP and an embedded thumbnail, as iPhones write."""
    image = photo_pixels(Random(seed), (64, 48))
    path.write_bytes(heic_bytes(image, dirty_exif(), thumbnail=32, fast=True))
    _exiftool_add(path, thumbnail=False)
    return path


def dirty_mov(path: Path, *, frames: int = 6) -> Path:
    """A real (decodable) QuickTime movie with an iPhone's location, device and date keys
    (``mdta``), and a ``moov/udta`` with ``©xyz``, ``©mak``, ``©mod``, ``©swr`` and ``©day``."""
    import av
    import numpy as np

    with av.open(str(path), "w", format="mov", options={"movflags": "use_metadata_tags"}) as out:
        out.metadata.update(
            {
                "com.apple.quicktime.location.ISO6709": "+48.8584+002.2945+035.000/",
                "com.apple.quicktime.make": "Apple",
                "com.apple.quicktime.model": "iPhone 15",
                "com.apple.quicktime.software": "17.5.1",
                "com.apple.quicktime.creationdate": "2024-06-01T14:03:22+0200",
                "creation_time": "2024-06-01T12:03:22Z",
            }
        )
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(frames):
            pixels = np.full((32, 32, 3), i * 30, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    _add_udta(path)
    return path


def _atom(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _add_udta(path: Path) -> None:
    """Append a ``udta`` to the ``moov`` atom (last in the file, as FFmpeg writes it, so no
    chunk offset moves)."""
    data = path.read_bytes()
    pos = 0
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"moov":
            break
        pos += size
    assert kind == b"moov" and pos + size == len(data), "moov must be the last atom"
    texts = {
        b"\xa9xyz": b"+48.8584+002.2945/",
        b"\xa9mak": b"Apple",
        b"\xa9mod": b"iPhone 15",
        b"\xa9swr": b"17.5.1",
        b"\xa9day": b"2024-06-01T14:03:22+0200",
    }
    udta = _atom(
        b"udta",
        b"".join(_atom(k, struct.pack(">HH", len(v), 0x55C4) + v) for k, v in texts.items()),
    )
    moov = data[pos:] + udta
    path.write_bytes(data[:pos] + struct.pack(">I", len(moov)) + moov[4:])


def exiftool(path: Path) -> dict[str, object]:
    """Every tag exiftool finds, ``Group:Name`` -> value (``-j -G1 -a``)."""
    done = subprocess.run(
        [EXIFTOOL, "-j", "-G1", "-a", "-n", str(path)], check=True, capture_output=True, text=True
    )
    found: dict[str, object] = json.loads(done.stdout)[0]
    return found


def traces(path: Path) -> list[str]:
    """The tags of ``path`` a clean copy must not have (empty: clean)."""
    left = []
    for key, value in exiftool(path).items():
        group, _, name = key.partition(":")
        if group in ("System", "File", "ExifTool", "Composite") or value == _ZERO_DATE:
            continue
        named = any(word in name for word in FORBIDDEN_NAMES) or "Date" in name
        if group.startswith(FORBIDDEN_GROUPS) or named:
            left.append(f"{key}={value}")
    return left
