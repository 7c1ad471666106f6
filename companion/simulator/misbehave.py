"""Named misbehaviours of the simulated iPhone, for people (``--fault``) and tests.

Real phones answer oddly: files still being written, "Optimize iPhone Storage" placeholders, a
flaky cable, a half-done iOS update. ``NAMED_FAULTS`` gives each such answer a name and a line
of description; ``apply_fault`` sets one on a ``Faults`` for a phone's media root, on a path
given or chosen, and returns that path.

Chosen paths are the phone's regular files under ``DCIM/``, sorted, skipping any file another
fault already names, so that several faults given together land on different files; the faults
in the middle of a file prefer files of a few KB or more and act at half the file.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, TypeAlias

if TYPE_CHECKING:
    from companion.simulator.device import Faults

PIB: Final = 2**50
YEAR_30000_NS: Final = 884_541_340_800 * 10**9
"""1 January 30000 in nanoseconds since 1970: about 8.8e20, beyond a signed 64-bit integer."""
BEFORE_1970_NS: Final = -2_000_000_000 * 10**9
"""16 August 1906 in nanoseconds since 1970: negative, still a signed 64-bit integer."""
GHOST_NAME: Final = "IMG_9990.JPG"
_MID_FILE_MIN = 4096  # the faults in the middle of a file prefer files bigger than this
_CONTENT_SLACK = 1000  # how far short-content and long-content listings are off

Action: TypeAlias = "Callable[[Faults, str, int], None]"  # faults, path, real size


@dataclass(frozen=True, slots=True)
class NamedFault:
    """A named misbehaviour: its description for ``--help`` and how it changes ``Faults``."""

    description: str
    action: Action
    mid_file: bool = False  # prefers a bigger file when it chooses one


def _listed_size(size: Callable[[int], int]) -> Action:
    def action(faults: Faults, path: str, real: int) -> None:
        faults.listed_sizes[path] = size(real)

    return action


def _listed_mtime(mtime: int) -> Action:
    def action(faults: Faults, path: str, _real: int) -> None:
        faults.listed_mtimes[path] = mtime

    return action


def _ghost(faults: Faults, path: str, _real: int) -> None:
    faults.ghost_paths = faults.ghost_paths | {path}


def _io_error(faults: Faults, path: str, _real: int) -> None:
    faults.io_error_paths = faults.io_error_paths | {path}


def _io_error_mid(faults: Faults, path: str, real: int) -> None:
    faults.io_error_at[path] = real // 2


def _drop_link(faults: Faults, path: str, real: int) -> None:
    if faults.drop_link_times is not None:
        raise ValueError("drop-link and drop-link-once cannot be given together")
    faults.drop_link_at[path] = real // 2


def _drop_link_once(faults: Faults, path: str, real: int) -> None:
    if faults.drop_link_at or faults.drop_link_times is not None:
        raise ValueError("drop-link-once can be given once, and not with drop-link")
    faults.drop_link_at[path] = real // 2
    faults.drop_link_times = 1


def _shorter(real: int) -> int:
    return real - _CONTENT_SLACK if real > 2 * _CONTENT_SLACK else real // 2


NAMED_FAULTS: Final[Mapping[str, NamedFault]] = MappingProxyType(
    {
        "negative-size": NamedFault("listed size -1", _listed_size(lambda _real: -1)),
        "huge-size": NamedFault(
            "listed size 1 PiB (2**50); the content is the real file", _listed_size(lambda _: PIB)
        ),
        "future-time": NamedFault(
            "modified in the year 30000 (beyond 64-bit nanoseconds)", _listed_mtime(YEAR_30000_NS)
        ),
        "past-time": NamedFault(
            "modified in 1906, before 1970 (negative nanoseconds)", _listed_mtime(BEFORE_1970_NS)
        ),
        "ghost": NamedFault(f"listed in its folder, but no file is there ({GHOST_NAME})", _ghost),
        "short-content": NamedFault(
            "listed 1000 bytes bigger than it is: content ends early",
            _listed_size(lambda real: real + _CONTENT_SLACK),
        ),
        "long-content": NamedFault(
            "listed 1000 bytes short: the content goes past the listing",
            _listed_size(_shorter),
            mid_file=True,
        ),
        "io-error-mid": NamedFault(
            "reads fail with an I/O error from half-way through the file",
            _io_error_mid,
            mid_file=True,
        ),
        "drop-link": NamedFault(
            "the link drops mid-read at half the file, every time",
            _drop_link,
            mid_file=True,
        ),
        "drop-link-once": NamedFault(
            "the link drops mid-read at half the file, once",
            _drop_link_once,
            mid_file=True,
        ),
        "io-error": NamedFault("every read of the file fails with an I/O error", _io_error),
    }
)


def apply_fault(faults: Faults, name: str, media_root: Path, path: str | None = None) -> str:
    """Set the fault called ``name`` on ``path`` (media-root-relative) or on a chosen file;
    the path it acts on. ``ValueError`` for an unknown name, or a path that is not a file of
    the media root (for ``ghost``: a name that is free in an existing folder)."""
    named = NAMED_FAULTS.get(name)
    if named is None:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(NAMED_FAULTS)}")
    root = media_root.resolve()
    if name == "ghost":
        chosen = _ghost_path(faults, root, path)
        named.action(faults, chosen, 0)
        return chosen
    if path is None:
        chosen, size = _choose(faults, root, name, prefer_big=named.mid_file)
    else:
        chosen, size = _file(root, path)
    named.action(faults, chosen, size)
    return chosen


def _relative(path: str) -> str:
    """``path`` as a normal media-root-relative path ("/DCIM/a/../b" is "DCIM/b")."""
    normal = posixpath.normpath("/" + path).lstrip("/")
    if not normal or ".." in path.split("/"):
        raise ValueError(f"{path!r}: give a path inside the phone's media root, without '..'")
    return normal


def _file(root: Path, path: str) -> tuple[str, int]:
    """The key and size of a regular file of the media root, or ``ValueError``."""
    entry = root / _relative(path)
    if entry.is_symlink() or not entry.is_file():
        raise ValueError(f"{path!r} is not a file of the phone's media root")
    real = entry.resolve()
    if not real.is_relative_to(root):
        raise ValueError(f"{path!r} is not a file of the phone's media root")
    return real.relative_to(root).as_posix(), real.stat().st_size


def _taken(faults: Faults) -> set[str]:
    """The paths other faults already name."""
    return {
        *faults.listed_sizes,
        *faults.listed_mtimes,
        *faults.ghost_paths,
        *faults.io_error_at,
        *faults.drop_link_at,
        *faults.io_error_paths,
        *faults.cloud_only_paths,
    }


def _choose(faults: Faults, root: Path, name: str, *, prefer_big: bool) -> tuple[str, int]:
    dcim = root / "DCIM"
    files = sorted(
        (entry.relative_to(root).as_posix(), entry.stat().st_size)
        for entry in dcim.rglob("*")
        if entry.is_file() and not entry.is_symlink()
    )
    taken = _taken(faults)
    free = [(key, size) for key, size in files if key not in taken]
    if prefer_big:
        free = [item for item in free if item[1] > _MID_FILE_MIN] or free
    if not free:
        raise ValueError(
            f"no file left under DCIM for {name}: the phone has {len(files)} and other faults "
            f"hold them; give {name}:PATH"
        )
    return free[0]


def _ghost_path(faults: Faults, root: Path, path: str | None) -> str:
    if path is not None:
        key = _relative(path)
        folder = root / posixpath.dirname(key)
        if folder.is_symlink() or not folder.is_dir():
            raise ValueError(f"a ghost needs an existing folder; {path!r} is not in one")
        if (root / key).exists() or (root / key).is_symlink():
            raise ValueError(f"{path!r} exists on the phone: a ghost needs a free name")
        return key
    folders = sorted(
        entry for entry in (root / "DCIM").glob("*") if entry.is_dir() and not entry.is_symlink()
    )
    if not folders:
        raise ValueError("the phone has no folder under DCIM to put a ghost in")
    stem, suffix = posixpath.splitext(GHOST_NAME)
    number = int(stem.rpartition("_")[2])
    while True:
        candidate = folders[0] / f"IMG_{number:04d}{suffix}"
        key = candidate.relative_to(root).as_posix()
        if not candidate.exists() and not candidate.is_symlink() and key not in faults.ghost_paths:
            return key
        number += 1
