"""A whole sample iPhone on disk: media folder, Photos library, device values, installed apps.

``build_phone(root)`` writes ``root/Media`` (what AFC serves as ``/var/mobile/Media``) and a
``root/phone.json`` manifest, written last, that marks the build complete: a second call with
the same arguments returns at once. ``cached_phone()`` keeps one built phone per arguments in
a cache folder, building into a temporary sibling and renaming it into place, so concurrent
builders and interrupted builds never leave a half phone where a whole one is expected.

Everything comes from the seed: the same arguments give the same bytes and the same mtimes
(each file's mtime is its capture or edit time, each folder's that of its newest entry).
Sizes: ``small`` (a few dozen assets, seconds to build; tests and the demo), ``medium`` (a few
hundred), ``large`` (about 1 GB, a few movies over 100 MB streamed to disk; benchmarks). An
explicit ``count`` makes a listing benchmark: that many assets, most of them tiny files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from random import Random
from types import MappingProxyType
from typing import Final

from PIL import Image

from companion.simulator import planted
from companion.simulator.apps import installed_apps
from companion.simulator.media import unix_ns
from companion.simulator.photos_schema import variant
from companion.simulator.photosdb import Library, plan_library, thumbnail_path, write_photos_db
from companion.simulator.roll import Movie, Preset, Shot, shoot

GENERATOR_VERSION: Final = 3
"""Bumped whenever the same arguments would build a different phone: it keys the cache."""

SIZES: Final[Mapping[str, Preset]] = MappingProxyType(
    {
        "small": Preset(40, (640, 480), (512, 384), (1179, 2556), (24, 64)),
        "medium": Preset(300, (1280, 960), (512, 384), (1179, 2556), (256, 2048)),
        "large": Preset(
            400,
            (3024, 2268),
            (640, 480),
            (1179, 2556),
            (1024, 8192),
            big_videos=4,
            big_video_mib=(110, 160),
            mix=(0.5, 0.6, 0.7, 0.8),
        ),
    }
)
# A listing benchmark: tiny JPEGs mostly. HEICs stay above 320 px to carry their thumbnail and
# are rare, since each costs two x265 runs (~80 ms) whatever its size.
_TINY = Preset(0, (64, 48), (352, 264), (640, 1136), (1, 4), mix=(0.95, 0.955, 0.96, 0.98))
_IOS: Final = {
    "16": ("16.7.8", "20H343"),
    "17.0": ("17.5.1", "21F90"),
    "17.6": ("17.6.1", "21G93"),
    "18": ("18.1", "22B83"),
}
"""What each Photos.sqlite schema variant (``photos_schema.MODELS``) reports as its release."""
_MANIFEST: Final = "phone.json"
ICLOUD_ORIGINALS: Final = "icloud-originals"
"""Beside ``Media``: the originals of cloud-only photos, which the phone itself no longer has.
Only the simulator's own iCloud (the demo) reads them; AFC never serves this folder."""


@dataclass(frozen=True, slots=True)
class SamplePhone:
    """A built phone. ``planted`` maps media-root paths to what private thing they show."""

    media_root: Path
    device: Mapping[str, object]
    apps: tuple[Mapping[str, object], ...]
    planted: Mapping[str, str]
    home: tuple[float, float]
    cloud_only: frozenset[str]
    assets: int


def build_phone(
    root: Path,
    *,
    seed: int = 7,
    size: str = "small",
    count: int | None = None,
    cloud_only: int = 0,
    ios: str | None = None,
) -> SamplePhone:
    """Write the phone under ``root`` (replacing another phone there) or reuse the one there.

    ``ios`` is an iOS version: 16, 17.0-17.5 (17.5.1 by default), 17.6 and later, or 18; the
    Photos library's schema follows it. Raises ``ValueError`` for
    an unknown size or iOS version, a ``count`` below the minimum, or more ``cloud_only``
    photos than the phone has.
    """
    args = _arguments(seed, size, count, cloud_only, ios)
    existing = _load(root, args)
    if existing is not None:
        return existing
    for stale in (root / _MANIFEST, root / "Media", root / ".scratch", root / ICLOUD_ORIGINALS):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    media_root, scratch = root / "Media", root / ".scratch"
    preset = SIZES[size] if count is None else _tiny(count)
    try:
        shots, sizes = _write_roll(media_root, seed, preset)
        library = plan_library(shots, seed, cloud_only)
        _optimize_storage(root, shots, library, sizes)
        photo_data = media_root / "PhotoData"
        write_photos_db(
            photo_data, shots, sizes, library, ios=_variant(ios), seed=seed, scratch=scratch
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    settled = unix_ns(shots[-1].captured_at + timedelta(minutes=5))
    for name in ("Photos.sqlite", "Photos.sqlite-wal", "Photos.sqlite-shm"):
        os.utime(photo_data / name, ns=(settled, settled))
    _date_folders(media_root)
    record = {
        "args": args,
        "planted": {s.path: s.planted for s in shots if s.planted is not None},
        "home": list(planted.HOME),
        "cloud_only": sorted(shots[i].path for i in library.cloud_only),
        "assets": len(shots),
    }
    partial = root / f".{_MANIFEST}.partial"
    partial.write_text(json.dumps(record, indent=1, sort_keys=True), encoding="utf-8")
    partial.replace(root / _MANIFEST)
    return _phone(root, record)


def built_phone(
    root: Path,
    *,
    seed: int = 7,
    size: str = "small",
    count: int | None = None,
    cloud_only: int = 0,
    ios: str | None = None,
) -> SamplePhone | None:
    """The phone ``build_phone`` would reuse under ``root`` for these arguments, or None when
    it would build one. Reads only the manifest."""
    return _load(root, _arguments(seed, size, count, cloud_only, ios))


def cached_phone(
    *,
    seed: int = 7,
    size: str = "small",
    count: int | None = None,
    cloud_only: int = 0,
    cache_dir: Path | None = None,
) -> SamplePhone:
    """The phone ``build_phone`` makes for these arguments, built once into ``cache_dir``.

    ``cache_dir`` defaults to ``$XDG_CACHE_HOME/companion/simulator`` (``~/.cache/...``).
    Safe with concurrent callers: each builds into its own temporary folder and the first
    rename wins; temporary folders left by builders that died are removed.
    """
    args = _arguments(seed, size, count, cloud_only, None)
    base = cache_dir if cache_dir is not None else _default_cache()
    key = hashlib.sha256(
        json.dumps({"generator": GENERATOR_VERSION, **args}, sort_keys=True).encode()
    ).hexdigest()[:16]
    final = base / f"phone-{key}"
    phone = _load(final, args)
    if phone is not None:
        return phone
    base.mkdir(parents=True, exist_ok=True)
    _sweep(base, key)
    temporary = Path(tempfile.mkdtemp(prefix=f".phone-{key}.{os.getpid()}.", dir=base))
    try:
        build_phone(temporary, seed=seed, size=size, count=count, cloud_only=cloud_only, ios=None)
        try:
            temporary.rename(final)
        except OSError:
            if _load(final, args) is None:  # not a concurrent winner: something else is there
                raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    phone = _load(final, args)
    if phone is None:
        raise RuntimeError(f"the phone built into {final} is unreadable")
    return phone


def device_values(seed: int, ios: str | None = None) -> Mapping[str, object]:
    """What lockdown's ``GetValue`` answers for this phone, the same for the same seed."""
    version, build = _IOS[_variant(ios)]
    # Not for secrets: identifiers only have to look like a phone's and repeat.
    rng = Random(f"device-{seed}")
    ecid = rng.getrandbits(52)
    serial = "".join(rng.choice("CDFGHJKLMNPQRTVWXY0123456789") for _ in range(10))
    mac = [rng.randrange(256) for _ in range(6)]
    mac[0] &= 0xFC  # a unicast, globally administered address, as Apple's are
    wifi = ":".join(f"{octet:02x}" for octet in mac)
    mac[5] = (mac[5] + 1) % 256
    return MappingProxyType(
        {
            "DeviceName": "Demo iPhone",
            "DeviceClass": "iPhone",
            "ProductName": "iPhone OS",
            "ProductType": "iPhone15,2",
            "HardwareModel": "D73AP",
            "ModelNumber": "MQ0D3",
            "RegionInfo": "NF/A",
            "ProductVersion": version,
            "BuildVersion": build,
            "CPUArchitecture": "arm64e",
            "UniqueChipID": ecid,
            "ChipID": 0x8120,
            "UniqueDeviceID": f"00008120-{ecid:016X}",
            "SerialNumber": serial,
            "WiFiAddress": wifi,
            "BluetoothAddress": ":".join(f"{octet:02x}" for octet in mac),
            "DeviceColor": "1",
            "DeviceEnclosureColor": "1",
            "TimeZone": "Europe/Paris",
            "Uses24HourClock": True,
            "ActivationState": "Activated",
            "PasswordProtected": True,
        }
    )


def _arguments(
    seed: int, size: str, count: int | None, cloud_only: int, ios: str | None
) -> dict[str, object]:
    if size not in SIZES:
        raise ValueError(f"unknown phone size {size!r}; choose one of {', '.join(SIZES)}")
    if cloud_only < 0:
        raise ValueError("cloud_only cannot be negative")
    return {
        "seed": seed,
        "size": size,
        "count": count,
        "cloud_only": cloud_only,
        "ios": _variant(ios),
    }


def _variant(ios: str | None) -> str:
    """The schema variant of an iOS version (or of a variant itself); 17.0 by default."""
    return "17.0" if ios is None else variant(ios)


def icloud_original(media_root: Path, path: str) -> Path:
    """Where the original of the cloud-only photo at media-root ``path`` is kept, outside
    the phone's media folder."""
    return media_root.parent.joinpath(ICLOUD_ORIGINALS, *path.split("/"))


def _optimize_storage(
    root: Path, shots: list[Shot], library: Library, sizes: dict[str, int]
) -> None:
    """What "Optimize iPhone Storage" leaves of a cloud-only photo: a thumbnail under
    ``PhotoData/Thumbnails/V2``; the original moves out of the media folder (only iCloud has
    it). ``sizes`` gains the thumbnails' lengths and keeps the originals'."""
    media_root = root / "Media"
    for index in sorted(library.cloud_only):
        shot = shots[index]
        original = media_root.joinpath(*shot.path.split("/"))
        thumbnail = media_root.joinpath(*thumbnail_path(shot.path).split("/"))
        thumbnail.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(original) as image:
            image.thumbnail((256, 256))
            image.convert("RGB").save(thumbnail, "JPEG", quality=80)
        sizes[thumbnail_path(shot.path)] = thumbnail.stat().st_size
        stamp = original.stat().st_mtime_ns
        os.utime(thumbnail, ns=(stamp, stamp))
        kept = icloud_original(media_root, shot.path)
        kept.parent.mkdir(parents=True, exist_ok=True)
        original.replace(kept)


def _tiny(count: int) -> Preset:
    return Preset(
        count, _TINY.photo_size, _TINY.heic_size, _TINY.screen_size, _TINY.video_kib, mix=_TINY.mix
    )


def _write_roll(media_root: Path, seed: int, preset: Preset) -> tuple[list[Shot], dict[str, int]]:
    """Write every take's files as they come; keep only the shots and the file sizes."""
    shots: list[Shot] = []
    sizes: dict[str, int] = {}
    for take in shoot(seed, preset):
        for path, content, when in take.contents:
            target = media_root.joinpath(*path.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as out:
                if isinstance(content, Movie):
                    sizes[path] = content.write(out)
                else:
                    sizes[path] = out.write(content)
            stamp = unix_ns(when)
            os.utime(target, ns=(stamp, stamp))
        shots.append(take.shot)
    return shots, sizes


def _date_folders(media_root: Path) -> None:
    """Give each folder the mtime of its newest entry, deepest folders first."""
    folders = sorted((p for p in media_root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
    for folder in [*folders, media_root]:
        newest = max(entry.stat().st_mtime_ns for entry in folder.iterdir())
        os.utime(folder, ns=(newest, newest))


def _load(root: Path, args: Mapping[str, object]) -> SamplePhone | None:
    """The phone recorded under ``root`` if it was built with ``args``, else ``None``."""
    try:
        record = json.loads((root / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("args") != dict(args):
        return None
    return _phone(root, record)


def _phone(root: Path, record: Mapping[str, object]) -> SamplePhone:
    args = record["args"]
    assert isinstance(args, dict)
    seed, ios = int(args["seed"]), str(args["ios"])
    device = device_values(seed, ios)
    home = record["home"]
    assert isinstance(home, list)
    planted_paths = record["planted"]
    assert isinstance(planted_paths, dict)
    cloud = record["cloud_only"]
    assert isinstance(cloud, list)
    return SamplePhone(
        media_root=root / "Media",
        device=device,
        apps=installed_apps(seed, str(device["ProductVersion"])),
        planted=MappingProxyType(dict(planted_paths)),
        home=(float(home[0]), float(home[1])),
        cloud_only=frozenset(cloud),
        assets=int(str(record["assets"])),
    )


def _default_cache() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "companion" / "simulator"


def _sweep(base: Path, key: str) -> None:
    """Remove temporary folders of this key whose builder process is gone."""
    for stray in base.glob(f".phone-{key}.*"):
        pid = stray.name.split(".")[2] if stray.name.count(".") >= 3 else ""
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stray, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
