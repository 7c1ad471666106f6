"""pymobiledevice3's exceptions (and a socket's) as ours, each with what to do about it.

Two kinds of trouble, kept apart: the link itself failing (a cable pulled, the phone closing the
connection mid-reply, a socket error) stops the run with ``DeviceDisconnected``; anything else
that happens while one file is asked for (an AFC error status, an answer the client cannot
parse) is that file's ``SourceUnavailable``, and the backup goes on with the others.
"""

from __future__ import annotations

import asyncio

from companion.errors import (
    CompanionError,
    DeviceDisconnected,
    DeviceError,
    DeviceLocked,
    DeviceNotFound,
    SourceChanged,
    SourceUnavailable,
    TrustDenied,
    TrustTimeout,
)
from companion.portable import reach


def is_link_failure(exc: BaseException) -> bool:
    """True if ``exc`` means the link to the phone is gone (not just one file refused)."""
    from pymobiledevice3 import exceptions as pm

    if isinstance(exc, pm.AfcException):  # an OSError too, but the phone answered
        return False
    return isinstance(
        exc,
        pm.ConnectionTerminatedError
        | pm.MuxException
        | ConnectionError
        | EOFError  # asyncio.IncompleteReadError: the phone closed the link mid-reply
        | OSError  # socket and TLS errors
        | TimeoutError
        | asyncio.CancelledError,
    )


def translate_file(exc: BaseException, path: str, udid: str | None) -> CompanionError:
    """Our error for a failure while ``path`` was asked for: the lost link stops the run,
    anything else is this file's failure, named, with its cause."""
    if isinstance(exc, CompanionError):
        return exc
    if is_link_failure(exc):
        return DeviceDisconnected(f"the iPhone was disconnected while {path} was read")
    error = translate(exc, udid, path=path)
    if type(error) is not DeviceError:  # a known cause: this file's, or the phone's (locked)
        return error
    return SourceUnavailable(
        f"the iPhone answered oddly about {path} ({type(exc).__name__}: {exc})",
        hint="It is retried on the next run; if it keeps failing, open it in the Photos app.",
    )


def translate(
    exc: BaseException, udid: str | None, trust_timeout: float = 0, path: str | None = None
) -> CompanionError:
    """Our error for one of pymobiledevice3's (or a socket's), with what to do about it."""
    from pymobiledevice3 import exceptions as pm

    if isinstance(exc, CompanionError):
        return exc
    if isinstance(exc, pm.ConnectionFailedToUsbmuxdError):
        return DeviceNotFound(
            "cannot reach usbmuxd (it talks to iPhones over USB)", reach.unreachable_hint()
        )
    if isinstance(exc, pm.DeviceNotFoundError):
        return DeviceNotFound(f"no iPhone with UDID {udid} is connected")
    if isinstance(exc, pm.NoDeviceConnectedError):
        return DeviceNotFound("no iPhone is connected")
    if isinstance(exc, pm.PasswordRequiredError | pm.PasscodeRequiredError):
        return DeviceLocked("the iPhone is locked")
    if isinstance(exc, pm.UserDeniedPairingError):
        return TrustDenied("the iPhone does not trust this computer (Don't Trust was tapped)")
    if isinstance(exc, pm.PairingDialogResponsePendingError):
        return TrustTimeout(f"nobody tapped Trust on the iPhone within {trust_timeout:.0f} s")
    path = path or getattr(exc, "filename", None) or "a file"
    if isinstance(exc, pm.AfcFileNotFoundError):
        return SourceChanged(f"{path} is no longer on the iPhone")
    if isinstance(exc, pm.AfcException):  # before OSError, of which it is a subclass
        return SourceUnavailable(
            f"the iPhone could not read {path} (AFC status {exc.status})",
            hint="It is retried on the next run; if it keeps failing, open it in the Photos app.",
        )
    if isinstance(exc, pm.ConnectionTerminatedError | pm.MuxException | OSError | EOFError):
        return DeviceDisconnected("the iPhone was disconnected")
    if isinstance(exc, pm.PairingError | pm.NotPairedError | pm.FatalPairingError):
        return DeviceError(
            f"pairing with the iPhone failed ({type(exc).__name__})",
            hint="Unplug the iPhone, reconnect it, unlock it and tap Trust.",
        )
    return DeviceError(f"the iPhone answered unexpectedly: {type(exc).__name__}: {exc}")
