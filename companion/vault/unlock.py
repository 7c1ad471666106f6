"""Opening the door: the format marker and the passphrase-protected key files.

``companion-vault.json`` says "this folder is a vault, format 1, and this is its public
recipient"; each ``keys/<id>.age`` holds the vault identity under one passphrase
(docs/design/vault-format.md, sections 2 and 3).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from companion.errors import UnsupportedFormat, UsageError, VaultNotFound, WrongPassphrase
from companion.vault import crypto
from companion.vault.fsio import access_error, atomic_write

MARKER = "companion-vault.json"
FORMAT_NAME = "companion-vault"
FORMAT_VERSION = 1


def marker_text(recipient: str) -> bytes:
    marker = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "recipient": recipient}
    return (json.dumps(marker, indent=2) + "\n").encode()


def read_marker(root: Path) -> str:
    """Check the format marker and return the vault's recipient."""
    try:
        marker = json.loads((root / MARKER).read_text("utf-8"))
    except FileNotFoundError as exc:
        raise VaultNotFound(f"no vault at {root}") from exc
    except OSError as exc:  # permissions, another user's vault, a file on the way: say which
        mistake = access_error(exc, root)
        raise mistake or UnsupportedFormat(f"{root / MARKER} is unreadable: {exc}") from exc
    except ValueError as exc:
        raise UnsupportedFormat(f"{root / MARKER} is unreadable: {exc}") from exc
    if not isinstance(marker, dict) or marker.get("format") != FORMAT_NAME:
        raise UnsupportedFormat(f"{root} is not a companion vault")
    if marker.get("version") != FORMAT_VERSION:
        raise UnsupportedFormat(f"vault format version {marker.get('version')} is not supported")
    recipient = marker.get("recipient")
    if not isinstance(recipient, str) or not recipient.startswith("age1"):
        raise UnsupportedFormat(f"{root / MARKER} names no recipient")
    return recipient


def key_files(root: Path) -> list[Path]:
    keys = root / "keys"
    return sorted(p for p in keys.glob("*.age") if p.is_file()) if keys.is_dir() else []


def unlock(root: Path, passphrase: str) -> crypto.Identity:
    """Try the passphrase on every key file; the first that opens gives the identity."""
    identity, _path = unlock_with_path(root, passphrase)
    return identity


def unlock_with_path(root: Path, passphrase: str) -> tuple[crypto.Identity, Path]:
    files = key_files(root)
    if not files:
        raise UnsupportedFormat(f"{root} has no key files in keys/")
    for path in files:
        try:
            text = crypto.passphrase_decrypt(path.read_bytes(), passphrase)
        except WrongPassphrase:
            continue
        return crypto.Identity.parse(text.decode("utf-8", "replace")), path
    raise WrongPassphrase("the passphrase does not open this vault")


def write_key_file(
    root: Path, identity: crypto.Identity, passphrase: str, work_factor: int
) -> Path:
    """Add ``keys/<random>.age``: the identity as an age identity file, under ``passphrase``."""
    if not passphrase:
        raise UsageError("the passphrase is empty", hint="Choose a passphrase you can remember.")
    text = f"# companion vault identity\n{identity.secret()}\n".encode("ascii")
    path = root / "keys" / f"{os.urandom(4).hex()}.age"
    atomic_write(
        path,
        crypto.passphrase_encrypt(text, passphrase, work_factor),
        root / "tmp",
        overwrite=False,
    )
    return path
