"""What a folder's disk is: its file system and its free space, per platform.

A backup drive people already own is often formatted exFAT or FAT32 (the formats every system
reads). exFAT holds files of any size; FAT32 holds none over 4 GiB minus one byte, and a backup
writes each file as one encrypted object, so a longer video cannot be stored there. The file
system is read:

- Linux: ``/proc/self/mountinfo``, the mount that holds the folder (``vfat`` for FAT32,
  ``exfat``, ``fuseblk`` for a FUSE driver, which does not say which format it serves);
- Windows: ``GetVolumeInformationW`` on the folder's volume (``FAT32``, ``exFAT``, ``NTFS``);
- macOS and the BSDs: the table ``mount`` prints (``msdos`` for FAT32, ``exfat``, ``apfs``).

A format that cannot be read is None: nothing is concluded from it. Free space is
``shutil.disk_usage`` everywhere. Standard library only.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

FAT_LARGEST_FILE = 4 * 1024**3 - 1  # bytes: FAT32 keeps a file's size in 32 bits
_FAT_NAMES = frozenset({"vfat", "msdos", "fat", "fat12", "fat16", "fat32", "umsdos"})
_MOUNT_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Volume:
    """The disk of ``folder`` (the nearest folder that exists at or above the one asked)."""

    folder: Path
    filesystem: str | None  # as the system names it; None where it could not be read
    free: int | None  # bytes this user may still write; None where it could not be read


def describe(path: Path, platform: str = sys.platform) -> Volume:
    """The disk that holds ``path`` (which need not exist yet)."""
    folder = existing_folder(path)
    try:
        free: int | None = shutil.disk_usage(folder).free
    except OSError:
        free = None
    return Volume(folder, filesystem_of(folder, platform), free)


def existing_folder(path: Path) -> Path:
    """``path`` or its nearest parent that exists (resolved: a link leads to its disk)."""
    target = path.expanduser().resolve()
    for place in (target, *target.parents):
        if place.is_dir():
            return place
    return Path(target.anchor or "/")


def largest_file(filesystem: str | None) -> int | None:
    """The largest file ``filesystem`` holds, in bytes, where it is smaller than any photo or
    video could be (FAT's 4 GiB); None when it sets no such limit or is unknown."""
    if filesystem is not None and filesystem.strip().lower() in _FAT_NAMES:
        return FAT_LARGEST_FILE
    return None


def filesystem_of(folder: Path, platform: str = sys.platform) -> str | None:
    """The file system ``folder`` is on, as the system names it, or None."""
    if platform.startswith("linux"):
        return _from_mountinfo(folder)
    if platform == "win32":
        return _from_volume_information(folder)
    return _from_mount_table(folder)


def _from_mountinfo(folder: Path) -> str | None:
    try:
        text = Path("/proc/self/mountinfo").read_text("utf-8", errors="replace")
    except OSError:
        return None
    mounts = []
    for line in text.splitlines():
        fields, _, after = line.partition(" - ")
        parts, kind = fields.split(), after.split()
        if len(parts) >= 5 and kind:
            mounts.append((_unescape(parts[4]), kind[0]))
    return deepest(folder, mounts)


def _unescape(field: str) -> str:
    r"""mountinfo writes a space as ``\040``, a tab ``\011``, a newline ``\012``, ``\`` as
    ``\134``."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def _from_mount_table(folder: Path) -> str | None:
    """``mount`` on macOS and the BSDs: ``/dev/disk4s1 on /Volumes/BACKUP (msdos, local, ...)``."""
    try:
        listing = subprocess.run(
            ["/sbin/mount"],
            capture_output=True,
            text=True,
            timeout=_MOUNT_TIMEOUT,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return deepest(folder, parse_mount_table(listing))


def parse_mount_table(listing: str) -> list[tuple[str, str]]:
    """(mount point, file system) of each line ``mount`` printed."""
    mounts = []
    for line in listing.splitlines():
        _source, on, rest = line.partition(" on ")
        point, paren, options = rest.rpartition(" (")
        if on and paren and options:
            mounts.append((point, options.rstrip(")").split(",")[0].strip()))
    return mounts


def deepest(folder: Path, mounts: list[tuple[str, str]]) -> str | None:
    """The file system of the mount that holds ``folder``: the longest mount point above it (of
    two at the same point, the later one: it was mounted over the other)."""
    found: tuple[int, str] | None = None
    for point, kind in mounts:
        mounted = Path(point)
        if (folder == mounted or mounted in folder.parents) and (
            found is None or len(mounted.parts) >= found[0]
        ):
            found = (len(mounted.parts), kind)
    return found[1] if found else None


def _from_volume_information(folder: Path) -> str | None:
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.windll.kernel32
        root = ctypes.create_unicode_buffer(261)
        if not kernel32.GetVolumePathNameW(str(folder), root, len(root)):
            return None
        name = ctypes.create_unicode_buffer(261)
        if not kernel32.GetVolumeInformationW(
            root.value, None, 0, None, None, None, name, len(name)
        ):
            return None
        return name.value or None
    else:  # noqa: RET505 - the else keeps mypy --platform win32 from calling this unreachable
        return None
