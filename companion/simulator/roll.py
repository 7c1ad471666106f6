"""What the simulated iPhone's camera shot: one ``Take`` per Photos asset, in capture order.

A take pairs the asset's facts (``Shot``, small, kept for Photos.sqlite) with its files' contents
(dropped once written, so a large phone never sits in memory; big movies are ``Movie`` recipes
that stream). The layout is the phone's own, not a camera-import folder's:

- originals in ``DCIM/1xxAPPLE/IMG_nnnn.EXT``. File numbers run on across folders and a folder
  holds one thousand numbers: ``100APPLE`` has IMG_0001-0999, ``101APPLE`` IMG_1000-1999 and so
  on, as commonly reported for recent iOS; after IMG_9999 numbering restarts at IMG_0001 in the
  next folder. A few numbers are skipped (shots deleted and purged long ago). A Live Photo's
  HEIC and MOV share one number, so a folder holds a little over a thousand files at most;
- an edit never adds an ``IMG_E`` file to DCIM: the render and its recipe live under
  ``PhotoData/Mutations/DCIM/<folder>/IMG_nnnn/Adjustments/`` (``FullSizeRender.jpg`` or
  ``.mov`` and ``Adjustments.plist``), and the original stays untouched;
- photos taken on another device and kept here by iCloud Photos live in
  ``PhotoData/CPLAssets/groupN/<UUID>.JPG`` (their edits under
  ``PhotoData/Mutations/PhotoData/CPLAssets/...``), and the library's ``ZDIRECTORY`` says so.

Home is Europe/Paris (daylight saving computed here, so no tz database is needed); one shot in
four is taken while travelling, in another offset. Ordinary GPS tags stay at least 2 km from
``planted.HOME`` so that only the planted private-place photo is "at home".
"""

from __future__ import annotations

import math
import plistlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from random import Random
from typing import BinaryIO, Literal

from companion.simulator import media, planted
from companion.simulator.quicktime import make_quicktime, write_quicktime

PHONE_MODEL = "iPhone 14 Pro"  # what ProductType iPhone15,2 writes in EXIF and QuickTime
MIN_PHONE_COUNT = 24
"""The fewest assets that still hold every case: the opening shots, planted ones, flags."""

_OPENING = (
    "jpg_gps",
    "heic",
    "screenshot",
    "video",
    "live",
    "jpg",
    "edit_photo",
    "edit_video",
    "icloud_photo",  # taken on another device, kept on this one by iCloud Photos
    "icloud_edit",
)
_ICLOUD = ("icloud_photo", "icloud_edit")
_PLANTED = tuple(planted.Planted)
_PHONE_SCREEN = (1179, 2556)  # iPhone 14 Pro
_TRAVEL_OFFSETS_MIN = (-300, -240, 0, 180, 330, 540, 600)
_UTI = {
    "JPG": "public.jpeg",
    "HEIC": "public.heic",
    "PNG": "public.png",
    "MOV": "com.apple.quicktime-movie",
}
_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Preset:
    """How big a phone is: asset count, pixel sizes, movie payloads, the mix of kinds."""

    count: int
    photo_size: tuple[int, int]
    heic_size: tuple[int, int]  # HEIC encoding is slow: kept small even on a large phone
    screen_size: tuple[int, int]
    video_kib: tuple[int, int]
    big_videos: int = 0
    big_video_mib: tuple[int, int] = (0, 0)
    mix: tuple[float, float, float, float] = (0.45, 0.65, 0.75, 0.85)  # JPG, HEIC, live, MOV


@dataclass(frozen=True, slots=True)
class Movie:
    """A QuickTime movie to stream: its payload is ``payload_size`` bytes drawn from ``seed``."""

    captured_at: datetime
    payload_size: int
    seed: int
    duration_s: float
    live: bool = False

    def write(self, out: BinaryIO) -> int:
        return write_quicktime(
            out,
            self.captured_at,
            _random_chunks(self.seed, self.payload_size),
            self.payload_size,
            duration_s=self.duration_s,
            model=PHONE_MODEL,
            udta_date=not self.live,  # iOS tags a Live Photo's movie through mdta keys only
        )


@dataclass(frozen=True, slots=True)
class ShotFile:
    """One file of an asset: media-root-relative path, Photos resource type and version."""

    path: str
    resource_type: int  # 0 photo, 1 video, 3 Live Photo video
    version: int  # 0 original, 2 current (the edited render)


@dataclass(frozen=True, slots=True)
class Shot:
    """One Photos asset as the library records it."""

    folder: str
    filename: str
    kind: Literal[0, 1]  # 0 photo, 1 video
    subtype: Literal[0, 2, 10]  # 0 normal, 2 Live Photo, 10 screenshot
    captured_at: datetime
    size: tuple[int, int]
    gps: tuple[float, float] | None
    files: tuple[ShotFile, ...]
    duration_s: float = 0.0
    edited_at: datetime | None = None
    planted: str | None = None

    @property
    def uti(self) -> str:
        return _UTI[self.filename.rsplit(".", 1)[1]]

    @property
    def path(self) -> str:
        return f"{directory(self.folder)}/{self.filename}"

    @property
    def directory(self) -> str:
        return directory(self.folder)


@dataclass(frozen=True, slots=True)
class Take:
    """A shot and its files' contents, keyed by path: bytes, or a ``Movie`` to stream."""

    shot: Shot
    contents: tuple[tuple[str, bytes | Movie, datetime], ...]


def shoot(seed: int, preset: Preset) -> Iterator[Take]:
    """The phone's takes in capture order, the same for the same seed and preset.

    The last three takes are ordinary photos or videos (the library keeps them in its WAL).
    Raises ``ValueError`` below ``MIN_PHONE_COUNT`` assets.
    """
    if preset.count < MIN_PHONE_COUNT:
        raise ValueError(f"a phone needs at least {MIN_PHONE_COUNT} assets, not {preset.count}")
    # Not for secrets: a seeded generator is the point, the phone must repeat exactly.
    camera = _Camera(Random(seed), preset)
    for plan in _script(Random(seed + 1), preset):
        yield camera.take(plan)


def _script(rng: Random, preset: Preset) -> list[str]:
    """Which kind of shot each asset is: the opening, then fillers with planted ones among them."""
    fillers = preset.count - len(_OPENING) - len(_PLANTED)
    plan = [*_OPENING, *(_filler_kind(rng, preset) for _ in range(fillers))]
    for slot in rng.sample(range(len(_OPENING), len(plan) - 3), preset.big_videos):
        plan[slot] = "big_video"
    slots = rng.sample(range(len(_OPENING), len(plan) - 3), len(_PLANTED))
    for slot, label in sorted(zip(slots, _PLANTED, strict=True)):
        plan.insert(slot, label.value)
    return plan


def _filler_kind(rng: Random, preset: Preset) -> str:
    pick = rng.random()
    jpg, heic, live, video = preset.mix
    if pick < jpg:
        return "jpg"
    if pick < heic:
        return "heic"
    if pick < live:
        return "live"
    return "video" if pick < video else "screenshot"


class _Camera:
    """The phone while it shoots: one random source, one clock, one file counter."""

    def __init__(self, rng: Random, preset: Preset) -> None:
        self.rng, self.preset = rng, preset
        self.number, self.wraps = 0, 0
        self.clock = datetime(2022, 3, 1, tzinfo=UTC) + timedelta(
            seconds=rng.randrange(300 * 86400)
        )
        self.mean_gap = 800 * 86400 / preset.count  # about two years of pictures, any count

    def take(self, plan: str) -> Take:
        when = self._tick()
        if plan in _ICLOUD:  # no IMG_ number: iCloud names the file by the asset's UUID
            folder = f"PhotoData/CPLAssets/group{self.rng.randint(1, 400)}"
            filename = f"{_uuid(self.rng)}.JPG"
            return self._photo(folder, filename, when, plan)
        folder, filename = self._next_name(plan)
        if plan in ("video", "edit_video", "big_video"):
            big, edited = plan == "big_video", plan == "edit_video"
            return self._video(folder, filename, when, big=big, edited=edited)
        if plan in ("screenshot", "payment_card", "secret_qr", "credentials"):
            return self._screenshot(folder, filename, when, plan)
        if plan == "live":
            return self._live(folder, filename, when)
        return self._photo(folder, filename, when, plan)

    def _next_name(self, plan: str) -> tuple[str, str]:
        self.number += 2 if self.rng.random() < 0.03 else 1
        if self.number > 9999:
            self.number, self.wraps = 1, self.wraps + 1
        folder = folder_for(self.number, self.wraps)
        ext = {"heic": "HEIC", "live": "HEIC"}.get(plan, "JPG")
        if plan in ("video", "edit_video", "big_video"):
            ext = "MOV"
        if plan in ("screenshot", "payment_card", "secret_qr", "credentials"):
            ext = "PNG"
        return folder, f"IMG_{self.number:04d}.{ext}"

    def _tick(self) -> datetime:
        self.clock += timedelta(seconds=self.mean_gap * self.rng.uniform(0.1, 1.9))
        if self.rng.random() < 0.25:
            offset = timedelta(minutes=self.rng.choice(_TRAVEL_OFFSETS_MIN))
        else:
            offset = _paris_offset(self.clock)
        return self.clock.astimezone(timezone(offset))

    def _photo(self, folder: str, filename: str, when: datetime, plan: str) -> Take:
        gps = planted.HOME if plan == "private_place" else self._position(plan == "jpg_gps")
        heic = filename.endswith(".HEIC")
        size = self.preset.heic_size if heic else self.preset.photo_size
        pixels = media.photo_pixels(self.rng, size)
        exif = media.exif_bytes(when, gps=gps, model=PHONE_MODEL)
        if heic:
            data = media.heic_bytes(pixels, exif, thumbnail=320, fast=True)
        else:
            data = media.jpeg_bytes(pixels, exif)
        path = f"{directory(folder)}/{filename}"
        files = [ShotFile(path, 0, 0)]
        contents: list[tuple[str, bytes | Movie, datetime]] = [(path, data, when)]
        edited_at = None
        if plan in ("edit_photo", "icloud_edit"):
            edited_at = when + timedelta(minutes=self.rng.randint(1, 600))
            render = _mutation(folder, filename, "FullSizeRender.jpg")
            files.append(ShotFile(render, 0, 2))
            contents.append((render, media.jpeg_bytes(media.edit_image(pixels), exif), edited_at))
            contents.append(self._adjustments(folder, filename, edited_at, "com.apple.photo"))
        label = plan if plan == "private_place" else None
        shot = Shot(folder, filename, 0, 0, when, size, gps, tuple(files), 0.0, edited_at, label)
        return Take(shot, tuple(contents))

    def _screenshot(self, folder: str, filename: str, when: datetime, plan: str) -> Take:
        drawers = {
            "payment_card": planted.payment_card,
            "secret_qr": planted.secret_qr,
            "credentials": planted.recovery_words,
        }
        if plan in drawers:
            size, image = _PHONE_SCREEN, drawers[plan](_PHONE_SCREEN)
        else:
            size = self.preset.screen_size
            image = media.screen_pixels(self.rng, size)
        exif = media.exif_bytes(when, gps=None, comment="Screenshot")
        data = media.png_bytes(image, exif)
        path = f"{directory(folder)}/{filename}"
        label = plan if plan in drawers else None
        shot = Shot(
            folder, filename, 0, 10, when, size, None, (ShotFile(path, 0, 0),), 0.0, None, label
        )
        return Take(shot, ((path, data, when),))

    def _live(self, folder: str, filename: str, when: datetime) -> Take:
        still = self._photo(folder, filename, when, "heic")
        movie_path = f"{directory(folder)}/{filename[:-5]}.MOV"
        payload = self.rng.randint(*self.preset.video_kib) * 256  # a Live Photo's ~3 s clip
        movie = Movie(when, payload, self.rng.getrandbits(64), 2.8, live=True)
        files = (*still.shot.files, ShotFile(movie_path, 3, 0))
        shot = Shot(folder, filename, 0, 2, when, still.shot.size, still.shot.gps, files)
        return Take(shot, (*still.contents, (movie_path, movie, when)))

    def _video(
        self, folder: str, filename: str, when: datetime, *, big: bool, edited: bool
    ) -> Take:
        if big:
            payload = self.rng.randint(*self.preset.big_video_mib) * _MIB
        else:
            payload = self.rng.randint(*self.preset.video_kib) * 1024
        duration = float(self.rng.randint(2, 90))
        path = f"{directory(folder)}/{filename}"
        movie = Movie(when, payload, self.rng.getrandbits(64), duration)
        files = [ShotFile(path, 1, 0)]
        contents: list[tuple[str, bytes | Movie, datetime]] = [(path, movie, when)]
        edited_at = None
        if edited:
            edited_at = when + timedelta(minutes=self.rng.randint(1, 600))
            trimmed = self.rng.randbytes(max(1024, payload // 2 // 1024 * 1024))
            render = _mutation(folder, filename, "FullSizeRender.mov")
            data = make_quicktime(edited_at, trimmed, duration_s=duration / 2, model=PHONE_MODEL)
            files.append(ShotFile(render, 1, 2))
            contents.append((render, data, edited_at))
            contents.append(self._adjustments(folder, filename, edited_at, "com.apple.video"))
        shot = Shot(
            folder,
            filename,
            1,
            0,
            when,
            (1920, 1080),
            self._position(False),
            tuple(files),
            duration,
            edited_at,
        )
        return Take(shot, tuple(contents))

    def _adjustments(
        self, folder: str, filename: str, edited_at: datetime, format_id: str
    ) -> tuple[str, bytes, datetime]:
        """The edit recipe iOS keeps beside a render (what a camera import calls an .AAE)."""
        recipe = {
            "adjustmentBaseVersion": 0,
            "adjustmentData": self.rng.randbytes(self.rng.randint(200, 600)),
            "adjustmentEditorBundleID": "com.apple.mobileslideshow",
            "adjustmentFormatIdentifier": format_id,
            "adjustmentFormatVersion": "1.5",
            # plistlib writes naive datetimes as UTC, which is what the key means.
            "adjustmentTimestamp": edited_at.astimezone(UTC).replace(tzinfo=None),
        }
        path = _mutation(folder, filename, "Adjustments.plist")
        return path, plistlib.dumps(recipe, fmt=plistlib.FMT_BINARY), edited_at

    def _position(self, always: bool) -> tuple[float, float] | None:
        """Most photos are tagged: around town (2-15 km from home) or somewhere travelled to."""
        if not always and self.rng.random() < 0.3:
            return None
        if self.rng.random() < 0.5:
            distance_km, bearing = self.rng.uniform(2, 15), self.rng.uniform(0, 2 * math.pi)
            lat = planted.HOME[0] + distance_km / 111.2 * math.cos(bearing)
            lon = planted.HOME[1] + distance_km / (111.2 * 0.658) * math.sin(bearing)
            return round(lat, 6), round(lon, 6)
        while True:
            lat, lon = self.rng.uniform(-55, 70), self.rng.uniform(-180, 180)
            if abs(lat - planted.HOME[0]) > 0.5 or abs(lon - planted.HOME[1]) > 0.5:
                return round(lat, 6), round(lon, 6)


def folder_for(number: int, wraps: int) -> str:
    """The DCIM folder of file number ``number`` (1-9999) after ``wraps`` restarts at 0001."""
    return f"{100 + wraps * 10 + number // 1000}APPLE"


def _mutation(folder: str, filename: str, name: str) -> str:
    stem = filename.rsplit(".", 1)[0]
    return f"PhotoData/Mutations/{directory(folder)}/{stem}/Adjustments/{name}"


def directory(folder: str) -> str:
    """The media-root folder of a shot: ``DCIM/100APPLE``, or an iCloud group as is."""
    return folder if folder.startswith("PhotoData/") else f"DCIM/{folder}"


def _uuid(rng: Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper()


def _paris_offset(utc: datetime) -> timedelta:
    """Europe/Paris: UTC+2 from the last Sunday of March to that of October, 01:00 UTC."""
    start, end = _last_sunday(utc.year, 3), _last_sunday(utc.year, 10)
    return timedelta(hours=2 if start <= utc < end else 1)


def _last_sunday(year: int, month: int) -> datetime:
    last = datetime(year, month + 1, 1, 1, tzinfo=UTC) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def _random_chunks(seed: int, size: int, chunk: int = 4 * _MIB) -> Iterator[bytes]:
    """``size`` seeded random bytes, a few MiB at a time: a movie's payload, never whole."""
    rng = Random(seed)
    while size > 0:
        piece = min(chunk, size)
        yield rng.randbytes(piece)
        size -= piece
