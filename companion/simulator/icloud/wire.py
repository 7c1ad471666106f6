"""HTTPS on 127.0.0.1 for the simulated iCloud: requests in, replies and paced downloads out.

A threaded ``http.server`` on a free port (or the one given) speaking HTTP/1.1 with keep-alive
(every answer has a Content-Length), TLS from ``tls``; the handshake runs in each connection's
own thread, so a slow client holds up no one. The server knows nothing of iCloud: a router turns
each ``Request`` into a ``Reply`` (JSON, HTML, empty) or a ``Download``, which this module serves
with what a content host offers: ``Range`` (one range, 206 + Content-Range; a range past the end
is 416), HEAD, pacing per connection and in total, and, on request, a connection closed halfway
through the body.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Request:
    """One request: path without the query, query parameters, lower-case headers, cookies."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    cookies: dict[str, str]
    body: bytes = field(repr=False)

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json;charset=UTF-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_reply(status: int, payload: object, headers: Iterable[tuple[str, str]] = ()) -> Reply:
    return Reply(status, json.dumps(payload).encode("utf-8"), headers=list(headers))


@dataclass(frozen=True, slots=True)
class Download:
    """A file to serve; ``cut`` closes the connection after half the bytes of the answer."""

    data: bytes = field(repr=False)
    content_type: str
    cut: bool = False
    sent: Callable[[int], None] = lambda count: None


Router = Callable[[Request], Reply | Download]


class Pacer:
    """Spaces writes so that they average ``rate`` bytes per second (no burst credit)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._lock = threading.Lock()
        self._free_at = 0.0

    def wait(self, count: int) -> None:
        with self._lock:
            start = max(self._free_at, time.monotonic())
            self._free_at = start + count / self.rate
            until = self._free_at
        delay = until - time.monotonic()
        if delay > 0:
            time.sleep(delay)


class HttpsServer(ThreadingHTTPServer):
    """The listening socket, its connection threads, and the connections still open."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        router: Router,
        context: ssl.SSLContext,
        *,
        pace_per_connection: float | None = None,
        pace_total: float | None = None,
        port: int = 0,
    ) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.socket = context.wrap_socket(
            self.socket, server_side=True, do_handshake_on_connect=False
        )
        self.router = router
        self.pace_per_connection = pace_per_connection
        self.total_pacer = Pacer(pace_total) if pace_total else None
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Drop every open connection (their threads end at their next read or write)."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("simulated iCloud: a connection from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AppleHttpServer"
    sys_version = ""
    server: HttpsServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm holds the
        # body back until the client's delayed ACK of the headers (some 40 ms per answer).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rate = self.server.pace_per_connection
        self._pacer = Pacer(rate) if rate else None

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("simulated iCloud: " + format, *args)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        target = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=target.path,
            query=dict(parse_qsl(target.query, keep_blank_values=True)),
            headers={name.lower(): value for name, value in self.headers.items()},
            cookies=_cookies(self.headers.get_all("Cookie") or []),
            body=body,
        )
        try:
            answer = self.server.router(request)
        except Exception:
            log.exception("simulated iCloud: %s %s failed", self.command, target.path)
            answer = json_reply(500, {"error": "internal error in the simulated iCloud"})
        if isinstance(answer, Download):
            self._download(answer)
        else:
            self._reply(answer)

    def _reply(self, reply: Reply) -> None:
        self.send_response(reply.status)
        if reply.status != 204:  # a 204 has neither (RFC 9110)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def _download(self, download: Download) -> None:
        size = len(download.data)
        wanted = parse_range(self.headers.get("Range", ""), size)
        if wanted == "unsatisfiable":
            self._reply(Reply(416, b"", "text/plain", [("Content-Range", f"bytes */{size}")]))
            return
        self.send_response(206 if wanted else 200)
        first, last = wanted if isinstance(wanted, tuple) else (0, size - 1)
        self.send_header("Content-Type", download.content_type)
        self.send_header("Content-Length", str(last - first + 1))
        self.send_header("Accept-Ranges", "bytes")
        if wanted:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.end_headers()
        if self.command == "HEAD":
            return
        end = last + 1
        if download.cut:
            end = first + (last - first + 1) // 2
        self._write_paced(memoryview(download.data)[first:end], download.sent)
        if download.cut:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

    def _write_paced(self, body: memoryview, sent: Callable[[int], None]) -> None:
        rates = [p.rate for p in (self._pacer, self.server.total_pacer) if p is not None]
        chunk = _CHUNK if not rates else max(1024, min(_CHUNK, int(min(rates) / 20)))
        for offset in range(0, len(body), chunk):
            piece = body[offset : offset + chunk]
            for pacer in (self._pacer, self.server.total_pacer):
                if pacer is not None:
                    pacer.wait(len(piece))
            self.wfile.write(piece)
            sent(len(piece))


def parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """``(first, last)`` for one satisfiable byte range, "unsatisfiable", or None (serve all).

    Several ranges, or a header that is not a byte range, are ignored (RFC 9110 allows a server
    to answer 200 with everything).
    """
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec or "-" not in spec:
        return None
    start, _, end = (part.strip() for part in spec.partition("-"))
    if not (start.isdigit() or end.isdigit()) or (start and not start.isdigit()):
        return None
    if end and not end.isdigit():
        return None
    if not start:  # the last N bytes
        count = int(end)
        return "unsatisfiable" if count == 0 or size == 0 else (max(0, size - count), size - 1)
    first = int(start)
    last = min(int(end), size - 1) if end else size - 1
    if first >= size or last < first:
        return "unsatisfiable"
    return first, last


def _cookies(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        for part in line.split(";"):
            name, sep, value = part.strip().partition("=")
            if sep:
                found[name] = value.strip().strip('"')
    return found
