"""Keeping a file that holds a secret (a key, a session) readable by its owner alone.

On Linux and macOS that is its mode, 0600 (0700 for a folder). On Windows ``chmod`` only sets
the read-only flag: a file under the user's profile (where companion keeps its state) is
private by the profile's inherited access rules, which companion leaves as they are.
"""

from __future__ import annotations

import os
import sys

FILE_MODE = 0o600


def make_private(fd: int) -> None:
    """Mode 0600 for the open file ``fd`` (nothing on Windows: see the module docstring)."""
    if sys.platform != "win32":
        os.fchmod(fd, FILE_MODE)


def owner_name(uid: int) -> str:
    """The user name of ``uid`` (``uid N`` where the system does not say)."""
    if sys.platform != "win32":
        import pwd

        try:
            return pwd.getpwuid(uid).pw_name
        except KeyError:
            pass
    return f"uid {uid}"
