"""``SimulatedICloud``: an iCloud account with a Photos library, served over HTTPS on 127.0.0.1.

One server answers for every Apple host a web client talks to, on Apple's own paths:
idmsa.apple.com (``/appleauth/auth/...``), setup.icloud.com (``/setup/ws/1/...``), the
account's CloudKit host (``/database/1/com.apple.photos.cloud/production/{private,shared}/...``)
and the content host the download URLs name (``/B/<file>/${f}``). A client is pointed at it by
the four endpoints pyicloud's ``PyiCloudService._setup_endpoints`` sets (``idmsa_endpoint``,
``auth_endpoint``, ``home_endpoint``, ``setup_endpoint``, attributes here) and trusts its
throw-away CA at ``ca_path``; the CloudKit and content hosts then come from its answers, as with
Apple. Nothing is written but the CA certificate, in a private folder removed at ``stop``.

All state (sign-ins, the library's flags) sits behind one lock; downloads stream outside it.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from companion.simulator.foreground import serve_until_stopped
from companion.simulator.icloud.auth import Account, Idmsa, Tokens, json_object
from companion.simulator.icloud.cloudkit import Database
from companion.simulator.icloud.faults import (
    DATABASE,
    Counters,
    Faults,
    Stats,
    classify,
    throttled,
)
from companion.simulator.icloud.library import MIME_TYPES, CloudAsset, build_library
from companion.simulator.icloud.records import Links, RecordMaker
from companion.simulator.icloud.setup import Setup
from companion.simulator.icloud.tls import make_server_context
from companion.simulator.icloud.wire import Download, HttpsServer, Reply, Request, json_reply
from companion.simulator.media import MediaItem

log = logging.getLogger(__name__)

DEFAULT_APPLE_ID = "owner@example.com"
DEFAULT_PASSWORD = "simulated-icloud-password"  # noqa: S105 - the pretend account's
DEFAULT_CODE = "123456"
PRIMARY_ZONE = "PrimarySync"
SHARED_ZONE = "SharedSync-5E1F2A3B-0C4D-4E6F-8A9B-1C2D3E4F5A6B"  # the shared library's zone
_STOP_TIMEOUT = 10.0
_POLL_S = 0.05  # how soon the serving thread notices stop()


class SimulatedICloud:
    """An iCloud account holding ``library`` in iCloud Photos; a context manager.

    ``library`` is a camera roll (``companion.simulator.media.generate_camera_roll``); the
    originals named (by media path) in ``hidden``, ``favorites`` and ``deleted`` start hidden,
    favourite or in Recently Deleted, ``albums`` maps album names to originals, and
    ``record_names`` gives originals the iCloud record names a phone's library knows them by.
    ``shared_library``, another camera roll, is an iCloud Shared Photo Library the account takes
    part in (its own zone, ``SHARED_ZONE``). Signing in
    takes ``apple_id`` and ``password``; with ``two_factor`` a new client also needs ``code``,
    shown on a trusted device (or texted, with ``code_by_sms``; with ``security_keys``, the
    names of the FIDO keys it signs in with instead). ``faults`` may be flipped while
    it runs. ``pace_bytes_per_s`` caps each connection's download speed and
    ``pace_total_bytes_per_s`` all of them together. It listens on 127.0.0.1, on ``port`` (0: a
    free one), and its certificate also names ``host_names`` (Apple's, for a client that a hosts
    file points here); ``service_url``, if given, is where its answers put CloudKit instead of
    ``base_url`` (a name under icloud.com, which the web session cookies reach).
    """

    def __init__(
        self,
        library: Iterable[MediaItem],
        *,
        apple_id: str = DEFAULT_APPLE_ID,
        password: str = DEFAULT_PASSWORD,
        two_factor: bool = True,
        code: str = DEFAULT_CODE,
        code_by_sms: bool = False,
        security_keys: Sequence[str] = (),
        hidden: Collection[str] = (),
        favorites: Collection[str] = (),
        deleted: Collection[str] = (),
        albums: Mapping[str, Sequence[str]] | None = None,
        record_names: Mapping[str, str] | None = None,
        shared_library: Iterable[MediaItem] = (),
        faults: Faults | None = None,
        pace_bytes_per_s: float | None = None,
        pace_total_bytes_per_s: float | None = None,
        port: int = 0,
        host_names: Sequence[str] = (),
        service_url: str | None = None,
    ) -> None:
        self.account = Account(
            apple_id, password, code, two_factor, code_by_sms, tuple(security_keys)
        )
        self.faults = faults if faults is not None else Faults()
        self._started = datetime.now(UTC)
        self._library = build_library(
            library,
            now=self._started,
            hidden=hidden,
            favorites=favorites,
            deleted=deleted,
            albums=albums,
            record_names=record_names,
        )
        shared = list(shared_library)
        self._shared = build_library(shared, now=self._started) if shared else None
        self._pacing = (pace_bytes_per_s, pace_total_bytes_per_s)
        self._listen = (port, tuple(host_names))
        self._service_url = service_url
        self._lock = threading.Lock()
        self._counters = Counters()
        self._server: HttpsServer | None = None
        self._thread: threading.Thread | None = None
        self._folder: Path | None = None
        self._ca_path: Path | None = None
        self._cleanup: weakref.finalize[..., SimulatedICloud] | None = None
        self._idmsa: Idmsa | None = None
        self._setup: Setup | None = None
        self._databases: dict[str, Database] = {}
        self._links: Links | None = None

    # Where a client connects

    @property
    def apple_id(self) -> str:
        return self.account.apple_id

    @property
    def password(self) -> str:
        return self.account.password

    @property
    def code(self) -> str:
        return self.account.code

    @property
    def base_url(self) -> str:
        """``https://127.0.0.1:PORT``: every host's answers come from here."""
        if self._server is None:
            raise RuntimeError("the simulated iCloud is not running: start() it first")
        return f"https://127.0.0.1:{self._server.port}"

    @property
    def idmsa_endpoint(self) -> str:
        return self.base_url

    @property
    def auth_endpoint(self) -> str:
        return f"{self.base_url}/appleauth/auth"

    @property
    def home_endpoint(self) -> str:
        return self.base_url

    @property
    def setup_endpoint(self) -> str:
        return f"{self.base_url}/setup/ws/1"

    @property
    def ca_path(self) -> Path:
        """The PEM certificate of the throw-away CA that signed the server's certificate."""
        if self._ca_path is None:
            raise RuntimeError("the simulated iCloud is not running: start() it first")
        return self._ca_path

    def connection_info(self) -> dict[str, str]:
        """What a client in another process needs, as text (for a command to print or save)."""
        return {
            "apple_id": self.apple_id,
            "password": self.password,
            "code": self.code if self.account.two_factor else "",
            "idmsa_endpoint": self.idmsa_endpoint,
            "auth_endpoint": self.auth_endpoint,
            "home_endpoint": self.home_endpoint,
            "setup_endpoint": self.setup_endpoint,
            "ca_path": str(self.ca_path),
        }

    @property
    def stats(self) -> Stats:
        with self._lock:
            return self._counters.snapshot()

    @property
    def assets(self) -> tuple[CloudAsset, ...]:
        """The library's assets (record names, files, flags), in the roll's order.

        The objects are live: read them, and change flags only under ``with icloud.lock``.
        """
        return tuple(self._library.assets)

    @property
    def shared_assets(self) -> tuple[CloudAsset, ...]:
        """The shared library's assets (none without one), as ``assets``."""
        return tuple(self._shared.assets) if self._shared is not None else ()

    @property
    def lock(self) -> threading.Lock:
        return self._lock

    # Life cycle

    def start(self) -> SimulatedICloud:
        """Make the certificates, listen on the port, serve in a background thread."""
        if self._server is not None:
            return self
        self._folder = Path(tempfile.mkdtemp(prefix="simulated-icloud-"))
        # Removed by stop(), or at interpreter exit for a server never stopped.
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._folder, ignore_errors=True)
        try:
            context, self._ca_path = make_server_context(self._folder, self._listen[1])
            server = HttpsServer(
                self._route,
                context,
                pace_per_connection=self._pacing[0],
                pace_total=self._pacing[1],
                port=self._listen[0],
            )
        except BaseException:
            self._remove_folder()
            raise
        self._server = server
        base = self.base_url
        tokens = Tokens()
        self._links = Links(base, secrets.token_bytes(32))
        self._idmsa = Idmsa(self.account, tokens, self._counters)
        self._setup = Setup(self.account, tokens, self.faults, self._service_url or base)
        owner = self.account.owner
        maker = RecordMaker(owner, self._links, self._started)
        self._databases = {PRIMARY_ZONE: Database(self._library, maker)}
        if self._shared is not None:
            maker = RecordMaker(owner, self._links, self._started, SHARED_ZONE)
            self._databases[SHARED_ZONE] = Database(self._shared, maker)
        self._thread = threading.Thread(
            target=server.serve_forever, args=(_POLL_S,), name="simulated-icloud", daemon=True
        )
        self._thread.start()
        log.info("simulated iCloud for %s at %s", self.apple_id, base)
        return self

    def stop(self) -> None:
        """Stop listening, drop open connections, remove the CA certificate."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(_STOP_TIMEOUT)
        self._server = self._thread = None
        self._remove_folder()

    def __enter__(self) -> SimulatedICloud:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def serve_forever(self, ready: Callable[[], None] | None = None) -> None:
        """Run in the foreground until SIGINT or SIGTERM (call from the main thread); ``ready``
        announces the address once the signals are caught (``serve_until_stopped``)."""
        serve_until_stopped(self.start, self.stop, ready)

    def _remove_folder(self) -> None:
        if self._cleanup is not None:
            self._cleanup()
        self._folder = self._ca_path = self._cleanup = None

    # Answers

    def _route(self, request: Request) -> Reply | Download:
        kind, name = classify(request)
        with self._lock:
            self._counters.requests[name] += 1
            self._counters.requests_by_kind[kind] += 1
            if self.faults.take_throttle(kind):
                return throttled(kind, self.faults.retry_after_s)
            if kind == "download":
                return self._download(request)
            return self._answer(request, kind, name)

    def _answer(self, request: Request, kind: str, name: str) -> Reply:
        assert self._idmsa is not None and self._setup is not None
        if kind == "auth":
            return self._idmsa.answer(request, name)
        if kind == "setup":
            return self._setup.answer(request, name)
        if kind in ("query", "count", "modify"):
            return self._cloudkit(request)
        if request.method in ("GET", "HEAD") and request.path in ("", "/"):
            return Reply(200, b"<!DOCTYPE html><title>iCloud</title>", "text/html")
        return json_reply(404, {"error": f"nothing here: {request.method} {request.path}"})

    def _cloudkit(self, request: Request) -> Reply:
        assert self._setup is not None and self._databases
        refused = self._cloudkit_refusal(request)
        if refused is not None:
            return refused
        scope, _, operation = request.path[len(DATABASE) :].partition("/")
        body = json_object(request.json())
        zone = body.get("zoneID")
        name = zone.get("zoneName") if isinstance(zone, dict) else None
        database = self._databases.get(str(name), self._databases[PRIMARY_ZONE])
        status: int
        payload: dict[str, Any]
        if request.method != "POST" or scope not in ("private", "shared"):
            status, payload = 404, _ck_error("NOT_FOUND", f"no CloudKit route {request.path}")
        elif operation == "zones/list":
            zones = [z for db in self._databases.values() for z in db.zones(scope)[1]["zones"]]
            status, payload = 200, {"zones": zones}
        elif scope == "shared":
            status, payload = 404, _ck_error("ZONE_NOT_FOUND", "no shared zones")
        elif operation == "records/query":
            status, payload = database.query(body, self.faults.indexing)
        elif operation == "records/lookup":
            status, payload = database.lookup(body)
        elif operation == "internal/records/query/batch":
            status, payload = database.count(body)
        elif operation == "records/modify":
            status, payload = database.modify(body, datetime.now(UTC))
        else:
            status, payload = 400, _ck_error("BAD_REQUEST", f"{operation} is not simulated")
        return json_reply(status, payload)

    def _cloudkit_refusal(self, request: Request) -> Reply | None:
        """Why this caller may not use CloudKit now (no, or an expired, web session...)."""
        assert self._setup is not None
        web = self._setup.web_session(request)
        # icloudpd lists zones with no query at all: a dsid, when sent, must be the account's.
        dsid = request.query.get("dsid", self.account.dsid)
        if web is None or not web.passed or dsid != self.account.dsid:
            return json_reply(401, _ck_error("AUTHENTICATION_FAILED", "no auth method found"))
        if web.expired:
            return json_reply(421, _ck_error("AUTHENTICATION_REQUIRED", "session expired"))
        if self.faults.web_access_off:
            reason = "private db access disabled for this account"
            return json_reply(403, _ck_error("ACCESS_DENIED", reason))
        if self.faults.take_expiry():
            web.expired = True
            return json_reply(421, _ck_error("AUTHENTICATION_REQUIRED", "session expired"))
        return None

    def _download(self, request: Request) -> Reply | Download:
        assert self._links is not None
        parts = request.path.split("/")
        key = parts[2] if len(parts) >= 3 else ""
        resource = self._library.resources.get(key)
        if resource is None and self._shared is not None:
            resource = self._shared.resources.get(key)
        if request.method not in ("GET", "HEAD"):
            return Reply(405, b"", "text/plain")
        if resource is None:
            return Reply(404, b"Not Found", "text/plain")
        if not self._links.valid(key, request.query.get("e", ""), request.query.get("s", "")):
            return Reply(403, b"Forbidden", "text/plain")
        data = resource.data
        if resource.path in self.faults.size_mismatch:
            data = data[: len(data) * 3 // 4]
        cut = request.method == "GET" and self.faults.take_cut()
        content_type = MIME_TYPES.get(resource.uti, "application/octet-stream")
        return Download(data, content_type, cut, self._count_bytes)

    def _count_bytes(self, count: int) -> None:
        with self._lock:
            self._counters.download_bytes += count


def _ck_error(code: str, reason: str) -> dict[str, str]:
    return {"uuid": secrets.token_hex(16), "serverErrorCode": code, "reason": reason}
