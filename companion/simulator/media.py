"""A deterministic, iPhone-like camera roll made from a seed.

``generate_camera_roll(seed)`` returns the files a phone keeps under ``/var/mobile/Media``; every
byte and every timestamp comes from ``random.Random(seed)``, so the same seed gives the same roll.
Each roll holds, in this order:

- ``DCIM/100APPLE/IMG_0001.JPG``: a JPEG photo with EXIF and a GPS position;
- ``IMG_0002.HEIC``: a HEIC photo; ``IMG_0003.PNG``: a screenshot at a real iPhone screen size;
- ``IMG_0004.MOV``: a QuickTime video;
- ``IMG_0005.HEIC`` + ``IMG_0005.MOV``: a Live Photo (same stem);
- ``IMG_0006.JPG``; ``IMG_0007.JPG`` + ``IMG_E0007.JPG`` (its edited render) + ``IMG_0007.AAE``
  (the edit recipe, an XML plist);
- fillers (photos, videos, screenshots) in ``100APPLE`` and then ``101APPLE``, which starts again
  at ``IMG_0001.JPG`` as a phone does after 9999 pictures: the same name in two folders.

Capture times move forward in UTC and are written with varying UTC offsets (a traveller's roll):
EXIF ``DateTimeOriginal`` + ``OffsetTimeOriginal``, QuickTime ``mvhd`` (UTC seconds since 1904),
``com.apple.quicktime.creationdate`` and ``udta/©day`` (ISO 8601 with an offset, as iOS writes;
movies come from ``companion.simulator.quicktime``). Images are small so that a roll of 24 files
takes about a second to make. This is the layout of a camera import (edits as ``IMG_E`` files and
``.AAE`` sidecars); the phone's own layout is ``companion.simulator.roll``'s, which draws its
pixels and metadata with the helpers here (``photo_pixels``, ``exif_bytes``, ``jpeg_bytes``,
``heic_bytes`` with an embedded thumbnail, ``png_bytes``).
"""

from __future__ import annotations

import io
import os
import plistlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from random import Random
from typing import Literal

from PIL import Image, ImageDraw

from companion.simulator.quicktime import make_quicktime

MediaKind = Literal["photo", "video", "sidecar"]

MIN_COUNT = 11
"""The smallest roll that still holds every case listed in the module docstring."""

MAKE = "Apple"
MODEL = "iPhone 15"
SOFTWARE = "17.5.1"

# Real iPhone screen sizes in pixels; the two smallest keep PNG encoding fast. The connector keeps
# its own list: the phone does not read our code.
_SCREEN_SIZES = ((640, 1136), (750, 1334))
_HOME_OFFSETS_MIN = (60, 120, -300, 0, 330, -420, 540)
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class MediaItem:
    """One file of the roll: where it lives, its bytes, and the facts a test may check.

    ``path`` is POSIX and relative to the media root (``DCIM/100APPLE/IMG_0001.JPG``).
    ``captured_at`` is aware; it is what the file's own metadata says (an ``.AAE`` has none: its
    time is the edit's). ``live_group`` is the shared ``DCIM/<folder>/<stem>`` of a Live Photo's
    two halves; ``edited_of`` and ``sidecar_of`` name the original's path.
    """

    path: str
    data: bytes = field(repr=False)
    captured_at: datetime
    kind: MediaKind
    screenshot: bool = False
    live_group: str | None = None
    edited_of: str | None = None
    sidecar_of: str | None = None
    gps: tuple[float, float] | None = None


def generate_camera_roll(
    seed: int, count: int = 24, image_size: tuple[int, int] = (640, 480)
) -> list[MediaItem]:
    """Make ``count`` files (at least ``MIN_COUNT``) of a camera roll, the same for the same seed.

    ``image_size`` is the JPEG photo size; HEIC photos are half as wide and high because HEIC
    encoding is slow. Raises ``ValueError`` if ``count`` is below ``MIN_COUNT``.
    """
    if count < MIN_COUNT:
        raise ValueError(f"a camera roll needs at least {MIN_COUNT} files, not {count}")
    # Not for secrets: a seeded generator is the point, the roll must repeat exactly.
    roll = _Roll(Random(seed), image_size)
    items = [
        *roll.photo("100APPLE", 1, "JPG", with_gps=True),
        *roll.photo("100APPLE", 2, "HEIC"),
        *roll.screenshot("100APPLE", 3),
        *roll.video("100APPLE", 4),
        *roll.live_photo("100APPLE", 5),
        *roll.photo("100APPLE", 6, "JPG"),
        *roll.edited_photo("100APPLE", 7),
    ]
    fillers = count - len(items) - 1  # one slot is kept for 101APPLE/IMG_0001.JPG
    first_folder = fillers // 2 + fillers % 2
    items += [roll.filler("100APPLE", 8 + i) for i in range(first_folder)]
    items += roll.photo("101APPLE", 1, "JPG", with_gps=True)
    items += [roll.filler("101APPLE", 2 + i) for i in range(fillers - first_folder)]
    return items


def write_camera_roll(items: Iterable[MediaItem], root: Path) -> None:
    """Write each item under ``root`` and set the file's mtime to its capture time.

    Refuses (``ValueError``) an item whose path is absolute or climbs out of ``root``.
    """
    for item in items:
        relative = PurePosixPath(item.path)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise ValueError(f"refusing to write outside the root: {item.path!r}")
        target = root.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(item.data)
        stamp = unix_ns(item.captured_at)
        os.utime(target, ns=(stamp, stamp))


class _Roll:
    """The phone while it shoots: one random source, one clock moving forward."""

    def __init__(self, rng: Random, image_size: tuple[int, int]) -> None:
        self.rng = rng
        self.size = image_size
        self.heic_size = (max(16, image_size[0] // 2), max(16, image_size[1] // 2))
        self.home_offset = rng.choice(_HOME_OFFSETS_MIN)
        self.clock = datetime(
            2022 + rng.randrange(4), rng.randint(1, 12), rng.randint(1, 28), tzinfo=UTC
        ) + timedelta(seconds=rng.randrange(86400))

    def tick(self) -> datetime:
        """The next capture time: later in UTC, shown in the home or a travel offset."""
        self.clock += timedelta(seconds=self.rng.randint(30, 2 * 86400))
        offset = self.home_offset
        if self.rng.random() < 0.25:
            offset = self.rng.choice(_HOME_OFFSETS_MIN)
        return self.clock.astimezone(timezone(timedelta(minutes=offset)))

    def photo(self, folder: str, number: int, ext: str, with_gps: bool = False) -> list[MediaItem]:
        when = self.tick()
        gps = self._position() if with_gps or self.rng.random() < 0.4 else None
        exif = exif_bytes(when, gps=gps)
        path = f"DCIM/{folder}/IMG_{number:04d}.{ext}"
        if ext == "HEIC":
            data = heic_bytes(photo_pixels(self.rng, self.heic_size), exif)
        else:
            data = jpeg_bytes(photo_pixels(self.rng, self.size), exif)
        return [MediaItem(path, data, when, "photo", gps=gps)]

    def screenshot(self, folder: str, number: int) -> list[MediaItem]:
        when = self.tick()
        image = screen_pixels(self.rng, self.rng.choice(_SCREEN_SIZES))
        buffer = io.BytesIO()
        image.save(buffer, "PNG", exif=exif_bytes(when, gps=None, comment="Screenshot"))
        path = f"DCIM/{folder}/IMG_{number:04d}.PNG"
        return [MediaItem(path, buffer.getvalue(), when, "photo", screenshot=True)]

    def video(self, folder: str, number: int) -> list[MediaItem]:
        when = self.tick()
        payload = self.rng.randbytes(self.rng.randint(24, 64) * 1024)
        data = make_quicktime(when, payload, duration_s=self.rng.randint(2, 30), model=MODEL)
        return [MediaItem(f"DCIM/{folder}/IMG_{number:04d}.MOV", data, when, "video")]

    def live_photo(self, folder: str, number: int) -> list[MediaItem]:
        """A HEIC and a short MOV with the same stem and the same capture time."""
        (still,) = self.photo(folder, number, "HEIC")
        when = still.captured_at
        payload = self.rng.randbytes(self.rng.randint(8, 16) * 1024)
        # iOS tags a Live Photo's movie through mdta keys, not udta.
        movie = make_quicktime(when, payload, udta_date=False, duration_s=1.5, model=MODEL)
        group = f"DCIM/{folder}/IMG_{number:04d}"
        return [
            MediaItem(still.path, still.data, when, "photo", live_group=group, gps=still.gps),
            MediaItem(f"{group}.MOV", movie, when, "video", live_group=group),
        ]

    def edited_photo(self, folder: str, number: int) -> list[MediaItem]:
        """An original JPEG, its edited render ``IMG_E####.JPG`` and the ``.AAE`` recipe."""
        when = self.tick()
        original = photo_pixels(self.rng, self.size)
        exif = exif_bytes(when, gps=None)
        stem = f"DCIM/{folder}/IMG_{number:04d}"
        edited = edit_image(original)
        edit_time = when + timedelta(minutes=self.rng.randint(1, 600))
        recipe = {
            "adjustmentBaseVersion": 0,
            "adjustmentData": self.rng.randbytes(self.rng.randint(200, 600)),
            "adjustmentEditorBundleID": "com.apple.mobileslideshow",
            "adjustmentFormatIdentifier": "com.apple.photo",
            "adjustmentFormatVersion": "1.5",
            # plistlib writes naive datetimes as UTC, which is what the key means.
            "adjustmentTimestamp": edit_time.astimezone(UTC).replace(tzinfo=None),
        }
        aae = plistlib.dumps(recipe, fmt=plistlib.FMT_XML)
        return [
            MediaItem(f"{stem}.JPG", jpeg_bytes(original, exif), when, "photo"),
            MediaItem(
                f"DCIM/{folder}/IMG_E{number:04d}.JPG",
                jpeg_bytes(edited, exif),
                when,
                "photo",
                edited_of=f"{stem}.JPG",
            ),
            MediaItem(f"{stem}.AAE", aae, edit_time, "sidecar", sidecar_of=f"{stem}.JPG"),
        ]

    def filler(self, folder: str, number: int) -> MediaItem:
        """One single-file item, mostly JPEG photos, as on most phones."""
        pick = self.rng.random()
        if pick < 0.6:
            (item,) = self.photo(folder, number, "JPG")
        elif pick < 0.7:
            (item,) = self.photo(folder, number, "HEIC")
        elif pick < 0.85:
            (item,) = self.video(folder, number)
        else:
            (item,) = self.screenshot(folder, number)
        return item

    def _position(self) -> tuple[float, float]:
        return round(self.rng.uniform(-55, 70), 6), round(self.rng.uniform(-180, 180), 6)


def photo_pixels(rng: Random, size: tuple[int, int]) -> Image.Image:
    """Gradient sky, soft blobs and sensor noise: compresses like a photo, not like a blank."""
    width, height = size
    top = Image.new("RGB", size, _colour(rng))
    bottom = Image.new("RGB", size, _colour(rng))
    base = Image.composite(top, bottom, Image.linear_gradient("L").resize(size))
    blobs = Image.frombytes("RGB", (8, 6), rng.randbytes(8 * 6 * 3))
    blobs = blobs.resize(size, Image.Resampling.BICUBIC)
    noise = Image.frombytes("RGB", size, rng.randbytes(width * height * 3))
    return Image.blend(Image.blend(base, blobs, 0.35), noise, 0.08)


def screen_pixels(rng: Random, size: tuple[int, int]) -> Image.Image:
    """Flat UI blocks and lines of 'text': compresses like a screenshot."""
    width, height = size
    image = Image.new("RGB", size, (242, 242, 247))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, height // 18), fill=_colour(rng))
    y = height // 12
    while y < height - 40:
        block = rng.randint(40, 160)
        draw.rounded_rectangle((16, y, width - 16, y + block), radius=12, fill=(255, 255, 255))
        for line in range(y + 14, y + block - 10, 18):
            draw.rectangle((32, line, 32 + rng.randint(60, width - 80), line + 8), fill=(40,) * 3)
        y += block + rng.randint(12, 40)
    return image


def edit_image(image: Image.Image) -> Image.Image:
    """What a quick edit does: crop a little, then brighten."""
    width, height = image.size
    cropped = image.crop((width // 10, height // 10, width - width // 10, height - height // 10))
    return Image.eval(cropped.resize(image.size), lambda value: min(255, value + 24))


def _colour(rng: Random) -> tuple[int, int, int]:
    return rng.randrange(256), rng.randrange(256), rng.randrange(256)


def exif_bytes(
    when: datetime,
    gps: tuple[float, float] | None,
    comment: str | None = None,
    model: str = MODEL,
) -> bytes:
    """EXIF as an iPhone writes it: local time in DateTimeOriginal, its offset beside it."""
    exif = Image.Exif()
    local = when.strftime("%Y:%m:%d %H:%M:%S")
    offset = _offset_text(when)
    if comment is None:
        exif[0x010F] = MAKE
        exif[0x0110] = model
        exif[0x0131] = SOFTWARE
    exif[0x0132] = local  # DateTime
    sub = exif.get_ifd(0x8769)  # the Exif IFD
    sub.update({0x9003: local, 0x9004: local, 0x9010: offset, 0x9011: offset, 0x9012: offset})
    if comment is not None:
        # UserComment is UNDEFINED: an 8-byte charset prefix, then the text.
        sub[0x9286] = b"ASCII\x00\x00\x00" + comment.encode("ascii")
    if gps is not None:
        utc = when.astimezone(UTC)
        exif.get_ifd(0x8825).update(
            {
                1: "N" if gps[0] >= 0 else "S",
                2: _dms(gps[0]),
                3: "E" if gps[1] >= 0 else "W",
                4: _dms(gps[1]),
                7: (float(utc.hour), float(utc.minute), float(utc.second)),
                29: utc.strftime("%Y:%m:%d"),
            }
        )
    return exif.tobytes()


def _dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 2)


def jpeg_bytes(image: Image.Image, exif: bytes) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88, exif=exif)
    return buffer.getvalue()


def png_bytes(image: Image.Image, exif: bytes) -> bytes:
    """A screenshot's PNG; light compression, since a phone-sized PNG is slow to squeeze."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG", exif=exif, compress_level=1)
    return buffer.getvalue()


def heic_bytes(
    image: Image.Image, exif: bytes, *, thumbnail: int | None = None, fast: bool = False
) -> bytes:
    """HEIC bytes; ``thumbnail`` embeds a preview that long on its long side, as iPhones do.

    ``fast`` selects x265's ultrafast preset: ten times quicker, still a valid HEVC stream.
    Both default off so that rolls made before they existed keep their exact bytes.
    """
    import pillow_heif

    # Registering is idempotent; done here so that importing this module stays cheap.
    pillow_heif.register_heif_opener()
    options: dict[str, object] = {}
    if thumbnail is not None:
        options["thumbnails"] = [thumbnail]
    if fast:
        options["enc_params"] = {"preset": "ultrafast"}
    buffer = io.BytesIO()
    image.save(buffer, "HEIF", quality=60, exif=exif, **options)
    return buffer.getvalue()


def _offset_text(when: datetime) -> str:
    """``+02:00`` for an aware datetime, as EXIF's OffsetTime tags spell it."""
    offset = when.utcoffset()
    if offset is None:
        raise ValueError("capture times must be aware")
    minutes = int(offset.total_seconds()) // 60
    hours, rest = divmod(abs(minutes), 60)
    return f"{'-' if minutes < 0 else '+'}{hours:02d}:{rest:02d}"


def unix_ns(when: datetime) -> int:
    """Exact nanoseconds since 1970 (float seconds would round away microseconds)."""
    return (when - _UNIX_EPOCH) // timedelta(microseconds=1) * 1000
