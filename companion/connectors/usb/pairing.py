"""Where a phone's pair record is kept, and keeping it private.

Trusting a computer gives it a pair record: keys that let it read the phone without asking
again. pymobiledevice3 keeps records in a folder of its own under the home folder, created and
written with the umask (0644 files: readable by every user of the computer). companion keeps
them in its private state folder instead (``companion.state``: 0700), and makes every file
there 0600 after each connection, since the library writes a new record the same way.

A record pymobiledevice3 saved in its own folder before (an earlier companion, or its own
command line) is copied in the first time that phone is opened, so the phone is not asked to
trust this computer again; the old copy is left where it is, for the person to delete. Imports
no USB library: where that folder is, is worked out here as the library does it.
"""

from __future__ import annotations

import logging
import os
import plistlib
import sys
from pathlib import Path

from companion.portable import durable
from companion.state import private_dir, tighten_file

log = logging.getLogger(__name__)

RECORDS = "pair-records"  # in companion's state folder
SUFFIX = ".plist"
_LIBRARY = "pymobiledevice3"


def records_folder(given: Path | None, identifier: str) -> Path:
    """The folder of pair records to use with the phone ``identifier`` (its usbmux serial, the
    record's file name): ``given`` (the demo's, a test's) as it is, else companion's own in its
    private state folder, created 0700, with that phone's record copied in from the library's
    own folder if only that one has it."""
    if given is not None:
        return given
    folder = private_dir(RECORDS)
    if _single_name(identifier):
        adopt(library_folder() / f"{identifier}{SUFFIX}", folder)
    return folder


def library_folder() -> Path:
    """Where pymobiledevice3 keeps pair records unless told otherwise (``get_home_folder`` of
    the pinned release): on Linux ``~/.pymobiledevice3`` if that folder exists, else
    ``$XDG_DATA_HOME/pymobiledevice3`` (only an absolute one counts; ``~/.local/share`` when
    unset), the home being the invoking user's under sudo; elsewhere ``~/.pymobiledevice3``.
    Worked out at each call (the library does it once, when imported); never created."""
    if sys.platform.startswith("linux"):
        home = Path("~" + os.environ.get("SUDO_USER", "")).expanduser()
        legacy = home / f".{_LIBRARY}"
        if legacy.is_dir():
            return legacy
        data = Path(os.environ.get("XDG_DATA_HOME", ""))
        return (data if data.is_absolute() else home / ".local" / "share") / _LIBRARY
    else:  # noqa: RET505 - the else keeps mypy on other platforms from calling it unreachable
        return Path.home() / f".{_LIBRARY}"


def adopt(record: Path, folder: Path) -> bool:
    """Copy ``record`` (the library's copy of a phone's pair record) into ``folder``, 0600,
    unless ``folder`` already has a record of that name or ``record`` is not one. True if
    copied."""
    target = folder / record.name
    if target.exists() or not record.is_file():
        return False
    try:
        data = record.read_bytes()
        if not isinstance(plistlib.loads(data), dict):
            raise ValueError("not a dictionary")
    except (OSError, ValueError, plistlib.InvalidFileException) as exc:
        log.debug("not copying the pair record %s: %s", record, exc)
        return False
    _write_private(target, data)
    log.info(
        "copied the pair record %s to %s; the old copy (readable by other users) is no longer "
        "needed and can be deleted",
        record,
        target,
    )
    return True


def keep_private(folder: Path) -> None:
    """Make every file in ``folder`` 0600 (pymobiledevice3 writes records with the umask)."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.is_file() and not entry.is_symlink():
            tighten_file(entry)


def _single_name(identifier: str) -> bool:
    """Whether ``identifier`` (from usbmuxd) names a file in a folder and nothing else."""
    return identifier not in ("", ".", "..") and not any(c in identifier for c in "/\\\0:")


def _write_private(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a 0600 temporary file renamed into place: the
    record is never readable by others, nor ever half-written under its name."""
    partial = target.with_name(target.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)
        stream.flush()
        durable.sync(stream.fileno())
    tighten_file(partial)  # a partial file left by an earlier run keeps its old mode
    partial.replace(target)
