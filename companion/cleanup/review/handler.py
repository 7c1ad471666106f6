"""The review's HTTP side: who may ask, what they may ask, and the headers on every answer.

Checks, in this order, on every request whatever its method:

1. ``Host`` is ``127.0.0.1:PORT`` or ``localhost:PORT``, else 403. A page of another site whose
   name an attacker re-points at 127.0.0.1 (DNS rebinding) sends its own name here.
2. The path starts with ``/<token>/`` (compared in constant time), else 403: a request that does
   not know the token learns nothing, not even which routes exist.
3. The route exists (404) and takes this method (405): reads are GET, changes are POST.
4. A POST carries ``Origin: http://127.0.0.1:PORT`` (or localhost), a JSON body and the page's
   CSRF token, else 403: a form or a script of another origin cannot confirm for the person.

Every answer, refusals and errors included, carries the headers of ``SECURITY_HEADERS``: nothing
is cached, nothing may frame the page, and the page may load nothing but its own files.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any
from urllib.parse import unquote

from companion.cleanup.plan import Decision
from companion.cleanup.review.site import Site
from companion.cleanup.review.view import BadAnswer, read_answer

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
MAX_BODY = 1024 * 1024  # a confirmation names keys only: far below this even for every photo
CONNECTION_TIMEOUT = 30  # seconds a connection may stay silent before it is closed
CSP = (
    "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Frame-Options", "DENY"),
    ("Cache-Control", "no-store"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
_GET_ROUTES = ("", "api/plan", "api/alive")
_GET_PREFIXES = ("static/", "thumb/")
_POST_ROUTES = ("api/confirm", "api/cancel")
_JSON = "application/json; charset=utf-8"


class ReviewServer(ThreadingHTTPServer):
    """A threading HTTP server on 127.0.0.1 and a random port, holding the review's ``Site``
    and the connections it has open (so closing the review closes them too)."""

    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, site: Site) -> None:
        self.site = site
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__((LOOPBACK, 0), Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would look the address up in DNS (getfqdn); a name is not needed.
        TCPServer.server_bind(self)
        self.server_name = LOOPBACK
        self.server_port = int(self.server_address[1])

    def drop_connections(self) -> None:
        """Shut every open connection down, so their threads end now rather than at timeout."""
        with self.connections_lock:
            open_now = list(self.connections)
        for connection in open_now:
            with contextlib.suppress(OSError):  # already closed by the other end
                connection.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    server: ReviewServer
    protocol_version = "HTTP/1.1"  # keep-alive: a page of thumbnails is many small requests
    timeout = CONNECTION_TIMEOUT
    server_version = "companion-review"
    error_content_type = "text/plain; charset=utf-8"
    error_message_format = "%(code)d %(message)s\n"

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def version_string(self) -> str:
        return self.server_version  # not Python's version

    def end_headers(self) -> None:
        for name, value in SECURITY_HEADERS:
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        text = format % args
        log.debug("%s", text.replace(self.server.site.token, "<token>"))

    # Every method goes through the same checks: without the token, even OPTIONS is refused.
    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_OPTIONS(self) -> None:
        self._handle()

    def _handle(self) -> None:
        site = self.server.site
        if not self._host_known():
            self._error(403, "this page is served to 127.0.0.1 only")
            return
        route = self._route(site.token)
        if route is None:
            self._error(403, "forbidden")
            return
        site.touch()
        if route == "/":
            self._answer(308, b"", "text/plain", ("Location", f"/{site.token}/"))
            return
        wanted = _method_of(route)
        if wanted is None:
            self._error(404, "not found")
        elif self.command != wanted:
            self._error(405, f"use {wanted}", ("Allow", wanted))
        elif wanted == "GET":
            self._get(site, route)
        else:
            self._post(site, route)

    def _host_known(self) -> bool:
        host = (self.headers.get("Host") or "").strip().lower()
        return host in self._hosts()

    def _hosts(self) -> tuple[str, ...]:
        port = self.server.server_port
        return (f"{LOOPBACK}:{port}", f"localhost:{port}")

    def _route(self, token: str) -> str | None:
        """What follows ``/<token>/`` ("/" when the path is ``/<token>`` alone); None when the
        path does not start with the token."""
        if not self.path.startswith("/"):  # an absolute URL or "*": not for this server
            return None
        path = self.path.partition("?")[0].partition("#")[0]
        first, slash, rest = path[1:].partition("/")
        given = first.encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, token.encode("ascii")):
            return None
        return rest if slash else "/"

    def _get(self, site: Site, route: str) -> None:
        if route == "":
            self._answer(200, site.page, "text/html; charset=utf-8")
        elif route == "api/plan":
            self._answer(200, site.view.json, _JSON)
        elif route == "api/alive":
            self._answer(204, b"", "text/plain")
        elif route.startswith("static/"):
            found = site.static(route.removeprefix("static/"))
            if found is None:
                self._error(404, "not found")
            else:
                self._answer(200, *found)
        else:
            jpeg = site.thumb(unquote(route.removeprefix("thumb/")))
            if jpeg is None:
                self._error(404, "no thumbnail")
            else:
                self._answer(200, jpeg, "image/jpeg")

    def _post(self, site: Site, route: str) -> None:
        origin = (self.headers.get("Origin") or "").strip().lower()
        if origin not in tuple(f"http://{host}" for host in self._hosts()):
            self._error(403, "cross-origin request refused")
            return
        kind = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if kind != "application/json":
            self._error(415, "send JSON")
            return
        body = self._body()
        if body is None:
            return
        try:
            answer = read_answer(body)
        except BadAnswer as e:
            self._error(400, str(e))
            return
        if not hmac.compare_digest(answer.csrf.encode("utf-8"), site.csrf.encode("ascii")):
            self._error(403, "the page's token is missing or wrong: reload the page")
            return
        if route == "api/cancel":
            self._decide(site, Decision(frozenset(), cancelled=True))
            return
        try:
            chosen = site.view.choose(answer)
        except BadAnswer as e:
            self._error(400, str(e))
            return
        self._decide(site, Decision(chosen))

    def _body(self) -> bytes | None:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._error(411, "say how long the body is")
            return None
        if int(length) > MAX_BODY:
            self._error(413, "the request is too large")
            return None
        return self.rfile.read(int(length))

    def _decide(self, site: Site, decision: Decision) -> None:
        if not site.claim(decision):
            self._error(409, "this review is already over")
            return
        try:
            done = {"done": True, "cancelled": decision.cancelled, "chosen": len(decision.chosen)}
            self.close_connection = True
            self._answer(200, json.dumps(done).encode(), _JSON)
        finally:
            site.release()

    def _error(self, code: int, message: str, *extra: tuple[str, str]) -> None:
        # A refused request's body may not have been read: it must not be taken for the next one.
        self.close_connection = True
        body = json.dumps({"error": message}).encode()
        self._answer(code, body, _JSON, *extra)

    def _answer(self, code: int, body: bytes, kind: str, *extra: tuple[str, str]) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _method_of(route: str) -> str | None:
    """The method a route takes, or None for no such route."""
    if route in _GET_ROUTES or route.startswith(_GET_PREFIXES):
        return "GET"
    if route in _POST_ROUTES:
        return "POST"
    return None
