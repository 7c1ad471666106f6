"""The review page's server: only the person's own browser, holding the token, may read the plan
or decide; every answer carries the security headers; the decision is the server's to check."""

from __future__ import annotations

import io
import os
import socket
import tempfile
import threading
import tomllib
from collections.abc import Iterator
from fnmatch import fnmatch
from importlib import resources
from pathlib import Path

import pytest
from PIL import Image

from companion.cleanup.plan import Decision
from companion.cleanup.review import Review
from companion.cleanup.review.handler import SECURITY_HEADERS
from companion.cleanup.review.site import PAGE, STATIC
from tests.review_support import (
    NO_HOST,
    READY,
    SOURCE,
    WORD,
    Answer,
    ask,
    csrf_of,
    make_plan,
    new_review,
    post,
)

ROOT = Path(__file__).resolve().parent.parent
# Every route, with the method it takes; and methods no route takes.
ROUTES = [
    ("GET", ""),
    ("GET", "static/review.js"),
    ("GET", "static/review.css"),
    ("GET", "api/plan"),
    ("GET", "api/alive"),
    ("GET", "thumb/k-nude"),
    ("POST", "api/confirm"),
    ("POST", "api/cancel"),
    ("HEAD", ""),
    ("PUT", "api/plan"),
    ("DELETE", "api/cancel"),
    ("OPTIONS", "api/confirm"),
    ("PATCH", ""),
]
MAGIC = {
    "JPEG": b"\xff\xd8\xff",
    "PNG": b"\x89PNG\r\n\x1a\n",
    "HEIC": b"ftypheic",
    "HEIF": b"ftypmif1",
}


@pytest.fixture
def review() -> Iterator[Review]:
    with new_review() as started:
        started.start()
        yield started


def port_of(review: Review) -> int:
    return review.address[1]


def token_of(review: Review) -> str:
    return review.url.rstrip("/").rsplit("/", 1)[-1]


def csrf(review: Review) -> str:
    return csrf_of(ask(port_of(review), "GET", f"/{token_of(review)}/").body)


def assert_guarded(answer: Answer) -> None:
    for name, value in SECURITY_HEADERS:
        assert answer.headers.get(name) == value, f"{name} missing on a {answer.status}"
    assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
    assert "Python" not in (answer.headers.get("Server") or "")


def still_open(review: Review) -> bool:
    """The review answers and has taken no decision."""
    return ask(port_of(review), "GET", f"/{token_of(review)}/api/alive").status == 204


def test_the_page_its_files_and_the_plan_are_served_under_the_token(review: Review) -> None:
    port, token = port_of(review), token_of(review)
    assert review.url == f"http://127.0.0.1:{port}/{token}/"
    assert len(token) >= 22  # 128 bits, URL-safe base64
    page = ask(port, "GET", f"/{token}/")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert_guarded(page)
    assert csrf_of(page.body) not in token
    # no inline script or style: the policy allows only the page's own files
    text = page.body.decode()
    assert '<script src="static/review.js"' in text and "<script>" not in text
    assert " style=" not in text and " onclick=" not in text
    for name, kind in (("review.js", "text/javascript"), ("review.css", "text/css")):
        answer = ask(port, "GET", f"/{token}/static/{name}")
        assert answer.status == 200 and answer.headers["Content-Type"].startswith(kind)
        assert_guarded(answer)
    plan = ask(port, "GET", f"/{token}/api/plan")
    assert plan.status == 200 and plan.headers["Content-Type"].startswith("application/json")
    assert_guarded(plan)
    data = plan.json()
    assert data["word"] == WORD and data["source"] == "folder"
    assert [c["name"] for c in data["categories"]] == [
        "nudity",
        "identity_document",
        "payment_card",
        "screenshot",
    ]
    by_key = {g["key"]: g for g in data["groups"]}
    assert {k for k, g in by_key.items() if g["ready"]} == READY
    assert by_key["k-nude"]["blurred"] and not by_key["k-card"]["blurred"]
    live = by_key["k-card-live"]
    assert live["files"] == ["IMG_0003.HEIC", "IMG_0003.MOV"]
    assert "IMG_0003.MOV: not verified" in live["why_not"] and "verify" in live["why_not"]
    assert live["what_happens"].startswith("moved to the quarantine folder")
    assert by_key["k-card"]["reasons"][0]["explanation"].startswith("card number 4539")
    assert by_key["k-card"]["day"] == "2024-03-12"
    # the page never learns where the files are
    assert SOURCE.split(":", 1)[1].encode() not in plan.body and b"DCIM" not in plan.body


def test_thumbnails_are_jpegs_of_the_plans_groups_only(review: Review) -> None:
    port, token = port_of(review), token_of(review)
    for key in ("k-nude", "k-card", "k-card-live"):
        answer = ask(port, "GET", f"/{token}/thumb/{key}")
        assert answer.status == 200 and answer.headers["Content-Type"] == "image/jpeg"
        assert answer.body.startswith(b"\xff\xd8\xff")
        assert_guarded(answer)
        assert max(Image.open(io.BytesIO(answer.body)).size) <= 320
    for missing in ("nope", "..%2Fk-nude", "k-nude%00"):
        answer = ask(port, "GET", f"/{token}/thumb/{missing}")
        assert answer.status == 404
        assert_guarded(answer)


def test_a_thumbnail_the_caller_cannot_make_is_not_found_and_the_review_goes_on() -> None:
    def broken(key: str) -> bytes | None:
        if key == "k-nude":
            raise OSError("the object could not be read")
        return None

    with new_review(thumbnail=broken) as review:
        review.start()
        port, token = port_of(review), token_of(review)
        assert ask(port, "GET", f"/{token}/thumb/k-nude").status == 404
        assert ask(port, "GET", f"/{token}/thumb/k-card").status == 404
        assert still_open(review)


@pytest.mark.parametrize(("method", "route"), ROUTES)
def test_every_route_refuses_a_request_without_the_token(
    review: Review, method: str, route: str
) -> None:
    port, good = port_of(review), csrf(review)
    token = token_of(review)
    wrong = [
        "",
        token[:-1] + ("A" if token[-1] != "A" else "B"),  # one character off
        token[:-1],  # a prefix
        token + "x",
        token.upper() if token.upper() != token else token.lower(),
        "static",
        "api",
    ]
    for first in wrong:
        for path in (f"/{first}/{route}", f"/{route}?token={token}", f"/x/{token}/{route}"):
            if method == "POST":
                answer = post(port, path, {"csrf": good, "keys": sorted(READY), "word": WORD})
            else:
                answer = ask(port, method, path)
            assert answer.status == 403, (method, path)
            assert_guarded(answer)
            assert token.encode() not in answer.body
    assert still_open(review)


@pytest.mark.parametrize(
    "host",
    ["evil.example:{port}", "evil.example", "127.0.0.1:1", "127.0.0.1", "[::1]:{port}", NO_HOST],
)
def test_a_request_for_another_host_is_refused(review: Review, host: str) -> None:
    port, token = port_of(review), token_of(review)
    host = host.format(port=port)
    for method, route in ROUTES:
        answer = ask(port, method, f"/{token}/{route}", host=host)
        assert answer.status == 403, (host, method, route)
        assert_guarded(answer)
    assert ask(port, "GET", f"/{token}/api/plan", host=f"localhost:{port}").status == 200
    assert ask(port, "GET", f"/{token}/api/plan", host=f"LOCALHOST:{port}").status == 200
    assert still_open(review)


def test_a_post_needs_the_pages_origin_and_its_csrf_token(review: Review) -> None:
    port, token, good = port_of(review), token_of(review), csrf(review)
    confirm = {"csrf": good, "keys": sorted(READY), "word": WORD}
    for route in ("api/confirm", "api/cancel"):
        path = f"/{token}/{route}"
        for origin in (
            "http://evil.example",
            f"http://evil.example:{port}",
            "null",
            f"http://127.0.0.1:{port + 1 if port < 65535 else 1}",
            f"https://127.0.0.1:{port}",
        ):
            answer = post(port, path, confirm, origin=origin)
            assert answer.status == 403, origin
            assert_guarded(answer)
        no_origin = ask(
            port, "POST", path, headers={"Content-Type": "application/json"}, body=b"{}"
        )
        assert no_origin.status == 403
        for payload in ({}, {"csrf": ""}, {"csrf": good[:-1]}, {"csrf": token}):
            answer = post(port, path, {**confirm, **payload} if payload else {"keys": []})
            assert answer.status == 403, payload
            assert_guarded(answer)
        # a form of another site posts text/plain or form data: not JSON, not taken
        form = ask(
            port,
            "POST",
            path,
            headers={"Origin": f"http://127.0.0.1:{port}", "Content-Type": "text/plain"},
            body=b'{"csrf": "x"}',
        )
        assert form.status == 415
    assert still_open(review)
    cancelled = post(
        port, f"/{token}/api/cancel", {"csrf": good}, origin=f"http://localhost:{port}"
    )
    assert cancelled.status == 200
    assert review.wait() == Decision(frozenset(), cancelled=True)


def test_reads_and_changes_each_take_their_own_method(review: Review) -> None:
    port, token, good = port_of(review), token_of(review), csrf(review)
    for route in ("api/confirm", "api/cancel"):
        answer = ask(port, "GET", f"/{token}/{route}")
        assert answer.status == 405 and answer.headers["Allow"] == "POST"
        assert_guarded(answer)
    for route in ("", "api/plan", "thumb/k-nude", "static/review.js"):
        answer = post(port, f"/{token}/{route}", {"csrf": good})
        assert answer.status == 405 and answer.headers["Allow"] == "GET"
    assert ask(port, "GET", f"/{token}/api/nothing").status == 404
    assert still_open(review)


def test_only_whitelisted_files_are_served(review: Review) -> None:
    port, token = port_of(review), token_of(review)
    for name in (
        "../site.py",
        "..%2Fsite.py",
        "%2e%2e/handler.py",
        "index.html",
        "review.js/",
        "REVIEW.JS",
        "",
    ):
        answer = ask(port, "GET", f"/{token}/static/{name}")
        assert answer.status == 404, name
        assert_guarded(answer)


def test_the_token_alone_is_sent_to_the_page_with_its_slash(review: Review) -> None:
    port, token = port_of(review), token_of(review)
    answer = ask(port, "GET", f"/{token}")
    assert answer.status == 308 and answer.headers["Location"] == f"/{token}/"
    assert_guarded(answer)


def test_a_confirmation_naming_a_group_not_ready_is_refused(review: Review) -> None:
    port, token, good = port_of(review), token_of(review), csrf(review)
    path = f"/{token}/api/confirm"
    for keys, word, says in (
        (["k-nude", "k-card-live"], WORD, "IMG_0003.HEIC cannot go yet"),
        (["k-nude", "unknown"], WORD, "not in this review"),
        ([], WORD, "nothing is chosen"),
        (["k-nude"], "remove", f"type {WORD}"),
        (["k-nude"], "", f"type {WORD}"),
    ):
        answer = post(port, path, {"csrf": good, "keys": keys, "word": word})
        assert answer.status == 400, keys
        assert says in answer.json()["error"]
        assert_guarded(answer)
    for body in (b"not json", b"[]", b'{"csrf": 1}', b'{"csrf": "x", "keys": [1]}'):
        answer = ask(
            port,
            "POST",
            path,
            headers={"Origin": f"http://127.0.0.1:{port}", "Content-Type": "application/json"},
            body=body,
        )
        assert answer.status == 400, body
    assert still_open(review)  # none of these decided anything


def test_a_good_confirmation_ends_the_review_with_the_decision(review: Review) -> None:
    port, token, good = port_of(review), token_of(review), csrf(review)
    chosen = ["k-nude", "k-card", "k-nude"]
    answer = post(port, f"/{token}/api/confirm", {"csrf": good, "keys": chosen, "word": WORD})
    assert answer.status == 200 and answer.json() == {"done": True, "cancelled": False, "chosen": 2}
    assert_guarded(answer)
    assert review.wait() == Decision(frozenset({"k-nude", "k-card"}))
    with pytest.raises(ConnectionRefusedError):
        ask(port, "GET", f"/{token}/api/plan")


def test_an_idle_review_is_cancelled_and_closed() -> None:
    now = [0.0]
    with new_review(idle_timeout=60, clock=lambda: now[0], poll=0.01) as review:
        review.start()
        port, token = port_of(review), token_of(review)
        decided: list[Decision] = []
        waiter = threading.Thread(target=lambda: decided.append(review.wait()))
        waiter.start()
        now[0] = 59
        assert ask(port, "GET", f"/{token}/api/alive").status == 204  # the page is still open
        now[0] = 100  # 41 s since the page was last heard from
        waiter.join(0.3)
        assert waiter.is_alive() and not decided
        for _ in range(3):  # requests without the token do not keep the review alive
            assert ask(port, "GET", "/api/alive").status == 403
        now[0] = 118.5
        waiter.join(0.3)
        assert waiter.is_alive()
        now[0] = 119
        waiter.join(5)
        assert decided == [Decision(frozenset(), cancelled=True)]
        with pytest.raises(ConnectionRefusedError):
            ask(port, "GET", f"/{token}/api/plan")


def other_addresses() -> set[str]:
    """This machine's addresses that are not 127.0.0.1 (its names, the default route's)."""
    found = {"127.0.0.2"}  # still loopback, but not the address the review is bound to
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            found.add(str(info[4][0]))
    except OSError:
        pass
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # a documentation address: no packet is sent
        found.add(probe.getsockname()[0])
    except OSError:
        pass
    finally:
        probe.close()
    if socket.has_ipv6:
        found.add("::1")
    found.discard("127.0.0.1")
    return found


def test_the_server_answers_on_127_0_0_1_only(review: Review) -> None:
    host, port = review.address
    assert host == "127.0.0.1"
    for address in sorted(other_addresses()):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as attempt:
            attempt.settimeout(2)
            try:
                attempt.connect((address, port))
            except OSError:
                continue  # refused (or no such address here): nobody answers
            pytest.fail(f"the review answered on {address}")


def test_the_pages_files_ship_as_package_data() -> None:
    static = resources.files("companion.cleanup.review").joinpath("static")
    shipped = [PAGE, *STATIC]
    for name in shipped:
        assert static.joinpath(name).is_file(), name
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["companion"]
    for name in shipped:
        path = f"cleanup/review/static/{name}"
        assert any(fnmatch(path, glob) for glob in globs), f"{path} is not package data"


def test_a_review_leaves_no_picture_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, temp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    temp.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    assert tempfile.gettempdir() == str(temp)
    with new_review(make_plan()) as review:
        review.start()
        port, token = port_of(review), token_of(review)
        for key in ("k-nude", "k-card", "k-card-live", "k-id"):
            assert ask(port, "GET", f"/{token}/thumb/{key}").body.startswith(b"\xff\xd8")
        good = csrf(review)
        post(port, f"/{token}/api/confirm", {"csrf": good, "keys": ["k-nude"], "word": WORD})
        assert review.wait().chosen == {"k-nude"}
    for folder in (home, temp):
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                for kind, magic in MAGIC.items():
                    assert magic not in data, f"{kind} bytes in {path.relative_to(tmp_path)}"
    assert os.environ["HOME"] == str(home)


def test_a_review_is_started_once_and_waited_for_after_it_starts() -> None:
    review = new_review()
    with pytest.raises(RuntimeError):
        review.wait()
    with review:
        review.start()
        with pytest.raises(RuntimeError):
            review.start()
    review.close()  # a second close does nothing
    with pytest.raises(ValueError):
        new_review(idle_timeout=0)
