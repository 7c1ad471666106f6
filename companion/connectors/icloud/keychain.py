"""The Apple ID password from the system's keyring, and only from one that keeps it secret.

``keyring`` finds a store on every computer, but not always a safe one: without a desktop
keyring (no Secret Service, as on a server) it falls back to ``keyrings.alt``, whose
``PlaintextKeyring`` keeps passwords in a file in clear, and whose ``EncryptedKeyring`` asks for
a password of its own on the terminal. pyicloud reads that store by itself when it is given no
password; companion makes its service so that it never does (``signin.py``), and reads only
stores that keep secrets: the macOS Keychain, Windows' Credential Locker, the Secret Service (GNOME
Keyring, KWallet). Anything from ``keyrings.alt``, or named plaintext, or not usable here, is
skipped. The password is looked up where pyicloud's own command line saves it (``icloud
--username``), so one saved there is found.

Nothing is ever written to a keyring here.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

SERVICE = "pyicloud://icloud-password"  # pyicloud's name for the entry
_UNSAFE_MODULES = ("keyrings.alt", "keyring.backends.fail", "keyring.backends.null")


def stored_password(apple_id: str) -> str | None:
    """The password saved for ``apple_id`` in a safe keyring, or None."""
    for backend in safe_backends():
        try:
            password = backend.get_password(SERVICE, apple_id)
        except Exception as exc:  # a locked or broken store: as if it held nothing
            log.debug("the keyring %s could not be read: %s", _name(backend), type(exc).__name__)
            continue
        if isinstance(password, str) and password:
            log.debug("the password of %s comes from the keyring %s", apple_id, _name(backend))
            return password
    return None


def safe_backends() -> list[Any]:
    """The keyrings in use here that keep a password secret, most preferred first."""
    try:
        import keyring
        from keyring.backends.chainer import ChainerBackend
    except ImportError:  # pragma: no cover - keyring comes with pyicloud
        return []
    current = keyring.get_keyring()
    chain = list(current.backends) if isinstance(current, ChainerBackend) else [current]
    safe = [backend for backend in chain if is_safe(backend)]
    for backend in chain:
        if backend not in safe:
            log.debug("not reading the keyring %s: it does not keep secrets", _name(backend))
    return safe


def is_safe(backend: object) -> bool:
    """Whether a keyring backend keeps passwords secret without asking on the terminal."""
    kind = type(backend)
    if kind.__module__.startswith(_UNSAFE_MODULES) or "plaintext" in kind.__name__.lower():
        return False
    if kind.__name__ == "ChainerBackend":
        return False
    try:
        priority = float(getattr(backend, "priority", 0))
    except Exception:  # a backend that cannot run here says so by raising
        return False
    return priority > 0


def _name(backend: object) -> str:
    kind = type(backend)
    return f"{kind.__module__}.{kind.__name__}"
