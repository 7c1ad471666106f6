"""pyicloud's exceptions as ours, each with what the person can do about it.

Everything here concerns the account as a whole, so it stops a run (``DeviceError``, exit 10):
a refused password or code, Advanced Data Protection keeping web access off, a library still
being indexed, iCloud asking to slow down again and again, a session that expired and could not
be renewed, no connection. One file that cannot be downloaded is that file's
``SourceUnavailable`` instead (``download.py``).

pyicloud's messages may carry Apple's answers verbatim; none is passed on: only the exception's
kind, Apple's short reason and its code, so that no token can reach a message or a log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from pyicloud.exceptions import (
    PyiCloudAcceptTermsException,
    PyiCloudAccountLockedException,
    PyiCloudAPIResponseException,
    PyiCloudConnectionException,
    PyiCloudException,
    PyiCloudFailedLoginException,
    PyiCloudPCSTimeoutException,
    PyiCloudServiceNotActivatedException,
    PyiCloudServiceUnavailable,
)

from companion.errors import CompanionError, DeviceError

THROTTLED = 503
EXPIRED = (421, 401, "AUTHENTICATION_FAILED", "AUTHENTICATION_REQUIRED")
_PCS_REFUSED = "Unable to request PCS access!"  # pyicloud's words for web access turned off
_DB_REFUSED = "private db access disabled"  # CloudKit's, for the same
_INDEXING = "finished indexing"


def login_hint(apple_id: str) -> str:
    return (
        f"Run 'companion icloud login {apple_id}' in a terminal, then the same command again: "
        "what was backed up is kept."
    )


def api_error(exc: BaseException) -> PyiCloudAPIResponseException | None:
    """The response error ``exc`` is or wraps (pyicloud wraps some in login and service
    errors), if any."""
    seen: BaseException | None = exc
    for _depth in range(8):
        if seen is None or isinstance(seen, PyiCloudAPIResponseException):
            return seen
        nested = [arg for arg in seen.args if isinstance(arg, BaseException)]
        seen = seen.__cause__ or (nested[0] if nested else None)
    return None


def is_throttled(exc: BaseException) -> bool:
    found = api_error(exc)
    return found is not None and found.code == THROTTLED


def is_expired(exc: BaseException) -> bool:
    found = api_error(exc)
    return found is not None and found.code in EXPIRED


def retry_after(exc: BaseException, default: float) -> float:
    """The seconds a 503 answer asked to wait (``Retry-After``, seconds or a date), else
    ``default``."""
    found = api_error(exc)
    response = getattr(found, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    return parse_retry_after(value, default)


def parse_retry_after(value: str | None, default: float) -> float:
    if not value:
        return default
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def throttled(tries: int, wait: float | None = None) -> DeviceError:
    asked = f" (iCloud asked for {wait:.0f} s at a time)" if wait else ""
    return DeviceError(
        f"iCloud asked to slow down (HTTP 503) {tries} times in a row",
        hint=f"Wait a while{asked} and run the same command again: what was backed up is kept.",
    )


def expired(apple_id: str) -> DeviceError:
    return DeviceError(
        f"the iCloud session of {apple_id} expired and could not be renewed",
        hint=login_hint(apple_id),
    )


def translate(exc: BaseException, apple_id: str) -> CompanionError:
    """Our error for one of pyicloud's (or a connection's)."""
    if isinstance(exc, CompanionError):
        return exc
    if isinstance(exc, PyiCloudConnectionException | ConnectionError | TimeoutError):
        return DeviceError(
            "cannot reach iCloud",
            hint="Check this computer's internet connection, then run the same command again.",
        )
    if isinstance(exc, PyiCloudAccountLockedException):
        return DeviceError(
            f"Apple has locked the Apple ID {apple_id}",
            hint="Unlock it at https://iforgot.apple.com, then run 'companion icloud login'.",
        )
    if isinstance(exc, PyiCloudAcceptTermsException):
        return DeviceError(
            "Apple's iCloud terms changed and were not accepted yet for this Apple ID",
            hint="Sign in at https://www.icloud.com once and accept them, then run it again.",
        )
    if _is_web_access_off(exc):
        return web_access_off()
    if _is_indexing(exc):
        return DeviceError(
            "your iCloud Photos library is still being prepared (indexed) by iCloud",
            hint="This happens after turning iCloud Photos on or after a large import: try "
            "again in a few hours.",
        )
    if is_throttled(exc):
        return throttled(1)
    if is_expired(exc):
        return expired(apple_id)
    if isinstance(exc, PyiCloudFailedLoginException):
        return wrong_password(apple_id)
    if isinstance(exc, PyiCloudServiceUnavailable):
        return DeviceError(
            f"iCloud Photos is not available for {apple_id}",
            hint="Check that iCloud Photos is turned on (on the iPhone: Settings > [your name] > "
            "iCloud > Photos), then run the command again.",
        )
    return DeviceError(
        f"iCloud answered unexpectedly ({_described(exc)})",
        hint="Run the same command again in a while; if it keeps happening, run it with "
        "--debug and report the output (it holds no password or token).",
    )


def wrong_password(apple_id: str, *, from_keyring: bool = False) -> DeviceError:
    kept = " kept in the system keyring" if from_keyring else ""
    return DeviceError(
        f"iCloud refused the password{kept} of {apple_id}",
        hint=f"Check the Apple ID and its password, then run 'companion icloud login {apple_id}'. "
        "After several wrong passwords Apple may lock the Apple ID for a while.",
    )


def wrong_code(apple_id: str) -> DeviceError:
    return DeviceError(
        "iCloud refused the two-factor code",
        hint=f"Run 'companion icloud login {apple_id}' again and type the newest code shown on "
        "your iPhone, iPad or Mac (a code is good for a few minutes only).",
    )


def web_access_off() -> DeviceError:
    return DeviceError(
        "iCloud does not let this computer read your photos: Advanced Data Protection is on "
        "and web access to iCloud data is off",
        hint="On your iPhone: Settings > [your name] > iCloud > Access iCloud Data on the Web: "
        "turn it on for the backup (you may turn it off again afterwards), then run the same "
        "command again.",
    )


def _is_web_access_off(exc: BaseException) -> bool:
    if isinstance(exc, PyiCloudPCSTimeoutException):
        return True
    found = api_error(exc)
    reason = (found.reason or "") if found is not None else ""
    return reason == _PCS_REFUSED or _DB_REFUSED in reason


def _is_indexing(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, PyiCloudServiceNotActivatedException) and _INDEXING in str(seen.reason):
            return True
        seen = seen.__cause__
    return False


def _described(exc: BaseException) -> str:
    found = api_error(exc)
    if found is not None:
        code = f", {found.code}" if found.code else ""
        return f"{type(exc).__name__}{code}"
    if isinstance(exc, PyiCloudException):
        return type(exc).__name__
    return f"{type(exc).__name__}: {exc}"
