"""``companion cleanup`` end to end in a real browser: the real command runs in a child process
with ``--no-open``, Playwright drives Debian's Chromium on the address it prints (token and
all), and the executor then acts on a folder or on the simulated iPhone.

A person sees the grid by category, reveals a blurred photo, chooses, types the word and
confirms; the command then moves exactly that choice to the quarantine folder, or (from the
phone) lists the photos to delete in Photos, and ``--check`` finds them in Recently Deleted once
they were deleted there. Afterwards no picture is left in the home or temporary folders the
command and the browser were given, nor in the vault folder outside its encrypted objects.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from companion.cli.app import run
from companion.model import DetectorRun, Finding, ScanRecord
from companion.simulator.phone import SamplePhone
from companion.simulator.photos_app import delete_in_photos
from companion.vault import Vault
from companion.vault.verify import VerifyMode, verify
from tests.support import PASSPHRASE, WORK_FACTOR, cli_env, make_roll
from tests.test_review_browser import chromium, filter_of, open_page, pictures_left_in
from tests.usb_support import phone_copy

pytestmark = pytest.mark.slow

WORD = "REMOVE"
CARD = Finding("payment_card", "text", 0.97, "card number 4539 •••• 6467 passes the Luhn check")
NUDE = Finding("nudity", "nudity", 0.93, "exposed parts seen by the nudity model")
ADDRESS = re.compile(r"(http://127\.0\.0\.1:\d+/[A-Za-z0-9_-]+/)")
STARTS_WITHIN = 120.0  # seconds for the child to plan and print the page's address
ENDS_WITHIN = 120.0  # seconds for the child to act and exit once the page confirmed


# --- the places, the browser, the vault ---------------------------------------------------------


@dataclass(frozen=True)
class Places:
    """HOME and the temporary folder given to the command and to Chromium. Short on purpose:
    Chromium's profile lock is a Unix socket there, at most 107 bytes of path."""

    home: Path
    tmp: Path

    def environment(self) -> dict[str, str]:
        return {"HOME": str(self.home), "TMPDIR": str(self.tmp)}


@pytest.fixture
def executable() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("Playwright is not installed: pip install -e '.[dev]'")
    return chromium()


@pytest.fixture
def places(executable: str, tmp_path: Path) -> Iterator[Places]:
    # tmp_path first: pytest's folders are placed under the temporary folder it finds then
    with tempfile.TemporaryDirectory(prefix="cleanup-") as top:
        found = Places(Path(top) / "home", Path(top) / "tmp")
        found.home.mkdir()
        found.tmp.mkdir()
        yield found


@pytest.fixture
def browser(executable: str, places: Places, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's driver makes Chromium's profile in its own temporary folder: it starts with
    # the test's HOME and TMPDIR (and so does Chromium), then this process gets its own back
    with monkeypatch.context() as started:
        for name, value in places.environment().items():
            started.setenv(name, value)
        playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(
            executable_path=executable, env={**os.environ, **places.environment()}
        )
        try:
            yield launched
        finally:
            launched.close()
    finally:
        playwright.stop()


def live_in(places: Places, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands run in this process use the test's HOME (pair records) and temporary
    folder too."""
    for name, value in places.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(tempfile, "tempdir", None)


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "vault"
    monkeypatch.setenv("COMPANION_VAULT", str(folder))
    monkeypatch.setenv("COMPANION_PASSPHRASE", PASSPHRASE)
    monkeypatch.delenv("COMPANION_YES", raising=False)
    assert run(["vault", "init", "--kdf-work-factor", str(WORK_FACTOR)]) == 0
    return folder


def flag(vault: Path, source: str, findings: dict[str, Finding]) -> None:
    """Record a scan finding on each file of ``source`` named by its path, then a full
    verification, as a scan and 'verify --full' would."""
    with Vault.open(vault, PASSPHRASE, write=True) as opened:
        flagged = set()
        for stored in opened.assets():
            finding = findings.get(stored.asset.path)
            if stored.asset.source == source and finding is not None:
                runs = (DetectorRun(finding.detector, "1", (finding,)),)
                opened.record_scan(ScanRecord(stored.object_id, opened.now(), runs))
                flagged.add(stored.asset.path)
        assert flagged == set(findings)
        assert verify(opened, VerifyMode.FULL).ok


def no_pictures_left(places: Places, vault: Path) -> None:
    outside = [p for p in vault.rglob("*") if "objects" not in p.relative_to(vault).parts]
    assert any(p.is_file() for p in outside)  # the vault's own files are looked at too
    assert pictures_left_in(places.home, places.tmp) == []
    assert [p.name for p in outside if p.is_file() and pictures_left_in(p)] == []


# --- the command in a child process -------------------------------------------------------------


@dataclass
class Child:
    """``companion cleanup`` in a child process of its own session, its output read as it
    comes (so a child that never prints the address fails the test instead of hanging it)."""

    process: subprocess.Popen[str]
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    readers: list[threading.Thread] = field(default_factory=list)

    @classmethod
    def start(cls, args: list[str], env: dict[str, str]) -> Child:
        process = subprocess.Popen(
            [sys.executable, "-m", "companion", "cleanup", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        child = cls(process)
        for stream, into in ((process.stdout, child.out), (process.stderr, child.err)):
            reader = threading.Thread(target=child._read, args=(stream, into), daemon=True)
            reader.start()
            child.readers.append(reader)
        return child

    def _read(self, stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line)
            if into is self.err:
                self.lines.put(line)
        if into is self.err:
            self.lines.put(None)

    def address(self) -> str:
        while True:
            try:
                line = self.lines.get(timeout=STARTS_WITHIN)
            except queue.Empty:
                pytest.fail(f"no page address within {STARTS_WITHIN:.0f} s: {''.join(self.err)}")
            if line is None:
                self.process.wait(timeout=30)
                pytest.fail(f"cleanup ended ({self.process.returncode}): {''.join(self.err)}")
            if found := ADDRESS.search(line):
                return found.group(1)

    def finish(self) -> tuple[int, str, str]:
        """Wait for the child to exit; its exit status, standard output and error."""
        code = self.process.wait(timeout=ENDS_WITHIN)
        for reader in self.readers:
            reader.join(timeout=30)
        return code, "".join(self.out), "".join(self.err)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)  # its own session: this child only
            self.process.wait(timeout=30)


def cleanup_env(vault: Path, places: Places) -> dict[str, str]:
    return cli_env(
        COMPANION_VAULT=str(vault), COMPANION_PASSPHRASE=PASSPHRASE, **places.environment()
    )


def whole_page(page: Any, shot: Path) -> None:
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": 1200, "height": int(height)})
    page.screenshot(path=str(shot))
    page.set_viewport_size({"width": 1200, "height": 900})


def confirm_on(page: Any) -> list[str]:
    """Open the confirmation, check the wrong case is refused, type the word, confirm; the
    lines the confirmation listed."""
    page.click("#review")
    page.wait_for_selector("#confirm[open]")
    happens = page.locator("#confirm-list li").all_inner_texts()
    assert page.locator("#word-shown").inner_text() == WORD
    page.fill("#word", WORD.lower())
    assert page.locator("#do-confirm").is_disabled()
    page.fill("#word", "")
    page.locator("#word").press_sequentially(WORD)
    page.click("#do-confirm")
    page.wait_for_selector("#done:not([hidden])")
    return happens


# --- a folder -----------------------------------------------------------------------------------

NUDE_PATH = "DCIM/100APPLE/IMG_0006.JPG"
CARD_PATHS = ("DCIM/100APPLE/IMG_0007.JPG", "DCIM/100APPLE/IMG_0008.JPG")  # 0007: edit, .AAE


def files_of(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_a_folder_reviewed_in_chromium_moves_one_category_to_quarantine(
    places: Places, browser: Any, vault: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live_in(places, monkeypatch)
    roll = make_roll(tmp_path / "roll")
    assert run(["backup", "--from", f"folder:{roll}"]) == 0
    flag(vault, f"folder:{roll}", {NUDE_PATH: NUDE, CARD_PATHS[0]: CARD, CARD_PATHS[1]: CARD})
    before = files_of(roll)
    # the card photos with every file of them: IMG_0007's edit and its adjustments go along
    cards = {p for p in before if Path(p).stem.replace("IMG_E", "IMG_") in ("IMG_0007", "IMG_0008")}
    assert len(cards) == 4 and NUDE_PATH in before
    quarantine = tmp_path / "quarantine"

    args = ["--from", f"folder:{roll}", "--no-open", "--quarantine", str(quarantine)]
    child = Child.start(args, cleanup_env(vault, places))
    try:
        page, problems = open_page(browser, child.address())

        titles = page.locator("section.category h2").all_inner_texts()
        assert titles == ["Nudity (1)", "Payment cards (2)"]
        nude = page.locator('section[data-category="nudity"]')
        card = page.locator('section[data-category="payment_card"]')
        assert nude.locator(".name").all_inner_texts() == ["IMG_0006.JPG"]
        assert sorted(card.locator(".name").all_inner_texts()) == ["IMG_0007.JPG", "IMG_0008.JPG"]
        assert "card number 4539" in card.locator(".reasons").first.inner_text()
        assert page.locator("li.tile.not-ready").count() == 0
        assert str(roll) not in page.content()  # the source's path is not shown

        key = str(nude.locator("li.tile").get_attribute("data-key"))
        assert "blur" in filter_of(page, key)
        whole_page(page, tmp_path / "cleanup-folder.png")
        nude.locator("li.tile .frame").click()  # a click on a blurred photo reveals it...
        assert filter_of(page, key) == "none"
        assert not nude.locator("input.pick").is_checked()  # ...and chooses nothing

        card.locator("input[data-category]").check()
        assert page.locator("input.pick:checked").count() == 2
        assert page.locator("#count").inner_text().startswith("2 photos selected")
        happens = confirm_on(page)
        assert sorted(line.split(" (")[0] for line in happens) == ["IMG_0007.JPG", "IMG_0008.JPG"]
        assert all("will be moved to" in line for line in happens)
        assert "Confirmed: 2 photos" in page.locator("#done-text").inner_text()

        code, out, err = child.finish()
        assert code == 0, err
        assert "moved to" in out and "companion checklist" in out
        assert problems == []
        no_pictures_left(places, vault)  # while Chromium still runs, its profile there
    finally:
        child.stop()

    assert files_of(quarantine) == cards  # kept in their folders
    assert files_of(roll) == before - cards
    assert NUDE_PATH in files_of(roll)


# --- the simulated iPhone -----------------------------------------------------------------------


@pytest.fixture
def phone(tmp_path: Path) -> SamplePhone:
    return phone_copy(tmp_path)  # before the test's temporary folder is set


def test_the_simulated_iphone_reviewed_in_chromium_then_checked(
    phone: SamplePhone,
    places: Places,
    browser: Any,
    vault: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from companion.simulator import Simulator

    live_in(places, monkeypatch)  # pair records of the test's own, shared with the child
    with Simulator(phone) as simulator:
        common = ["--from", "usb", "--usbmux", simulator.address]
        assert run(["backup", *common]) == 0
        planted = sorted(phone.planted)[0]
        name = planted.rsplit("/", 1)[-1]
        with Vault.open(vault, PASSPHRASE) as opened:
            source = next(s.asset.source for s in opened.assets() if s.asset.path == planted)
        flag(vault, source, {planted: CARD})

        child = Child.start([*common, "--no-open"], cleanup_env(vault, places))
        try:
            page, problems = open_page(browser, child.address())
            assert page.locator("section.category h2").all_inner_texts() == ["Payment cards (1)"]
            assert page.locator("li.tile .name").all_inner_texts() == [name]
            page.click("#select-all")
            assert page.locator("#count").inner_text().startswith("1 photo selected")
            whole_page(page, tmp_path / "cleanup-iphone.png")
            happens = confirm_on(page)
            assert len(happens) == 1 and happens[0].startswith(name)
            assert "until you delete it in Photos" in happens[0]

            code, out, err = child.finish()
            assert code == 0, err
            assert "delete in Photos" in out and "cleanup --check" in out and name in out
            assert problems == []
            no_pictures_left(places, vault)
        finally:
            child.stop()
        assert (phone.media_root / planted).exists()  # nothing deleted over the cable

        delete_in_photos(phone.media_root, [planted], when=datetime.now(UTC))
        capsys.readouterr()
        assert run(["cleanup", *common, "--check"]) == 0
        out, _err = capsys.readouterr()
        assert "in Recently Deleted until" in out and name in out
    no_pictures_left(places, vault)
