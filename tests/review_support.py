"""Helpers for the review page's tests: a plan built by hand, pictures made in code, and plain
HTTP requests with whatever headers a hostile page could send."""

from __future__ import annotations

import http.client
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from PIL import Image, ImageDraw

from companion.cleanup.plan import Group, Member, Plan, Readiness
from companion.cleanup.review import Review
from companion.cleanup.review.thumbs import thumbnail_of
from companion.model import Asset, AssetKind, Finding

SOURCE = "folder:/photos/camera-roll"  # a path the page must never show
WORD = "REMOVE"
NO_HOST = "<no Host header>"

# key -> (file name, categories, whether every file of it is ready, a Live Photo movie)
GROUPS = {
    "k-nude": ("IMG_0001.JPG", ("nudity",), True, False),
    "k-card": ("IMG_0002.PNG", ("payment_card", "screenshot"), True, False),
    "k-card-live": ("IMG_0003.HEIC", ("payment_card",), False, True),
    "k-id": ("IMG_0004.JPG", ("identity_document",), True, False),
}
READY = frozenset(k for k, (_n, _c, ready, _l) in GROUPS.items() if ready)
EXPLAIN = {
    "nudity": "exposed parts seen by the nudity model",
    "payment_card": "card number 4539 •••• •••• 6467 passes the Luhn check (Visa)",
    "screenshot": "a screenshot",
    "identity_document": "a machine-readable zone with valid check digits",
}
COLOURS = {"k-nude": (230, 170, 160), "k-card": (40, 90, 170), "k-card-live": (30, 120, 90)}


def _asset(name: str, kind: AssetKind = AssetKind.PHOTO, size: int = 2_400_000) -> Asset:
    return Asset(
        source=SOURCE,
        path=f"DCIM/100APPLE/{name}",
        size=size,
        mtime_ns=1_700_000_000_000_000_000,
        kind=kind,
        captured_at=datetime(2024, 3, 12, 9, 30, tzinfo=UTC),
        albums=("Recents",),
    )


def make_group(key: str) -> Group:
    name, categories, ready, live = GROUPS[key]
    primary = _asset(name)
    members = [Member(primary, None, Readiness.READY)]
    if live:
        movie = _asset(name.rsplit(".", 1)[0] + ".MOV", AssetKind.VIDEO, 3_100_000)
        members.append(Member(movie, None, Readiness.READY if ready else Readiness.NOT_VERIFIED))
    elif not ready:
        members[0] = Member(primary, None, Readiness.NOT_VERIFIED)
    findings = tuple(Finding(c, "test", 0.9, EXPLAIN[c]) for c in categories)
    return Group(key, primary, tuple(members), findings)


def make_plan() -> Plan:
    return Plan(SOURCE, datetime(2024, 4, 1, tzinfo=UTC), tuple(make_group(k) for k in GROUPS))


def picture(kind: str, colour: tuple[int, int, int] = (200, 80, 60), size=(960, 720)) -> bytes:
    """A photo made in code: a coloured field with a few shapes, as JPEG, PNG or HEIF (HEIC)."""
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.ellipse((width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=(250, 250, 240))
    draw.rectangle((20, 20, width // 3, height // 5), fill=(20, 20, 20))
    out = io.BytesIO()
    if kind == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    image.save(out, format=kind, **({"quality": 85} if kind == "JPEG" else {}))
    return out.getvalue()


def thumbnails(plan: Plan) -> Callable[[str], bytes | None]:
    """The caller's side: each group's picture (JPEG, PNG or HEIC by its name) made into a
    thumbnail in memory, as the cleanup use case does with the vault's plaintext."""
    formats = {"JPG": "JPEG", "PNG": "PNG", "HEIC": "HEIF"}

    def thumbnail(key: str) -> bytes | None:
        group = plan.group(key)
        if group is None:
            return None
        suffix = group.primary.name.rsplit(".", 1)[-1]
        data = picture(formats[suffix], COLOURS.get(key, (120, 120, 120)))
        return thumbnail_of(data, group.primary)

    return thumbnail


def what_happens(group: Group) -> str:
    return f"moved to the quarantine folder with its {len(group.members)} file(s)"


def new_review(plan: Plan | None = None, **options: Any) -> Review:
    plan = plan or make_plan()
    options.setdefault("thumbnail", thumbnails(plan))
    return Review(plan, what_happens=what_happens, word=WORD, **options)


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def ask(
    port: int,
    method: str,
    path: str,
    *,
    host: str | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Answer:
    """One request on a fresh connection, with exactly the headers given (a Host of our own)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        host = host or f"127.0.0.1:{port}"
        if host != NO_HOST:
            connection.putheader("Host", host)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection.close()


def post(
    port: int, path: str, payload: dict[str, Any], *, origin: str | None = None, **options: Any
) -> Answer:
    headers = {"Content-Type": "application/json", "Origin": origin or f"http://127.0.0.1:{port}"}
    headers.update(options.pop("headers", {}))
    return ask(port, "POST", path, headers=headers, body=json.dumps(payload).encode(), **options)


def csrf_of(page: bytes) -> str:
    """The CSRF token the page carries, read as the page's script reads it."""
    found = re.search(rb'<meta name="csrf-token" content="([^"]+)">', page)
    assert found, "the page carries no CSRF token"
    return found.group(1).decode()
