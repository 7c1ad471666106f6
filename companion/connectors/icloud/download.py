"""Downloading one iCloud file as a stream: its own HTTP session, ``Range`` to resume, a size
check against the record.

pyicloud's ``PhotoAsset.download()`` returns the whole file in memory, and its session object
rewrites the session files after every request (with the tokens in them), so it serves neither
a large video nor several downloads at once. Downloads here use a ``requests`` session of their
own: a file's URL is signed and needs no cookie, so no token ever travels with the bytes.

A stream yields exactly the file's bytes, never holding more than the reader's buffer:

- an answer cut short (the connection closed before its ``Content-Length``) is resumed with
  ``Range: bytes=<delivered>-`` from the bytes already delivered, a bounded number of times;
  a ``206`` must start where asked and name the same total, a ``200`` (a server that ignores
  ``Range``) has its first bytes skipped;
- a ``503`` is waited out (``Retry-After``) a bounded number of times;
- a refused or vanished link (``403``, ``404``, ``410``: links expire) is renewed once from the
  record (``refresh``); a record that is gone makes the file ``SourceUnavailable``;
- at the end, a count other than the record's size is checked against the record as it is
  now: the same count means the file changed since the listing (its bytes as they are now go
  on to the vault, which tells the person); another count means iCloud sent a broken file,
  and the stream raises ``SourceUnavailable`` so that nothing is stored (the vault would store
  a short file as read, after a second try, if it were told ``SizeMismatch``).
"""

from __future__ import annotations

import http.client
import io
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO, cast

import requests
import urllib3

from companion.connectors.icloud.options import IcloudOptions
from companion.connectors.icloud.records import Link
from companion.connectors.icloud.translate import parse_retry_after
from companion.errors import SourceChanged, SourceUnavailable

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

log = logging.getLogger(__name__)

CHUNK = 1 << 20  # the buffer a stream is read through
TIMEOUT = (30.0, 120.0)  # seconds to connect, and between two reads
RESUMES = 5  # cut answers resumed per file
THROTTLES = 5  # 503 answers waited out per file
LONGEST_WAIT = 120.0
_GONE = (403, 404, 410)
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_CUT = (
    urllib3.exceptions.HTTPError,
    requests.RequestException,
    http.client.HTTPException,
    OSError,
)
_RETRY_HINT = "It was not stored; it is tried again on the next run."

Refresh = Callable[[], Link | None]


class Downloads:
    """The HTTP session files are downloaded on: the simulated iCloud's authority trusted alone
    when there is one (``trust_env`` off, so no variable replaces it), the system's otherwise."""

    def __init__(self, icloud: IcloudOptions, sleep: Callable[[float], None]) -> None:
        session = requests.Session()
        if icloud.ca_path is not None:
            session.verify = str(icloud.ca_path)
            session.trust_env = False
        session.headers["Accept-Encoding"] = "identity"  # Range counts the file's own bytes
        self._session = session
        self._sleep = sleep

    def open(self, path: str, link: Link, refresh: Refresh) -> BinaryIO:
        stream = _Download(self._session, path, link, refresh, self._sleep)
        return cast(BinaryIO, io.BufferedReader(stream, CHUNK))

    def close(self) -> None:
        self._session.close()


class _Download(io.RawIOBase):
    """One file's bytes, downloaded as they are read."""

    def __init__(
        self,
        session: requests.Session,
        path: str,
        link: Link,
        refresh: Refresh,
        sleep: Callable[[float], None],
    ) -> None:
        self._session = session
        self._path = path
        self._link = link
        self._listed = link.size
        self._refresh = refresh
        self._sleep = sleep
        self._response: requests.Response | None = None
        self._delivered = 0
        self._total: int | None = None  # the size the first answer announced
        self._skip = 0  # bytes of a 200 answer to drop (already delivered)
        self._cuts = self._throttles = 0
        self._renewed = self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        while not self._done:
            if self._response is None:
                self._response = self._request()
                continue
            try:
                target = view[: self._skip] if self._skip else view
                count = int(self._response.raw.readinto(target))
            except _CUT as exc:
                self._cut(exc)
                continue
            if count == 0:
                self._finish()
                break
            if self._skip:
                self._skip -= count
                continue
            self._delivered += count
            self._check_bound()
            return count
        return 0

    def close(self) -> None:
        self._drop()
        super().close()

    def _request(self) -> requests.Response:
        """An answer that starts at the first byte not yet delivered."""
        while True:
            headers = {"Range": f"bytes={self._delivered}-"} if self._delivered else {}
            try:
                response = self._session.get(
                    self._link.url, headers=headers, stream=True, timeout=TIMEOUT
                )
            except requests.RequestException as exc:
                self._count_cut(exc)
                continue
            status = response.status_code
            if status in (200, 206):
                self._start(response)
                return response
            response.close()
            if status == 503:
                self._wait_out(response)
            elif status in _GONE:
                self._renew(status)
            elif status == 416 and self._delivered:
                raise SourceChanged(f"{self._path} became shorter while it was downloaded")
            else:
                raise SourceUnavailable(
                    f"iCloud answered HTTP {status} for {self._path}", hint=_RETRY_HINT
                )

    def _start(self, response: requests.Response) -> None:
        """Check where an answer starts and how long the file is, against what came before."""
        if response.status_code == 206:
            match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
            start = int(match.group(1)) if match else -1
            total = int(match.group(3)) if match and match.group(3) != "*" else None
            if start != self._delivered:
                response.close()
                raise SourceUnavailable(
                    f"iCloud resumed {self._path} at the wrong place", hint=_RETRY_HINT
                )
        else:
            length = response.headers.get("Content-Length", "")
            total = int(length) if length.isdigit() else None
            self._skip = self._delivered
        if self._total is None:
            self._total = total
        elif total is not None and total != self._total:
            response.close()
            raise SourceChanged(f"{self._path} changed while it was downloaded")

    def _cut(self, exc: BaseException) -> None:
        self._drop()
        self._count_cut(exc)

    def _count_cut(self, exc: BaseException) -> None:
        self._cuts += 1
        if self._cuts > RESUMES:
            raise SourceUnavailable(
                f"the download of {self._path} broke off {self._cuts} times",
                hint="Check the internet connection; " + _RETRY_HINT,
            ) from exc
        log.info(
            "the download of %s broke off after %d bytes (%s); resuming",
            self._path,
            self._delivered,
            type(exc).__name__,
        )
        self._sleep(0.5 * (self._cuts - 1))

    def _wait_out(self, response: requests.Response) -> None:
        self._throttles += 1
        wait = min(parse_retry_after(response.headers.get("Retry-After"), 5.0), LONGEST_WAIT)
        if self._throttles > THROTTLES:
            raise SourceUnavailable(
                f"iCloud asked to slow down (HTTP 503) {THROTTLES} times while {self._path} was "
                "downloaded",
                hint="Wait a while and run the same command again: " + _RETRY_HINT,
            )
        log.info("iCloud asked to slow down; waiting %.0f s before %s", wait, self._path)
        self._sleep(wait)

    def _renew(self, status: int) -> None:
        """A link that no longer works: once, a fresh one from the record."""
        fresh = self._refresh() if not self._renewed else None
        if fresh is None:
            gone = "is no longer in iCloud Photos" if not self._renewed else "cannot be downloaded"
            raise SourceUnavailable(f"{self._path} {gone} (HTTP {status})", hint=_RETRY_HINT)
        self._renewed = True
        self._link = fresh

    def _finish(self) -> None:
        """The end of the file: its count must be what the record says (as it is now)."""
        self._done = True
        self._drop()
        if self._delivered == self._listed:
            return
        fresh = self._refresh()
        if fresh is not None and fresh.size == self._delivered:
            return  # changed since the listing: the vault compares and tells the person
        said = fresh.size if fresh is not None else self._listed
        raise SourceUnavailable(
            f"iCloud sent {self._delivered} bytes of {self._path}, whose record says {said}",
            hint=_RETRY_HINT + " If it keeps happening, download it at icloud.com to check it.",
        )

    def _check_bound(self) -> None:
        """Never more than the file can hold: what was announced (or, with no announcement,
        twice the listing and then some)."""
        ceiling = self._total if self._total is not None else 2 * self._listed + (64 << 20)
        if self._delivered > ceiling:
            self._done = True
            self._drop()
            raise SourceUnavailable(
                f"{self._path} goes on past {ceiling} bytes, more than iCloud announced",
                hint=_RETRY_HINT,
            )

    def _drop(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            response.close()
