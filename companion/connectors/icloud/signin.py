"""Signing in to iCloud with pyicloud: the stored session first, then the password, then a
two-factor code; the session kept private.

pyicloud is pointed at the simulated iCloud by the narrowest redirection there is: a subclass
that overrides ``_setup_endpoints`` (the four addresses it starts from), with the simulated
iCloud's certificate authority as ``verify`` and ``trust_env`` off, so that ``REQUESTS_CA_BUNDLE``
and ``CURL_CA_BUNDLE`` cannot replace it. For Apple's iCloud nothing is overridden.

The service is always made with ``authenticate=False``: given no password, pyicloud would read
one from whatever keyring it finds, a plaintext file included (``keychain.py`` decides which
keyrings may be read). Sign-in then goes:

1. the stored session (``validate``, or a new web session from the session token): no password;
2. the password, from a safe keyring or asked (``ConnectOptions.ask``, typed without echo);
3. a two-factor code when iCloud wants one: ``IcloudOptions.code`` (``--code``), else asked
   (three tries at a terminal, one with ``--code``); then the session is trusted, which spares
   the next sign-ins a code for a while.

Session files: pyicloud rewrites ``<account>.session`` (the tokens) after every request with
``open(path, "w")``, which creates it with the umask's mode (0644) but keeps the mode of a file
that exists. So the file is made first, empty and 0600, and pyicloud's writes keep it so; its
cookie jar is written 0600 by the standard library. ``tighten`` makes every file of the folder
0600 again after each call, in case one was replaced behind its back.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pyicloud import PyiCloudService
from pyicloud.exceptions import PyiCloudFailedLoginException
from requests.adapters import HTTPAdapter

from companion.connectors.base import ConnectOptions
from companion.connectors.icloud import translate as tr
from companion.connectors.icloud.keychain import stored_password
from companion.connectors.icloud.options import Endpoints, IcloudOptions
from companion.errors import CompanionError, DeviceError
from companion.state import FILE_MODE, tighten_file

log = logging.getLogger(__name__)
T = TypeVar("T")

TIMEOUT = (30.0, 120.0)  # seconds to connect, and between two reads of an answer
CODE_TRIES = 3  # codes asked at a terminal before giving up
THROTTLE_TRIES = 5  # 503 answers in a row before giving up
LONGEST_WAIT = 120.0  # seconds waited after one 503, whatever iCloud asked
CODE_QUESTION = "Enter the 6-digit code shown on your iPhone or Mac"
SMS_QUESTION = "Enter the 6-digit code sent by text message to your phone"


class _PointedService(PyiCloudService):  # type: ignore[misc]  # pyicloud has no type hints
    """pyicloud's service with its four starting addresses replaced, when ``pointed`` is given
    (the simulated iCloud); Apple's otherwise."""

    def __init__(self, pointed: Endpoints | None, *args: Any, **kwargs: Any) -> None:
        self._pointed = pointed
        super().__init__(*args, **kwargs)

    def _setup_endpoints(self) -> None:
        if self._pointed is None:
            super()._setup_endpoints()
            return
        self._idmsa_endpoint = self._pointed.idmsa
        self._auth_endpoint = self._pointed.auth
        self._home_endpoint = self._pointed.home
        self._setup_endpoint = self._pointed.setup


class _Timeouts(HTTPAdapter):
    """Requests that wait at most ``TIMEOUT`` (pyicloud sets none: an answer that never comes
    would hang the command)."""

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = TIMEOUT
        return super().send(request, *args, **kwargs)


def make_service(
    apple_id: str, folder: Path, icloud: IcloudOptions, password: str | None = None
) -> Any:
    """pyicloud's service for ``apple_id``, its session kept in ``folder``; no request sent."""
    service = _PointedService(
        icloud.endpoints,
        apple_id,
        password,
        cookie_directory=str(folder),
        verify=str(icloud.ca_path) if icloud.ca_path is not None else True,
        authenticate=False,
    )
    session = service.session
    if icloud.ca_path is not None:
        session.trust_env = False  # the variables would replace the one authority to trust
    session.mount("https://", _Timeouts())
    _make_private(Path(session.session_path))
    return service


def _make_private(path: Path) -> None:
    """Create pyicloud's session file, empty and 0600, if it is not there yet."""
    with contextlib.suppress(FileExistsError):
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write("{}")


def tighten(folder: Path) -> None:
    """Every file in a session folder 0600 (pyicloud rewrites them after each request)."""
    with contextlib.suppress(FileNotFoundError):
        for path in folder.iterdir():
            if path.is_file() and not path.is_symlink():
                tighten_file(path)


def with_backoff(call: Callable[[], T], sleep: Callable[[float], None]) -> T:
    """``call()``, again after each 503 answer (waiting what iCloud asked, within reason), at
    most ``THROTTLE_TRIES`` times; then a clear error."""
    wait = 0.0
    for attempt in range(1, THROTTLE_TRIES + 1):
        try:
            return call()
        except CompanionError:
            raise
        except Exception as exc:
            if not tr.is_throttled(exc):
                raise
            wait = min(tr.retry_after(exc, 2.0**attempt), LONGEST_WAIT)
            if attempt == THROTTLE_TRIES:
                break
            log.info("iCloud asked to slow down; waiting %.0f s (try %d)", wait, attempt)
            sleep(wait)
    raise tr.throttled(THROTTLE_TRIES, wait)


def sign_in(
    apple_id: str,
    folder: Path,
    icloud: IcloudOptions,
    options: ConnectOptions,
    sleep: Callable[[float], None],
) -> Any:
    """A signed-in, trusted pyicloud service for ``apple_id``; our errors otherwise."""
    try:
        service = make_service(apple_id, folder, icloud)
        if resume(service, sleep):
            return service
        kept = stored_password(apple_id)
        password = kept or options.ask(
            f"Password for the Apple ID {apple_id}",
            secret=True,
            hint=f"Run 'companion icloud login {apple_id}' in a terminal first (the session is "
            "kept, so later commands need no password for a while), or keep the password in "
            "the system keyring (docs/icloud.md).",
        )
        service = make_service(apple_id, folder, icloud, password)
        try:
            with_backoff(service.authenticate, sleep)
        except PyiCloudFailedLoginException as exc:  # a 503 or no connection is not one
            raise tr.wrong_password(apple_id, from_keyring=kept is not None) from exc
        if service.requires_2fa or service.requires_2sa:
            _second_factor(service, apple_id, icloud, options)
        return service
    except CompanionError:
        raise
    except Exception as exc:
        raise tr.translate(exc, apple_id) from exc
    finally:
        tighten(folder)


def resume(service: Any, sleep: Callable[[float], None]) -> bool:
    """Whether the stored session signs in with no password and no code."""
    try:
        with_backoff(service.authenticate, sleep)
    except PyiCloudFailedLoginException:
        return False  # no session, or one iCloud no longer takes: the password is needed
    return bool(service.is_trusted_session) and not service.requires_2fa


def _second_factor(
    service: Any, apple_id: str, icloud: IcloudOptions, options: ConnectOptions
) -> None:
    if not service.requires_2fa:
        raise DeviceError(
            f"{apple_id} uses Apple's older two-step verification, which companion does not "
            "support",
            hint="Turn on two-factor authentication for the Apple ID (https://appleid.apple.com).",
        )
    if service.security_key_names:
        raise DeviceError(
            f"{apple_id} signs in with a security key, which companion does not support yet",
            hint="Sign in with a code from a trusted device instead, if the Apple ID allows it.",
        )
    by_text = service.two_factor_delivery_method == "sms"
    question = SMS_QUESTION if by_text else CODE_QUESTION
    tries = 1 if icloud.code else CODE_TRIES
    for attempt in range(tries):
        code = icloud.code or options.ask(
            question,
            hint=f"Run 'companion icloud login {apple_id}' in a terminal (the session is then "
            "trusted for a while), or give the code: "
            f"'companion icloud login {apple_id} --code CODE'.",
        )
        if service.validate_2fa_code(code.strip().replace(" ", "")):
            break
        log.info("two-factor code refused (try %d of %d)", attempt + 1, tries)
    else:
        raise tr.wrong_code(apple_id)
    if not service.is_trusted_session and not service.trust_session():
        raise DeviceError(
            "iCloud accepted the code but would not trust this session",
            hint=f"Run 'companion icloud login {apple_id}' again in a few minutes.",
        )
