"""The one error tree that crosses package boundaries.

Every error a person can meet is a ``CompanionError``: a one-line message, a hint that says what to
do next, and the process exit code the command line returns for it. Adapters translate third-party
exceptions at their edge (``raise SourceUnavailable(...) from exc``); nothing else escapes.

::

    CompanionError (1, unexpected)
    +-- UsageError (2)
    +-- Cancelled (3)
    +-- PartialFailure (4)              some assets failed, the rest succeeded
    +-- SourceUnavailable (10)          phone, folder or account cannot be read
    |   +-- SourceChanged (10)          a file changed or shrank while it was read
    |   |   +-- SizeMismatch (10)       it gave more or fewer bytes than its listing said
    |   +-- CloudOnly (10)              the original is only in iCloud (Optimize iPhone Storage)
    +-- DeviceError (10)                the iPhone cannot be reached: stops the whole run
    |   +-- DeviceNotFound (10)
    |   +-- DeviceLocked (10)           passcode-locked: unlock it
    |   +-- TrustDenied (10)            the person tapped Don't Trust
    |   +-- TrustTimeout (10)           nobody tapped Trust in time
    |   +-- DeviceDisconnected (10)     the cable was pulled, the phone went away mid-run
    +-- VaultError (1)
    |   +-- VaultNotFound (2)
    |   +-- VaultExists (2)
    |   +-- VaultInaccessible (2)       permissions, another user's vault, read-only disk, a file
    |   +-- VaultLocked (11)            another writer holds the lock
    |   +-- WrongPassphrase (12)
    |   +-- UnsupportedFormat (13)
    |   +-- IntegrityError (13)         an object or a segment is damaged
    |   +-- StorageFull (15)            the disk being written (the vault's, a restore's) is full
    +-- UnsafeDelete (14)               cleanup refused: the vault holds no verified copy

Each exit code's meaning is written once, in ``MEANINGS``: the command line's ``--help`` epilog
is made from it (``exit_status``) and a test holds docs/cli.md to it.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; documented in docs/cli.md and every ``--help``."""

    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    CANCELLED = 3
    PARTIAL = 4
    SOURCE_UNAVAILABLE = 10
    VAULT_LOCKED = 11
    WRONG_PASSPHRASE = 12
    INTEGRITY = 13
    UNSAFE_DELETE = 14
    STORAGE_FULL = 15


MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "ok",
    ExitCode.UNEXPECTED: "unexpected error (a bug)",
    ExitCode.USAGE: "usage (also a vault folder you may not use)",
    ExitCode.CANCELLED: "cancelled or interrupted",
    ExitCode.PARTIAL: "partial (some assets failed)",
    ExitCode.SOURCE_UNAVAILABLE: "source unavailable",
    ExitCode.VAULT_LOCKED: "vault locked by another command",
    ExitCode.WRONG_PASSPHRASE: "wrong passphrase",
    ExitCode.INTEGRITY: "integrity failure",
    ExitCode.UNSAFE_DELETE: "removal refused: no verified copy",
    ExitCode.STORAGE_FULL: "disk full",
}
# Codes no command returns yet: documented as reserved, left out of ``--help``.
RESERVED: frozenset[ExitCode] = frozenset()


def exit_status() -> str:
    """The exit-status paragraph every ``--help`` ends with, made from ``MEANINGS``."""
    shown = [f"{int(code)} {MEANINGS[code]}" for code in ExitCode if code not in RESERVED]
    return "Exit status: " + " · ".join(shown) + "."


class CompanionError(Exception):
    """Base of every error meant for a person: message, hint and exit code."""

    exit_code: ExitCode = ExitCode.UNEXPECTED
    default_hint: str = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        return self.message


class UsageError(CompanionError):
    exit_code = ExitCode.USAGE
    default_hint = "Run the command with --help to see what it accepts."


class Cancelled(CompanionError):
    exit_code = ExitCode.CANCELLED
    default_hint = "Nothing was changed after the point of cancellation."


class PartialFailure(CompanionError):
    exit_code = ExitCode.PARTIAL
    default_hint = "Run the same command again: finished work is kept and only failures retry."


class SourceUnavailable(CompanionError):
    exit_code = ExitCode.SOURCE_UNAVAILABLE
    default_hint = "Check that the source is connected and readable, then run the command again."


class SourceChanged(SourceUnavailable):
    default_hint = "The file was changing while it was read; it will be retried on the next run."


class SizeMismatch(SourceChanged):
    """A file gave another number of bytes than its listing announced (``listed``, ``read``).

    A backup reads such a file once more and stores it as read (docs/design/faulty-sources.md):
    the listing of a phone is not to be trusted, its bytes are what there is to keep.
    """

    def __init__(self, message: str, *, listed: int, read: int) -> None:
        super().__init__(message)
        self.listed = listed
        self.read = read


class CloudOnly(SourceUnavailable):
    default_hint = (
        "The iPhone keeps only a small preview (Optimize iPhone Storage is on): back it up "
        "from iCloud, or download the originals on the iPhone first."
    )


class DeviceError(CompanionError):
    """The phone as a whole: unlike ``SourceUnavailable`` (one file), this stops the run."""

    exit_code = ExitCode.SOURCE_UNAVAILABLE
    default_hint = "Check the cable, unlock the iPhone, and run the command again."


class DeviceNotFound(DeviceError):
    default_hint = (
        "Connect the iPhone with a cable, unlock it, and check 'companion devices'. "
        "On Linux, usbmuxd must be running (or USBMUXD_SOCKET_ADDRESS set)."
    )


class DeviceLocked(DeviceError):
    default_hint = "Unlock the iPhone, keep it unlocked, then run the command again."


class TrustDenied(DeviceError):
    default_hint = (
        "Unplug and reconnect the iPhone, then tap Trust and enter the passcode. If the dialog "
        "no longer appears: Settings > General > Transfer or Reset iPhone > Reset > "
        "Reset Location & Privacy."
    )


class TrustTimeout(DeviceError):
    default_hint = "Unlock the iPhone, tap Trust on the dialog and enter the passcode, then retry."


class DeviceDisconnected(DeviceError):
    default_hint = (
        "Reconnect the iPhone and run the same command again: everything finished so far is "
        "kept and the backup resumes."
    )


class VaultError(CompanionError):
    pass


class VaultNotFound(VaultError):
    exit_code = ExitCode.USAGE
    default_hint = "Create one with 'companion vault init', or point --vault at an existing vault."


class VaultExists(VaultError):
    exit_code = ExitCode.USAGE
    default_hint = "Choose another --vault folder; an existing vault is never overwritten."


class VaultInaccessible(VaultError):
    """The vault's folder cannot be used as asked: this user may not read or write it (another
    user's vault, permissions), the disk is read-only, or a file stands where a folder must be."""

    exit_code = ExitCode.USAGE
    default_hint = "Choose another --vault folder, or fix the permissions of this one."


class VaultLocked(VaultError):
    exit_code = ExitCode.VAULT_LOCKED
    default_hint = "Wait for the other companion command to finish, then try again."


class WrongPassphrase(VaultError):
    exit_code = ExitCode.WRONG_PASSPHRASE
    default_hint = (
        "Check the passphrase (COMPANION_PASSPHRASE or --passphrase-file if you use them)."
    )


class UnsupportedFormat(VaultError):
    exit_code = ExitCode.INTEGRITY
    default_hint = "This vault was written by another version of companion; upgrade companion."


class IntegrityError(VaultError):
    exit_code = ExitCode.INTEGRITY
    default_hint = "Run 'companion verify --full' to list every damaged asset."


class StorageFull(VaultError):
    """The disk being written is full: the vault's (a backup, a scan's records) or a restore's
    target. What was written before stays consistent: nothing half-written is published."""

    exit_code = ExitCode.STORAGE_FULL
    default_hint = "Free some space on the disk that holds the vault, then run the command again."


class UnsafeDelete(CompanionError):
    exit_code = ExitCode.UNSAFE_DELETE
    default_hint = (
        "Back them up again ('companion backup'), then run 'companion cleanup --verify-first'."
    )
