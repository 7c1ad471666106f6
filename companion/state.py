"""companion's private per-user state folder: what this computer remembers between runs.

It holds what must stay private and must not live inside a vault (which may sit on a shared
drive or be copied elsewhere): the phones' pairing records (they hold private keys) and, per
vault, the highest catalogue segment this computer has seen (so a rollback of a vault's newest
segments is noticed). The folder is made 0700 and every file in it 0600.

    Linux     $XDG_STATE_HOME/companion   (default ~/.local/state/companion)
    macOS     ~/Library/Application Support/companion/state
    Windows   %LOCALAPPDATA%\\companion\\state

``COMPANION_STATE_DIR`` names another folder (tests, portable installs).
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from pathlib import Path

STATE_ENV = "COMPANION_STATE_DIR"

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def state_root() -> Path:
    """Where the state folder is (not created; see ``private_dir``)."""
    given = os.environ.get(STATE_ENV)
    if given:
        return Path(given).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "companion" / "state"
    else:  # noqa: RET505 - the else keeps mypy --platform darwin from calling the rest unreachable
        if os.name == "nt":
            local = os.environ.get("LOCALAPPDATA")
            base = Path(local) if local else Path.home() / "AppData" / "Local"
            return base / "companion" / "state"
        xdg = os.environ.get("XDG_STATE_HOME")
        return (Path(xdg) if xdg else Path.home() / ".local" / "state") / "companion"


def private_dir(*parts: str) -> Path:
    """The state folder (or a folder inside it), created if needed, made 0700 if it was not.

    Only folders companion makes or owns are tightened: the state root and what is below it.
    """
    folder = state_root().joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    current = folder
    root = state_root()
    while True:
        _tighten(current, FOLDER_MODE)
        if current in (root, current.parent):
            break
        current = current.parent
    return folder


def tighten_file(path: Path) -> None:
    """Make an existing file in the state folder 0600 (a no-op where modes do not exist)."""
    _tighten(path, FILE_MODE)


def _tighten(path: Path, mode: int) -> None:
    if os.name == "nt":
        return
    with contextlib.suppress(FileNotFoundError):
        current = stat.S_IMODE(path.lstat().st_mode)
        if current & ~mode and not path.is_symlink():
            path.chmod(current & mode)
