"""What a ``folder:`` backup of a media root leaves out: photos and videos beside ``DCIM/``.

When the folder given holds ``DCIM/``, only ``DCIM/`` is backed up (a mounted phone keeps
thumbnails, caches and other apps' files beside it). A person's own export may keep photos there
too (``other/holiday.jpg``); they are counted here, by top folder, so the backup can name them.
Only directory entries are read (names and entry types): no file is opened or stat'ed, so the
count costs one directory listing per folder. The phone's own folders are not counted.
"""

from __future__ import annotations

import os
from pathlib import Path

from companion.connectors.kinds import kind_of
from companion.model import AssetKind

# What a mounted phone keeps beside DCIM/ that is not the camera roll: thumbnails and caches
# (PhotoData also holds iCloud originals, which only --from usb reads, with their library),
# media of other apps.
PHONE_FOLDERS = frozenset(
    (
        "Books",
        "Downloads",
        "MediaAnalysis",
        "PhotoData",
        "Photos",
        "PublicStaging",
        "Purchases",
        "Radio",
        "Recordings",
        "iTunes_Control",
    )
)
_COUNTED = (AssetKind.PHOTO, AssetKind.VIDEO)


def count_beside_dcim(root: Path) -> dict[str, int]:
    """Photos and videos (by name) under ``root`` outside ``DCIM/`` and the phone's folders, by
    top folder (``""`` for files at the root itself), most first. Hidden names and symbolic
    links are skipped, as the listing skips them; unreadable folders count as empty."""
    counts: dict[str, int] = {}
    for entry in _entries(root):
        if entry.name == "DCIM" or entry.name in PHONE_FOLDERS:
            continue
        if _is_dir(entry):
            found, key = _count_media(Path(entry.path)), entry.name
        else:
            found, key = int(_is_media(entry)), ""
        if found:
            counts[key] = counts.get(key, 0) + found
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _count_media(folder: Path) -> int:
    found, todo = 0, [folder]
    while todo:
        for entry in _entries(todo.pop()):
            if _is_dir(entry):
                todo.append(Path(entry.path))
            else:
                found += _is_media(entry)
    return found


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as scan:
            return [e for e in scan if not e.name.startswith(".")]
    except OSError:
        return []


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _is_media(entry: os.DirEntry[str]) -> bool:
    try:
        regular = entry.is_file(follow_symlinks=False)
    except OSError:
        return False
    return regular and kind_of(entry.name) in _COUNTED
