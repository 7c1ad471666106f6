"""What one review serves and remembers: its secrets, its files, the thumbnails, the last time
the person was seen and the one decision it takes.

Every request handler thread shares one ``Site``; the decision is claimed under a lock, so two
confirmations racing each other cannot both be taken.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from importlib import resources

from companion.cleanup.plan import Decision
from companion.cleanup.review.view import View

log = logging.getLogger(__name__)

TOKEN_BYTES = 16  # 128 bits, for the URL's token and for the CSRF token alike
THUMBS_KEPT = 512  # thumbnails kept in memory (about 30 kB each), so a reload decrypts nothing
PAGE = "index.html"
# The only files served under static/, with their types: anything else is not found.
STATIC = {
    "review.css": "text/css; charset=utf-8",
    "review.js": "text/javascript; charset=utf-8",
    "icon.svg": "image/svg+xml",  # else the browser asks for /favicon.ico, without the token
}
_CSRF_MARK = "{{csrf}}"


def static_file(name: str) -> bytes:
    """A file of the page, from the package's data (``static/``)."""
    return resources.files("companion.cleanup.review").joinpath("static", name).read_bytes()


class Site:
    """The review's state, shared by the request threads."""

    def __init__(
        self,
        view: View,
        thumbnail: Callable[[str], bytes | None],
        clock: Callable[[], float],
    ) -> None:
        self.view = view
        self.token = secrets.token_urlsafe(TOKEN_BYTES)
        self.csrf = secrets.token_urlsafe(TOKEN_BYTES)
        self._thumbnail = thumbnail
        self._clock = clock
        self._lock = threading.Lock()
        self._thumbs: dict[str, bytes | None] = {}
        self._decision: Decision | None = None
        self.released = threading.Event()  # set once the decision's answer has left
        self.last_seen = clock()
        page = static_file(PAGE).decode("utf-8")
        if _CSRF_MARK not in page:
            raise RuntimeError(f"the review page {PAGE} has no {_CSRF_MARK} mark")
        self.page = page.replace(_CSRF_MARK, self.csrf).encode("utf-8")
        self._static = {name: (static_file(name), kind) for name, kind in STATIC.items()}

    def touch(self) -> None:
        """The person's page asked for something: the idle timeout starts again."""
        self.last_seen = self._clock()

    def idle_for(self) -> float:
        return self._clock() - self.last_seen

    def static(self, name: str) -> tuple[bytes, str] | None:
        """A whitelisted file and its content type; None for any other name."""
        return self._static.get(name)

    def thumb(self, key: str) -> bytes | None:
        """The JPEG thumbnail of a group of the plan; None for a key the plan does not have, or
        a group the caller cannot show (not decodable, too large)."""
        if self.view.plan.group(key) is None:
            return None
        with self._lock:
            if key in self._thumbs:
                return self._thumbs[key]
        try:
            made = self._thumbnail(key)
        except Exception as e:  # one picture that cannot be shown does not end the review
            log.warning("no thumbnail for one group: %s", type(e).__name__)
            made = None
        with self._lock:
            if len(self._thumbs) < THUMBS_KEPT:
                self._thumbs[key] = made
        return made

    def claim(self, decision: Decision) -> bool:
        """Take ``decision`` if none was taken yet; False if the review already has one."""
        with self._lock:
            if self._decision is not None:
                return False
            self._decision = decision
            return True

    @property
    def decision(self) -> Decision | None:
        with self._lock:
            return self._decision

    def release(self) -> None:
        """The answer to the decision has been sent: ``Review.wait`` may close the server."""
        self.released.set()
