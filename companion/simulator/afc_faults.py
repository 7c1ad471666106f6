"""How the simulated phone's AFC answers bend to ``Faults``: listings, file info and reads.

Each function reads the faults as they are at this request (a test may change them between two
requests) and takes the media-root-relative path ``Faults`` is keyed by. What the faults mean is
told in the ``Faults`` docstring; this module only applies them.
"""

from __future__ import annotations

import posixpath

from companion.simulator.device import Faults
from companion.simulator.mediaroot import AfcError, Refused


def listed_names(faults: Faults, folder: str, names: list[str]) -> list[str]:
    """The names READ_DIR gives for ``folder`` ("." for the root): the real ones and ghosts."""
    where = "" if folder == "." else folder
    ghosts = {
        posixpath.basename(path)
        for path in faults.ghost_paths
        if posixpath.dirname(path) == where and posixpath.basename(path)
    }
    return sorted(set(names) | ghosts) if ghosts else names


def refuse_ghost(faults: Faults, relative: str) -> None:
    """A ghost is listed but not there: GET_FILE_INFO and FILE_OPEN answer OBJECT_NOT_FOUND."""
    if relative in faults.ghost_paths:
        raise Refused(AfcError.OBJECT_NOT_FOUND)


def listed_info(faults: Faults, relative: str, values: dict[str, object]) -> None:
    """Put the listed size and times the faults give in place of the real ones."""
    size = faults.listed_sizes.get(relative)
    if size is not None:
        values["st_size"] = size
    mtime = faults.listed_mtimes.get(relative)
    if mtime is not None:
        values["st_mtime"] = mtime
        values["st_birthtime"] = mtime


def read_count(faults: Faults, relative: str, position: int, count: int) -> int:
    """How many of ``count`` bytes a READ at ``position`` sends: it stops at an IO error offset,
    and a READ from that offset on is refused with IO_ERROR."""
    offset = faults.io_error_at.get(relative)
    if offset is None:
        return count
    if position >= offset:
        raise Refused(AfcError.IO_ERROR)
    return min(count, offset - position)


def link_drop(faults: Faults, relative: str, position: int, count: int) -> int | None:
    """How many bytes of this READ reply go out before the link drops (None: it does not);
    a firing is taken off ``drop_link_times``."""
    offset = faults.drop_link_at.get(relative)
    times = faults.drop_link_times
    if offset is None or times == 0 or not position <= offset < position + count:
        return None
    if times is not None:
        faults.drop_link_times = max(0, times - 1)
    return offset - position
