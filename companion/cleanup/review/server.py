"""``Review``: one plan served to one person, until they confirm, cancel or go away.

    with Review(plan, thumbnail=..., what_happens=..., word="REMOVE") as review:
        url = review.start()  # http://127.0.0.1:PORT/<token>/ : for the browser, nobody else
        decision = review.wait()

The page is served by the standard library's threading HTTP server on 127.0.0.1 and a random
port (``handler.py`` says who may ask what). Nothing is written to disk: the page's files come
from the package, thumbnails are made in memory by the caller's ``thumbnail`` and kept in memory.

The review ends with one ``Decision``: the keys of ready groups the person confirmed, or a
cancelled one when they cancel or when no request came for ``idle_timeout`` seconds (the page
says it is alive every ``alive_every`` seconds while it is open, so a closed browser times out
and an open one does not). The server is closed as soon as the decision is taken.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType

from companion.cleanup.plan import Decision, Group, Plan
from companion.cleanup.review.handler import ReviewServer
from companion.cleanup.review.site import Site
from companion.cleanup.review.view import View

log = logging.getLogger(__name__)

ALIVE_EVERY_MAX = 30.0  # seconds between the page's "still here" requests, at most
POLL = 0.2  # seconds between two looks at the idle clock while waiting


class Review:
    """The review page for one plan.

    ``thumbnail(key)`` gives the JPEG bytes of a group's picture (or None: the page shows no
    picture for it); it is called from the server's threads, at most once per group while it
    is kept in memory. ``what_happens(group)`` is one sentence per group from the executor
    ("moved to the quarantine folder", "you delete it in the Photos app"), shown before the
    person confirms. ``word`` is what they must type to confirm. ``clock`` (seconds, monotonic)
    and ``poll`` let tests drive the idle timeout.

    Not reusable: one ``start``, one ``wait``, then ``close`` (or the ``with`` block) however it
    ended. Only ready groups can be chosen; the server refuses any other key (400).
    """

    def __init__(
        self,
        plan: Plan,
        *,
        thumbnail: Callable[[str], bytes | None],
        what_happens: Callable[[Group], str],
        word: str,
        idle_timeout: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
        poll: float = POLL,
    ) -> None:
        if not word.strip() or word != word.strip():
            raise ValueError("the confirmation word must be a word, without spaces around it")
        if idle_timeout <= 0:
            raise ValueError("idle_timeout must be positive")
        self.idle_timeout = idle_timeout
        alive_every = min(ALIVE_EVERY_MAX, idle_timeout / 3)
        view = View(plan, what_happens, word, alive_every=alive_every)
        self._site = Site(view, thumbnail, clock)
        self._poll = poll
        self._server: ReviewServer | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def address(self) -> tuple[str, int]:
        """The address the server listens on (127.0.0.1 and its port)."""
        if self._server is None:
            raise RuntimeError("the review is not started")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """The page's address, token included: give it to the person's browser only."""
        host, port = self.address
        return f"http://{host}:{port}/{self._site.token}/"

    def start(self) -> str:
        """Listen and serve in the background; returns ``url``."""
        if self._server is not None or self._closed:
            raise RuntimeError("a review is started once")
        self._site.touch()
        self._server = ReviewServer(self._site)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="cleanup-review",
            daemon=True,
        )
        self._thread.start()
        log.debug("review served on %s:%d", *self.address)
        return self.url

    def wait(self) -> Decision:
        """Block until the person confirms or cancels, or until the page has been silent for
        ``idle_timeout`` seconds (a cancelled decision); then close the server."""
        if self._server is None:
            raise RuntimeError("start the review before waiting for it")
        site = self._site
        while not site.released.wait(self._poll):
            # a decision claimed just now is not replaced: its answer is on its way
            idle = site.idle_for() >= self.idle_timeout
            if idle and site.claim(Decision(frozenset(), cancelled=True)):
                log.info("review idle for %.0f s: cancelled", self.idle_timeout)
                site.release()
        self.close()
        decision = site.decision
        assert decision is not None  # released only after a claim
        return decision

    def close(self) -> None:
        """Stop serving and close every connection; nothing is decided if nothing was."""
        if self._closed:
            return
        self._closed = True
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        server.drop_connections()
        server.server_close()
        thread.join()

    def __enter__(self) -> Review:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
