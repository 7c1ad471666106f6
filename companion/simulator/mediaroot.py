"""The simulated iPhone's media root as AFC sees it: paths in, places on disk out, never outside.

Paths arrive absolute ("/DCIM") or relative ("DCIM"); both are taken from the media root, and
anything that leaves it, through ``..`` or a symbolic link, is refused with PERM_DENIED. Errors a
phone answers are ``Refused`` carrying an AFC error code.
"""

from __future__ import annotations

import errno
import os
import stat
from enum import IntEnum
from pathlib import Path


class AfcError(IntEnum):
    SUCCESS = 0
    READ_ERROR = 4
    INVALID_ARG = 7
    OBJECT_NOT_FOUND = 8
    OBJECT_IS_DIR = 9
    PERM_DENIED = 10
    OP_NOT_SUPPORTED = 15
    OBJECT_EXISTS = 16
    NO_SPACE_LEFT = 18
    IO_ERROR = 20
    DIR_NOT_EMPTY = 33


ERRNO_TO_AFC = {
    errno.ENOENT: AfcError.OBJECT_NOT_FOUND,
    errno.ENOTDIR: AfcError.OBJECT_NOT_FOUND,
    errno.EISDIR: AfcError.OBJECT_IS_DIR,
    errno.EACCES: AfcError.PERM_DENIED,
    errno.EPERM: AfcError.PERM_DENIED,
    errno.EEXIST: AfcError.OBJECT_EXISTS,
    errno.ENOTEMPTY: AfcError.DIR_NOT_EMPTY,
    errno.ENOSPC: AfcError.NO_SPACE_LEFT,
}


class Refused(Exception):
    """An operation the phone answers with a STATUS error."""

    def __init__(self, status: AfcError) -> None:
        super().__init__(status.name)
        self.status = status


def _is_link(path: str) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


class MediaRoot:
    """Maps AFC paths to places under the media root, refusing any way out of it.

    A listing asks for thousands of entries of a few folders, so each folder's resolved path is
    remembered (``forget`` after this connection changes the tree); the entry itself costs one
    ``lstat``, and a symbolic link is followed to check that it stays inside.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._text = str(self.root)
        self._folders: dict[str, str] = {}

    def _inside(self, path: str) -> bool:
        return path == self._text or path.startswith(self._text + os.sep)

    def forget(self) -> None:
        """Drop remembered folders: the tree was changed through this connection."""
        self._folders.clear()

    def entry(self, path: str) -> Path:
        """The path of the entry itself, not following a final symbolic link (lstat, unlink)."""
        joined = os.path.normpath(f"{self._text}/{path.lstrip('/')}")
        if joined == self._text:
            return self.root
        if not self._inside(joined):
            raise Refused(AfcError.PERM_DENIED)
        folder, name = os.path.split(joined)
        real_folder = self._folders.get(folder)
        if real_folder is None:
            real_folder = os.path.realpath(folder)
            if not self._inside(real_folder):
                raise Refused(AfcError.PERM_DENIED)
            if len(self._folders) > 4096:
                self._folders.clear()
            self._folders[folder] = real_folder
        entry = f"{real_folder}/{name}"
        if _is_link(entry) and not self._inside(os.path.realpath(entry)):
            raise Refused(AfcError.PERM_DENIED)
        return Path(entry)

    def real(self, path: str) -> Path:
        """The fully resolved path (symbolic links followed), which must stay inside the root."""
        return self.entry(path).resolve()

    def relative(self, real: Path) -> str:
        """The media-root-relative form faults are keyed by ("DCIM/100APPLE/IMG_0001.JPG")."""
        return real.relative_to(self.root).as_posix()
