"""How the simulated iCloud misbehaves on purpose, and what it counts while it runs.

``Faults`` is a plain mutable dataclass, as for the simulated iPhone: a test flips a field from
any thread while the server runs, and the server reads it afresh on every request. The one-shot
faults (``throttle``, ``cut_downloads``, ``expire_session``) count themselves down as they fire,
under the server's lock.

Request kinds, as ``throttle`` and ``Stats.requests_by_kind`` name them (``classify`` tells a
request's kind; ``throttled`` is the answer to one throttled):

- ``auth``: idmsa, the sign-in and the two-factor steps (``/appleauth/auth/...``);
- ``setup``: ``/setup/ws/1/...`` (accountLogin, validate, requestWebAccessState, requestPCS...);
- ``query``: CloudKit ``records/query``, ``records/lookup`` and ``zones/list``;
- ``count``: CloudKit ``internal/records/query/batch`` (album sizes);
- ``modify``: CloudKit ``records/modify`` (delete, favourite, hide);
- ``download``: the files themselves (``GET /B/...``).
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field

from companion.simulator.icloud.wire import Reply, Request, json_reply

KINDS = ("auth", "setup", "query", "count", "modify", "download")
DATABASE = "/database/1/com.apple.photos.cloud/production/"
_CLOUDKIT_KINDS = {
    "records/query": "query",
    "records/lookup": "query",
    "zones/list": "query",
    "internal/records/query/batch": "count",
    "records/modify": "modify",
}


@dataclass
class Faults:
    """Misbehaviours a test switches on, from any thread, while the simulated iCloud runs.

    - ``throttle``: kind -> how many of the next requests of that kind answer 503 Service
      Unavailable (``Retry-After: retry_after_s``); each answer takes one off.
    - ``cut_downloads``: how many of the next download answers close the connection after half
      of the bytes they announced (Content-Length stays the full count); a client resumes with
      ``Range``. Each cut takes one off.
    - ``size_mismatch``: media paths (``DCIM/100APPLE/IMG_0001.JPG``, as the camera roll names
      them) whose records keep the true size while their downloads serve only the first three
      quarters of the bytes (with a Content-Length that matches what is sent).
    - ``web_access_off``: Advanced Data Protection with "Access iCloud Data on the Web" turned
      off: ``requestWebAccessState`` answers ``isICDRSDisabled: true`` and no device consent,
      ``enableDeviceConsentForPCS`` sends no notification, ``requestPCS`` fails, and CloudKit
      answers 403 ``ACCESS_DENIED`` "private db access disabled for this account".
    - ``indexing``: the library is still being indexed: ``CheckIndexingState`` answers
      ``RUNNING`` (anything but ``FINISHED`` makes pyicloud refuse the Photos service).
    - ``expire_session``: the next CloudKit request finds the web session expired: it answers
      421, and so does ``validate`` until the client signs in again with its session token
      (``accountLogin``; no password, no code). One-shot: it resets to False when it fires.
    """

    throttle: dict[str, int] = field(default_factory=dict)
    retry_after_s: int = 1
    cut_downloads: int = 0
    size_mismatch: frozenset[str] = frozenset()
    web_access_off: bool = False
    indexing: bool = False
    expire_session: bool = False

    def take_throttle(self, kind: str) -> bool:
        """Whether this request of ``kind`` is answered 503 (and count it off)."""
        left = self.throttle.get(kind, 0)
        if left <= 0:
            return False
        self.throttle[kind] = left - 1
        return True

    def take_cut(self) -> bool:
        """Whether this download is cut halfway (and count it off)."""
        if self.cut_downloads <= 0:
            return False
        self.cut_downloads -= 1
        return True

    def take_expiry(self) -> bool:
        """Whether the web session expires now (and reset the fault)."""
        if not self.expire_session:
            return False
        self.expire_session = False
        return True


@dataclass(frozen=True, slots=True)
class Stats:
    """What happened since start: requests by route and kind, sign-ins, codes, download bytes.

    ``requests`` counts routes by name (``signin/init``, ``signin/complete``, ``accountLogin``,
    ``validate``, ``records/query``, ``download``...); ``signins`` counts password proofs
    accepted, ``failed_signins`` those refused; ``codes_sent`` the codes pushed or texted;
    ``download_bytes`` the file bytes written to clients (cut answers included).
    """

    requests: Counter[str]
    requests_by_kind: Counter[str]
    signins: int
    failed_signins: int
    codes_sent: int
    download_bytes: int


@dataclass
class Counters:
    """The mutable side of ``Stats``, kept under the server's lock."""

    requests: Counter[str] = field(default_factory=Counter)
    requests_by_kind: Counter[str] = field(default_factory=Counter)
    signins: int = 0
    failed_signins: int = 0
    codes_sent: int = 0
    download_bytes: int = 0

    def snapshot(self) -> Stats:
        return Stats(
            Counter(self.requests),
            Counter(self.requests_by_kind),
            self.signins,
            self.failed_signins,
            self.codes_sent,
            self.download_bytes,
        )


def classify(request: Request) -> tuple[str, str]:
    """The request's kind (as ``Faults.throttle`` names them) and its route name."""
    path = request.path
    if path == "/appleauth/auth":
        return "auth", "auth"
    if path.startswith("/appleauth/auth/"):
        return "auth", path[len("/appleauth/auth/") :]
    if path.startswith("/setup/ws/1/"):
        return "setup", path[len("/setup/ws/1/") :]
    if path.startswith(DATABASE):
        operation = path[len(DATABASE) :].partition("/")[2]
        return _CLOUDKIT_KINDS.get(operation, "query"), operation or "cloudkit"
    if path.startswith("/B/"):
        return "download", "download"
    return "other", path


def throttled(kind: str, retry_after_s: int) -> Reply:
    """A 503 with ``Retry-After``: plain text for a download, a CloudKit error otherwise."""
    headers = [("Retry-After", str(retry_after_s))]
    if kind == "download":
        return Reply(503, b"Service Unavailable", "text/plain", headers)
    error = {
        "uuid": secrets.token_hex(16),
        "serverErrorCode": "THROTTLED",
        "reason": "too many requests, try again later",
    }
    return json_reply(503, error, headers)
