"""pymobiledevice3's exceptions (and a socket's) as ours, each with what to do about it."""

from __future__ import annotations

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

_USBMUXD_HINT = (
    "Install and start usbmuxd (Debian and Ubuntu: sudo apt install usbmuxd), or point "
    "USBMUXD_SOCKET_ADDRESS at a running one."
)


def translate(
    exc: BaseException, udid: str | None, trust_timeout: float = 0, path: str | None = None
) -> CompanionError:
    """Our error for one of pymobiledevice3's (or a socket's), with what to do about it."""
    from pymobiledevice3 import exceptions as pm

    if isinstance(exc, CompanionError):
        return exc
    if isinstance(exc, pm.ConnectionFailedToUsbmuxdError):
        return DeviceNotFound("cannot reach usbmuxd (it talks to iPhones over USB)", _USBMUXD_HINT)
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
