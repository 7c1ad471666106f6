"""Passphrases. Each ``keys/*.age`` file holds the same vault identity under one passphrase, so
adding or changing a passphrase rewrites one small file and never re-encrypts any data."""

from __future__ import annotations

from pathlib import Path

from companion.errors import UsageError
from companion.vault import crypto
from companion.vault.fsio import fsync_dir, vault_access
from companion.vault.lock import VaultLock
from companion.vault.unlock import (
    inspect_key_files,
    read_marker,
    unlock_with_path,
    write_key_file,
)


def add_passphrase(
    root: Path, passphrase: str, new_passphrase: str, work_factor: int = crypto.DEFAULT_WORK_FACTOR
) -> Path:
    """Add a key file for ``new_passphrase``; ``passphrase`` must already open the vault."""
    read_marker(root)
    with vault_access(root):
        identity, _path = unlock_with_path(root, passphrase)
        with VaultLock(root / "lock"):
            return write_key_file(root, identity, new_passphrase, work_factor)


def change_passphrase(
    root: Path, passphrase: str, new_passphrase: str, work_factor: int = crypto.DEFAULT_WORK_FACTOR
) -> Path:
    """Replace the key file that ``passphrase`` opens with one for ``new_passphrase``.

    The new file is durable before the old one is removed: a crash in between leaves both
    passphrases working, never neither.
    """
    read_marker(root)
    with vault_access(root):
        identity, old = unlock_with_path(root, passphrase)
        if new_passphrase == passphrase:
            raise UsageError("the new passphrase is the same as the old one")
        with VaultLock(root / "lock"):
            new = write_key_file(root, identity, new_passphrase, work_factor)
            old.unlink()
            fsync_dir(old.parent)
    return new


def remove_passphrase(root: Path, passphrase: str) -> None:
    """Delete the key file that ``passphrase`` opens, unless it is the last one.

    Only key files that can be tried count: a damaged one, or one that asks for more work than
    companion accepts, would leave the vault with no passphrase at all.
    """
    read_marker(root)
    with vault_access(root):
        _identity, path = unlock_with_path(root, passphrase)
        if sum(key.usable for key in inspect_key_files(root)) < 2:
            raise UsageError(
                "this is the vault's only passphrase",
                hint="Add another with 'companion key add' first.",
            )
        with VaultLock(root / "lock"):
            path.unlink()
            fsync_dir(path.parent)


def export_identity(root: Path, passphrase: str) -> str:
    """The recovery identity (``AGE-SECRET-KEY-1...``). Whoever holds it can read everything."""
    read_marker(root)
    with vault_access(root):
        identity, _path = unlock_with_path(root, passphrase)
    return identity.secret()
