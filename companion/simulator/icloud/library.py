"""The simulated iCloud Photos library: a camera roll grouped into assets as iCloud keeps them.

iCloud Photos stores each picture as two CloudKit records: a ``CPLMaster`` (the original's
bytes and facts) and a ``CPLAsset`` (what the owner did with it: date, hidden, favourite,
deleted, the edit). ``build_library`` reads a camera roll (``companion.simulator.media``'s
``MediaItem`` list, in camera-import layout) and groups its files the way iCloud does:

- a photo, a video or a screenshot is one asset, its file the original;
- a Live Photo's HEIC and MOV (same ``live_group``) are one asset: the HEIC is the original, the
  MOV its companion video;
- an edited photo's ``IMG_E`` render belongs to the original's asset (iCloud serves it as the
  full-size JPEG of the asset); its ``.AAE`` recipe is not served at all (the web API has no
  resource for it).

Bytes stay in memory: nothing is written to disk. Names are derived from the bytes and paths, so
the same roll gives the same record names in every run.
"""

from __future__ import annotations

import base64
import hashlib
import io
import struct
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath

from companion.simulator.media import MediaItem

UTIS = {
    ".JPG": "public.jpeg",
    ".JPEG": "public.jpeg",
    ".HEIC": "public.heic",
    ".PNG": "public.png",
    ".MOV": "com.apple.quicktime-movie",
    ".MP4": "public.mpeg-4",
}
MIME_TYPES = {
    "public.jpeg": "image/jpeg",
    "public.heic": "image/heic",
    "public.png": "image/png",
    "com.apple.quicktime-movie": "video/quicktime",
    "public.mpeg-4": "video/mp4",
}
_MOVIE_SIZE = (1920, 1080)  # the simulated movies carry no track header to read a size from
_SUBTYPE_LIVE = 2  # as Photos.sqlite numbers kinds of pictures (see roll.py)
_SUBTYPE_SCREENSHOT = 10


@dataclass(frozen=True, slots=True)
class Resource:
    """One downloadable file: where it came from, its bytes and what the record says of it."""

    key: str  # its name in download URLs
    path: str  # the media path of the file it was made from
    data: bytes = field(repr=False)
    uti: str
    width: int
    height: int
    checksum: str  # fileChecksum and fingerprint: 0x01 + SHA-1, base64, as small files have

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(slots=True)
class CloudAsset:
    """One asset: its two record names, its files and the owner's flags (these change)."""

    asset_name: str
    master_name: str
    path: str
    filename: str
    original: Resource
    live_movie: Resource | None
    render: Resource | None
    captured_at: datetime
    added_at: datetime
    video: bool
    screenshot: bool
    duration_s: int
    hidden: bool = False
    favorite: bool = False
    deleted_at: datetime | None = None
    change_tag: int = 1
    modified_at: datetime | None = None

    @property
    def visible(self) -> bool:
        """Shown in the library (neither hidden nor in Recently Deleted)."""
        return not self.hidden and self.deleted_at is None

    @property
    def subtype(self) -> int:
        if self.live_movie is not None:
            return _SUBTYPE_LIVE
        return _SUBTYPE_SCREENSHOT if self.screenshot else 0

    @property
    def resources(self) -> tuple[Resource, ...]:
        found = (self.original, self.live_movie, self.render)
        return tuple(resource for resource in found if resource is not None)


@dataclass(frozen=True, slots=True)
class Album:
    """A user album: its record name, its name, and its assets in the owner's order."""

    record_name: str
    name: str
    position: int
    members: tuple[str, ...]  # asset record names


@dataclass
class Library:
    """Every asset and album, plus lookups; changes happen under the server's lock."""

    assets: list[CloudAsset]
    albums: list[Album]
    by_asset: dict[str, CloudAsset] = field(init=False)
    by_master: dict[str, CloudAsset] = field(init=False)
    resources: dict[str, Resource] = field(init=False)

    def __post_init__(self) -> None:
        self.by_asset = {asset.asset_name: asset for asset in self.assets}
        self.by_master = {asset.master_name: asset for asset in self.assets}
        self.resources = {
            resource.key: resource for asset in self.assets for resource in asset.resources
        }

    def by_path(self, path: str) -> CloudAsset:
        """The asset whose original is ``path``; KeyError if none is."""
        for asset in self.assets:
            if asset.path == path:
                return asset
        raise KeyError(path)


def build_library(
    items: Iterable[MediaItem],
    *,
    now: datetime,
    hidden: Collection[str] = (),
    favorites: Collection[str] = (),
    deleted: Collection[str] = (),
    albums: Mapping[str, Sequence[str]] | None = None,
    record_names: Mapping[str, str] | None = None,
) -> Library:
    """Group a camera roll into assets; flag the originals named (by media path) as asked.
    ``record_names`` gives some originals (by media path) the record name they have elsewhere
    (a phone's library records each picture's iCloud identity); the others get one made from
    their bytes.

    ``deleted`` ones are in Recently Deleted since the day before ``now``. Raises
    ``ValueError`` for a flag or album member that names no original of the roll.
    """
    roll = list(items)
    movies = {item.live_group: item for item in roll if item.live_group and item.kind == "video"}
    renders = {item.edited_of: item for item in roll if item.edited_of}
    assets = []
    for item in roll:
        if item.kind == "sidecar" or item.edited_of or (item.live_group and item.kind == "video"):
            continue
        movie = movies.get(item.live_group) if item.live_group else None
        named = (record_names or {}).get(item.path)
        assets.append(_asset(item, movie, renders.get(item.path), named))
    library = Library(assets, [])
    for paths, flag in ((hidden, "hidden"), (favorites, "favorite")):
        for path in paths:
            setattr(_named(library, path), flag, True)
    for path in deleted:
        _named(library, path).deleted_at = now - timedelta(days=1)
    for position, (name, members) in enumerate((albums or {}).items()):
        record = _uuid(b"album:" + name.encode("utf-8"))
        library.albums.append(
            Album(
                record,
                name,
                1024 * (position + 1),
                tuple(_named(library, p).asset_name for p in members),
            )
        )
    return library


def _named(library: Library, path: str) -> CloudAsset:
    try:
        return library.by_path(path)
    except KeyError:
        raise ValueError(f"no original in the library is {path!r}") from None


def _asset(
    item: MediaItem, movie: MediaItem | None, render: MediaItem | None, name: str | None = None
) -> CloudAsset:
    original = _resource(item)
    live = _resource(movie, size=(original.width, original.height)) if movie else None
    digest = hashlib.sha256(item.path.encode("utf-8") + item.data).digest()
    captured = item.captured_at
    return CloudAsset(
        asset_name=name or _uuid(b"asset:" + digest),
        master_name=original.checksum,
        path=item.path,
        filename=PurePosixPath(item.path).name,
        original=original,
        live_movie=live,
        render=_resource(render) if render else None,
        captured_at=captured,
        added_at=captured.astimezone(UTC) + timedelta(seconds=60 + digest[0] * 14),
        video=item.kind == "video",
        screenshot=item.screenshot,
        duration_s=movie_duration(item.data) if item.kind == "video" else 0,
    )


def _resource(item: MediaItem, size: tuple[int, int] | None = None) -> Resource:
    uti = UTIS.get(PurePosixPath(item.path).suffix.upper(), "public.data")
    if size is None:
        size = _MOVIE_SIZE if uti.startswith("com.apple.quicktime") else image_size(item.data)
    sha1 = hashlib.sha1(item.data, usedforsecurity=False).digest()
    key = base64.urlsafe_b64encode(hashlib.sha256(item.path.encode() + item.data).digest()[:18])
    return Resource(
        key=key.decode("ascii"),
        path=item.path,
        data=item.data,
        uti=uti,
        width=size[0],
        height=size[1],
        checksum=base64.b64encode(b"\x01" + sha1).decode("ascii"),
    )


def image_size(data: bytes) -> tuple[int, int]:
    """Pixel width and height of a JPEG, PNG or HEIC (headers only)."""
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def movie_duration(data: bytes) -> int:
    """Whole seconds from a QuickTime ``mvhd`` (0 when there is none)."""
    at = data.rfind(b"mvhd")
    if at < 0 or at + 24 > len(data):
        return 0
    version = data[at + 4]
    if version == 1:
        timescale, duration = struct.unpack_from(">IQ", data, at + 24)
    else:
        timescale, duration = struct.unpack_from(">II", data, at + 16)
    return round(duration / timescale) if timescale else 0


def _uuid(seed: bytes) -> str:
    digest = hashlib.sha256(seed).digest()[:16]
    return str(uuid.UUID(bytes=digest, version=4)).upper()
