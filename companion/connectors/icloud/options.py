"""What only the iCloud connector is told, and where each account's session is kept.

A value of ``ConnectOptions.per_connector``; imports no iCloud library, so a command builds it
before knowing whether iCloud is needed at all.

Sessions: signing in to iCloud leaves a session (tokens that read the whole photo library, and
the trust token that spares the next sign-in a two-factor code). pyicloud keeps them in a shared
temporary folder unless told otherwise; companion keeps them in its private state folder
(``companion.state``), one folder per Apple ID: ``<state>/icloud/<apple id>/``, 0700, every file
0600.

The simulated iCloud (``companion simulator icloud``, the tests, the demo) is reached through
one environment variable, read here and nowhere else: ``COMPANION_ICLOUD_SIMULATOR`` holds the
JSON object that command prints (or the path of a file holding it). Only HTTPS endpoints on this
computer are accepted: it is a testing aid, not a way to send an Apple ID anywhere else.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from companion.errors import UsageError
from companion.state import FOLDER_MODE, private_dir, state_root

SIMULATOR_ENV = "COMPANION_ICLOUD_SIMULATOR"
DOWNLOADS = 4  # files downloaded at once, unless told otherwise
SESSIONS = "icloud"  # in companion's state folder
SESSION_SUFFIX = ".session"  # pyicloud's session file: the tokens

_APPLE_ID = re.compile(r"[a-z0-9._%+'-]+@[a-z0-9.-]+\.[a-z]{2,}|\+?[0-9]{6,15}")
_LOCAL_HOSTS = ("localhost",)


@dataclass(frozen=True, slots=True)
class Endpoints:
    """The four addresses pyicloud's ``PyiCloudService._setup_endpoints`` sets: where to sign in
    (``idmsa``, ``auth``), the web origin (``home``) and the account set-up service (``setup``).
    The photo library and download hosts then come from the server's answers."""

    idmsa: str
    auth: str
    home: str
    setup: str


@dataclass(frozen=True, slots=True)
class IcloudOptions:
    """``endpoints``: None for Apple's own; the simulated iCloud's otherwise. ``ca_path``: a
    certificate authority to trust instead of the system's, for those endpoints only (the
    variables ``REQUESTS_CA_BUNDLE`` and ``CURL_CA_BUNDLE`` cannot override it). ``session_dir``:
    where sessions are kept, one folder per Apple ID (None: companion's private state folder).
    ``code``: a two-factor code given up front (``--code``), used instead of asking. ``downloads``:
    how many files a backup downloads at once, each on an HTTP session of its own
    (``prefetch.py``). ``albums``: back up only the pictures of the albums so named (none: the
    whole library). ``shared``: also list the iCloud Shared Photo Libraries the person takes
    part in.
    """

    endpoints: Endpoints | None = None
    ca_path: Path | None = None
    session_dir: Path | None = None
    code: str | None = None
    downloads: int = DOWNLOADS
    albums: tuple[str, ...] = ()
    shared: bool = True

    def __post_init__(self) -> None:
        if self.downloads < 1:
            raise ValueError(f"downloads must be at least 1, got {self.downloads}")

    def where(self) -> Path:
        """The folder of sessions (not created: see ``sessions``)."""
        return self.session_dir if self.session_dir is not None else state_root() / SESSIONS

    def sessions(self) -> Path:
        """The folder of sessions, created 0700 if needed."""
        if self.session_dir is None:
            return private_dir(SESSIONS)
        return _private_folder(self.session_dir)

    def account_folder(self, apple_id: str) -> Path:
        """The folder of one account's session, created 0700 if needed."""
        name = check_apple_id(apple_id)
        if self.session_dir is None:
            return private_dir(SESSIONS, name)
        return _private_folder(self.sessions() / name)


def check_apple_id(text: str) -> str:
    """An Apple ID as companion writes it (an e-mail address in lower case, or a phone number
    without spaces); a ``UsageError`` for anything else."""
    apple_id = text.strip().lower().replace(" ", "")
    if not _APPLE_ID.fullmatch(apple_id) or ".." in apple_id:
        raise UsageError(
            f"{text!r} is not an Apple ID",
            hint="An Apple ID is the e-mail address (or phone number) you sign in to iCloud "
            "with, e.g. icloud:you@example.com.",
        )
    return apple_id


def known_accounts(options: IcloudOptions) -> list[str]:
    """The Apple IDs with a session in the sessions folder, sorted (creates nothing)."""
    root = options.where()
    if not root.is_dir():
        return []
    return sorted(
        folder.name
        for folder in root.iterdir()
        if folder.is_dir() and _APPLE_ID.fullmatch(folder.name) and _has_session(folder)
    )


def _has_session(folder: Path) -> bool:
    """Whether a session file of the folder holds a session token (one made for a sign-in
    that failed holds nothing)."""
    for path in folder.iterdir():
        if not path.name.endswith(SESSION_SUFFIX):
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("session_token"):
            return True
    return False


def from_environment(code: str | None = None, albums: tuple[str, ...] = ()) -> IcloudOptions:
    """The options a command gives the iCloud connector: Apple's iCloud, or the simulated one
    when ``COMPANION_ICLOUD_SIMULATOR`` names it; ``code`` from ``--code``, ``albums`` from
    ``--album``."""
    given = os.environ.get(SIMULATOR_ENV, "").strip()
    if not given:
        return IcloudOptions(code=code, albums=albums)
    info = _simulator_info(given)
    try:
        endpoints = Endpoints(
            idmsa=_local_https(info["idmsa_endpoint"]),
            auth=_local_https(info["auth_endpoint"]),
            home=_local_https(info["home_endpoint"]),
            setup=_local_https(info["setup_endpoint"]),
        )
        ca_path = Path(str(info["ca_path"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad_simulator(
            f"{SIMULATOR_ENV} does not describe a simulated iCloud ({exc})"
        ) from exc
    return IcloudOptions(endpoints=endpoints, ca_path=ca_path, code=code, albums=albums)


def _simulator_info(given: str) -> dict[str, object]:
    try:
        text = given if given.startswith("{") else Path(given).read_text(encoding="utf-8")
        info = json.loads(text)
    except (OSError, ValueError) as exc:
        raise _bad_simulator(f"{SIMULATOR_ENV} is neither JSON nor a readable JSON file") from exc
    if not isinstance(info, dict):
        raise _bad_simulator(f"{SIMULATOR_ENV} is not a JSON object")
    return info


def _local_https(value: object) -> str:
    """``value`` if it is an HTTPS address on this computer; ValueError otherwise."""
    url = str(value)
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https" or not _is_local(host):
        raise ValueError(f"not an HTTPS address on this computer: {url}")
    return url.rstrip("/")


def _is_local(host: str) -> bool:
    if host in _LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bad_simulator(message: str) -> UsageError:
    return UsageError(
        message,
        hint=f"Set {SIMULATOR_ENV} to what 'companion simulator icloud' prints (the JSON object "
        "or a file holding it), or unset it to use iCloud itself.",
    )


def _private_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    if os.name != "nt":
        folder.chmod(FOLDER_MODE)
    return folder
