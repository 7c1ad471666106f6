"""The review page in a real browser: Playwright drives Debian's Chromium (``.ci/run`` installs
it; Playwright's own browser downloads are not used). A person opens the page with its token,
sees the photos by category, reveals a blurred one, chooses with the mouse and the keyboard,
types the word and confirms; the review's ``wait`` gives exactly that decision.

``COMPANION_UPDATE_SCREENSHOTS=1`` also writes the page's screenshot to docs/images/ (CI keeps
it in the test's temporary folder only).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from companion.cleanup.plan import Decision
from tests.review_support import WORD, new_review

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DOCS_SCREENSHOT = ROOT / "docs" / "images" / "cleanup-review.png"
MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"ftypheic", b"ftypmif1")


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("Chromium is not installed: apt-get install chromium (.ci/run does)")
    return path


@pytest.fixture
def places() -> Iterator[Path]:
    """HOME and the temporary folder for Chromium, so the test can look at what it left there.
    Short on purpose: Chromium's profile lock is a Unix socket in the temporary folder, and a
    socket's path is at most 107 bytes, which pytest's folders can exceed."""
    with tempfile.TemporaryDirectory(prefix="review-") as top:
        for name in ("home", "tmp"):
            (Path(top) / name).mkdir()
        yield Path(top)


@pytest.fixture
def browser(places: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # tmp_path is asked for first: pytest places its folders under the temporary folder it
    # finds, which must not be the one given to Chromium
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed: pip install -e '.[dev]'")
    executable = chromium()
    monkeypatch.setenv("HOME", str(places / "home"))
    monkeypatch.setenv("TMPDIR", str(places / "tmp"))
    monkeypatch.setattr(tempfile, "tempdir", None)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)
        try:
            yield launched
        finally:
            launched.close()


def pictures_left_in(*folders: Path) -> list[str]:
    found = []
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and not path.is_symlink():
                try:
                    data = path.read_bytes()
                except OSError:
                    continue  # a socket or a file that went away
                if any(magic in data for magic in MAGIC):
                    found.append(path.name)
    return found


def open_page(browser: Any, url: str) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="en-GB")
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(url)
    page.wait_for_selector("li.tile")
    page.wait_for_function(
        "() => [...document.querySelectorAll('li.tile img')]"
        ".every(image => image.complete && image.naturalWidth > 0)"
    )
    return page, problems


def filter_of(page: Any, key: str) -> str:
    image = page.locator(f'section[data-category="nudity"] li.tile[data-key="{key}"] img')
    return str(image.evaluate("image => getComputedStyle(image).filter"))


def test_a_person_reviews_chooses_and_confirms_in_chromium(
    browser: Any, places: Path, tmp_path: Path
) -> None:
    with new_review() as review:
        page, problems = open_page(browser, review.start())

        titles = page.locator("section.category h2").all_inner_texts()
        assert titles == [
            "Nudity (1)",
            "Identity documents (1)",
            "Payment cards (2)",
            "Screenshots (1)",
        ]
        cards = page.locator('section[data-category="payment_card"]')
        assert cards.locator(".name").all_inner_texts() == ["IMG_0002.PNG", "IMG_0003.HEIC"]
        assert "card number 4539" in cards.locator(".reasons").first.inner_text()
        live = cards.locator('li.tile[data-key="k-card-live"]')
        assert "not-ready" in str(live.get_attribute("class"))
        assert "IMG_0003.MOV: not verified" in live.locator(".why").inner_text()

        # a category at once: only its ready photo is chosen, and everywhere it is shown
        cards.locator("input[data-category]").check()
        assert page.locator('input.pick[data-key="k-card"]').evaluate_all(
            "boxes => boxes.map(box => box.checked)"
        ) == [True, True]
        live.locator("input.pick").click(force=True)  # greyed: the click changes nothing
        assert not live.locator("input.pick").is_checked()

        # the keyboard: space on the nudity photo, the arrow to the next photo, space twice
        page.locator('li.tile[data-key="k-nude"] input.pick').focus()
        page.keyboard.press("Space")
        page.keyboard.press("ArrowRight")
        assert page.evaluate("document.activeElement.dataset.key") == "k-id"
        page.keyboard.press("Space")
        page.keyboard.press("Space")
        assert page.locator("#count").inner_text() == "2 photos selected · frees 4.8 MB"

        assert "blur" in filter_of(page, "k-nude")
        shot = tmp_path / "cleanup-review.png"
        # the whole page in one window, so the selection bar sits under the last photo
        height = page.evaluate("document.documentElement.scrollHeight")
        page.set_viewport_size({"width": 1200, "height": int(height)})
        page.screenshot(path=str(shot))
        page.set_viewport_size({"width": 1200, "height": 900})
        if os.environ.get("COMPANION_UPDATE_SCREENSHOTS") == "1":
            shutil.copyfile(shot, DOCS_SCREENSHOT)
        page.locator('li.tile[data-key="k-nude"] button.reveal').click()
        assert filter_of(page, "k-nude") == "none"

        page.click("#review")
        happens = page.locator("#confirm-list li").all_inner_texts()
        assert [line.split(" (")[0] for line in happens] == ["IMG_0001.JPG", "IMG_0002.PNG"]
        assert all("moved to the quarantine folder" in line for line in happens)
        page.fill("#word", WORD.lower())
        assert page.locator("#do-confirm").is_disabled()
        page.fill("#word", WORD)
        page.screenshot(path=str(tmp_path / "cleanup-review-confirm.png"))
        page.click("#do-confirm")
        page.wait_for_selector("#done:not([hidden])")
        assert "Confirmed: 2 photos" in page.locator("#done-text").inner_text()

        assert review.wait() == Decision(frozenset({"k-nude", "k-card"}))
        # while the browser still runs: no thumbnail was cached on disk (no-store)
        assert pictures_left_in(places / "home", places / "tmp") == []
        assert problems == []


def test_cancelling_in_chromium_ends_the_review_with_nothing_chosen(browser: Any) -> None:
    with new_review() as review:
        page, problems = open_page(browser, review.start())
        page.locator('li.tile[data-key="k-id"] input.pick').check()
        page.click("#cancel")
        page.wait_for_selector("#done:not([hidden])")
        assert "Cancelled" in page.locator("#done-text").inner_text()
        assert review.wait() == Decision(frozenset(), cancelled=True)
        assert problems == []
