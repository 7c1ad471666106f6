"""One writer at a time.

A vault has a single lock file, created with O_EXCL, that holds the host name, process id and a
random token of its owner. A second writer is refused (``VaultLocked``, exit 11). A lock left by
a process that died on this same host is stale and is broken automatically; a lock from another
host is never broken automatically (we cannot tell whether that process lives), the error says
who holds it and how to remove it by hand.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import time
from pathlib import Path

from companion.errors import VaultLocked
from companion.portable import durable


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class VaultLock:
    """The lock file at ``path``. ``acquire`` then ``release``; also a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._token = secrets.token_hex(8)
        self._held = False

    def acquire(self) -> None:
        payload = json.dumps(
            {"host": socket.gethostname(), "pid": os.getpid(), "token": self._token}
        ).encode()
        for _attempt in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                if not self._break_if_stale():
                    raise self._locked_error() from None
                continue
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                fh.flush()
                durable.sync(fh.fileno())
            self._held = True
            return
        raise self._locked_error()

    def _owner(self) -> dict[str, object] | None:
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _break_if_stale(self) -> bool:
        owner = self._owner()
        if owner is None:
            # Unreadable or empty: a writer died between create and write. Only break it if it is
            # not brand new (a live writer may be between those two calls right now).
            try:
                if time.time() - self.path.stat().st_mtime < 5:
                    return False
            except FileNotFoundError:
                return True
        elif owner.get("host") != socket.gethostname():
            return False
        else:
            pid = owner.get("pid")
            if isinstance(pid, int) and _alive(pid):
                return False
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        return True

    def _locked_error(self) -> VaultLocked:
        owner = self._owner() or {}
        who = f"process {owner.get('pid', '?')} on {owner.get('host', '?')}"
        return VaultLocked(
            f"the vault is being written by another companion command ({who})",
            hint=(
                "Wait for it to finish. If that process is gone (another computer crashed), "
                f"delete the file {self.path.name} in the vault folder."
            ),
        )

    def release(self) -> None:
        if not self._held:
            return
        owner = self._owner()
        if owner is not None and owner.get("token") == self._token:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        self._held = False

    def __enter__(self) -> VaultLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
