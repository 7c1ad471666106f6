"""``companion cleanup`` end to end: a real vault, a real folder or the simulated iPhone, the
terminal review fed on standard input, and the review page answered over HTTP."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from companion.cli.app import run
from companion.model import DetectorRun, EventKind, Finding, ScanRecord
from companion.simulator.photos_app import delete_in_photos
from companion.vault import Vault
from companion.vault.verify import VerifyMode, verify
from tests.support import PASSPHRASE, WORK_FACTOR, cli_env, make_roll
from tests.usb_support import phone_copy

CARD = Finding("payment_card", "text", 0.97, "card number 4539 •••• 6467 passes the Luhn check")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    vault = tmp_path / "vault"
    monkeypatch.setenv("COMPANION_VAULT", str(vault))
    monkeypatch.setenv("COMPANION_PASSPHRASE", PASSPHRASE)
    monkeypatch.delenv("COMPANION_YES", raising=False)
    assert run(["vault", "init", "--kdf-work-factor", str(WORK_FACTOR)]) == 0
    return vault


def flag(vault: Path, source: str, names: list[str], *, check: bool = True) -> None:
    """Record a scan finding on each named file of ``source``, then (with ``check``) a full
    verification, as a scan and 'verify --full' would."""
    with Vault.open(vault, PASSPHRASE, write=True) as opened:
        for stored in opened.assets():
            if stored.asset.source == source and stored.asset.name in names:
                run_ = DetectorRun("text", "1", (CARD,))
                opened.record_scan(ScanRecord(stored.object_id, opened.now(), (run_,)))
        if check:
            assert verify(opened, VerifyMode.FULL).ok


def answer(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


@pytest.fixture
def roll(tmp_path: Path, env: Path) -> Iterator[tuple[Path, list[str]]]:
    folder = make_roll(tmp_path / "roll")
    assert run(["backup", "--from", f"folder:{folder}"]) == 0
    names = sorted(p.name for p in folder.rglob("*.JPG"))[:2]
    flag(env, f"folder:{folder}", names)
    yield folder, names


def test_terminal_review_moves_the_chosen_to_quarantine(
    roll: tuple[Path, list[str]],
    tmp_path: Path,
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder, names = roll
    capsys.readouterr()
    answer(monkeypatch, "all\nREMOVE\n")
    quarantine = tmp_path / "quarantine"
    args = ["cleanup", "--from", f"folder:{folder}", "--no-browser", "--quarantine"]
    code = run([*args, str(quarantine)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "payment_card (2):" in err and "Type REMOVE" in err
    moved = sorted(p.name for p in quarantine.rglob("*") if p.is_file())
    assert [n for n in moved if n.endswith(".JPG")] == names
    assert not any(p.name in names for p in folder.rglob("*"))
    assert "moved to" in out and "companion checklist" in out
    with Vault.open(env, PASSPHRASE) as opened:
        kinds = [e.kind for e in opened.removal_events(f"folder:{folder}")]
    assert kinds.count(EventKind.REMOVED) >= 2 and EventKind.REMOVAL_REFUSED not in kinds


def test_a_wrong_word_cancels_and_touches_nothing(
    roll: tuple[Path, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder, _names = roll
    before = sorted(p for p in folder.rglob("*") if p.is_file())
    answer(monkeypatch, "1\nremove\n")  # lower case: not the word shown
    args = ["cleanup", "--from", f"folder:{folder}", "--no-browser", "--quarantine"]
    assert run([*args, str(tmp_path / "q")]) == 3
    assert sorted(p for p in folder.rglob("*") if p.is_file()) == before
    assert not (tmp_path / "q").exists()
    assert "error: the review was cancelled" in capsys.readouterr().err


def test_companion_yes_replaces_the_word_and_json_reports(
    roll: tuple[Path, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder, names = roll
    monkeypatch.setenv("COMPANION_YES", "1")
    answer(monkeypatch, "payment_card\n")
    capsys.readouterr()
    args = ["cleanup", "--from", f"folder:{folder}", "--no-browser", "--delete", "--json"]
    assert run(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ready"] == 2 and len(report["chosen"]) == 2
    assert sorted(r["name"] for r in report["report"]["removed"]) == names
    assert not any(p.name in names for p in folder.rglob("*"))


def test_dry_run_and_unverified_items(
    tmp_path: Path, env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_roll(tmp_path / "roll")
    assert run(["backup", "--from", f"folder:{folder}"]) == 0
    names = sorted(p.name for p in folder.rglob("*.JPG"))[:2]
    flag(env, f"folder:{folder}", names, check=False)  # scanned, never verified
    before = sorted(p for p in folder.rglob("*") if p.is_file())
    capsys.readouterr()
    answer(monkeypatch, "all\nREMOVE\n")
    args = ["cleanup", "--from", f"folder:{folder}", "--no-browser", "--delete"]
    assert run(args) == 0  # nothing can go: nothing chosen, nothing done
    out, err = capsys.readouterr()
    assert "Not ready, back up and verify first (2)" in err and "not verified" in err
    assert "Nothing removed" in out
    answer(monkeypatch, "all\nREMOVE\n")
    assert run([*args, "--verify-first", "--dry-run"]) == 0  # verified now, then a dry run
    out, _err = capsys.readouterr()
    assert "Dry run" in out and "would free" in out
    assert sorted(p for p in folder.rglob("*") if p.is_file()) == before


def test_the_review_page_answered_over_http(
    roll: tuple[Path, list[str]], tmp_path: Path, env: Path
) -> None:
    """``--no-open`` prints the page's address; a confirmation posted as the page does it
    (token, CSRF, Origin, the word) removes exactly what was chosen."""
    folder, names = roll
    environment = cli_env(COMPANION_VAULT=str(env), COMPANION_PASSPHRASE=PASSPHRASE)
    quarantine = tmp_path / "quarantine"
    child = subprocess.Popen(
        [
            *(sys.executable, "-m", "companion", "cleanup", "--from", f"folder:{folder}"),
            *("--no-open", "--quarantine", str(quarantine)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        start_new_session=True,
    )
    assert child.stderr is not None
    try:
        url = _url(child.stderr.readline())
        page = urllib.request.urlopen(url, timeout=10).read().decode()
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert csrf is not None, page
        plan = json.loads(urllib.request.urlopen(url + "api/plan", timeout=10).read())
        keys = [g["key"] for g in plan["groups"] if g["ready"]]
        body = json.dumps({"csrf": csrf.group(1), "keys": keys, "word": plan["word"]}).encode()
        origin = url.split("/", 3)
        request = urllib.request.Request(
            url + "api/confirm",
            data=body,
            headers={"Content-Type": "application/json", "Origin": "/".join(origin[:3])},
            method="POST",
        )
        assert urllib.request.urlopen(request, timeout=10).status == 200
        _out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    moved = sorted(p.name for p in quarantine.rglob("*.JPG"))
    assert moved == names


def _url(line: str) -> str:
    found = re.search(r"(http://127\.0\.0\.1:\d+/[A-Za-z0-9_-]+/)", line)
    assert found is not None, line
    return found.group(1)


@pytest.mark.slow
def test_usb_delete_in_photos_then_check(
    tmp_path: Path, env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from companion.simulator import Simulator

    phone = phone_copy(tmp_path)
    monkeypatch.setenv("COMPANION_YES", "1")
    monkeypatch.setenv("HOME", str(tmp_path))  # pair records of the test's own
    with Simulator(phone) as simulator:
        common = ["--from", "usb", "--usbmux", simulator.address]
        assert run(["backup", *common]) == 0
        planted = sorted(phone.planted)[0]
        name = planted.rsplit("/", 1)[-1]
        with Vault.open(env, PASSPHRASE) as opened:
            source = next(s.asset.source for s in opened.assets() if s.asset.name == name)
        flag(env, source, [name])
        capsys.readouterr()
        answer(monkeypatch, "all\n")
        assert run(["cleanup", *common, "--no-browser"]) == 0
        out, _err = capsys.readouterr()
        assert "delete in Photos" in out and "cleanup --check" in out
        delete_in_photos(phone.media_root, [planted], when=datetime.now(UTC))
        assert run(["cleanup", *common, "--check"]) == 0
        out, _err = capsys.readouterr()
        assert "in Recently Deleted until" in out and name in out


def test_status_shows_the_audit_trail(
    roll: tuple[Path, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder, _names = roll
    answer(monkeypatch, "all\nREMOVE\n")
    args = ["cleanup", "--from", f"folder:{folder}", "--no-browser", "--quarantine"]
    assert run([*args, str(tmp_path / "q")]) == 0
    capsys.readouterr()
    assert run(["status"]) == 0
    assert f"cleanup     folder:{folder}: 2 planned, 2 removed" in capsys.readouterr().out
    assert run(["status", "--json"]) == 0
    (trail,) = json.loads(capsys.readouterr().out)["removals"]
    assert trail["source"] == f"folder:{folder}"
    assert (trail["planned"], trail["removed"], trail["refused"]) == (2, 2, 0)


def test_a_vault_locked_by_a_backup_at_execute_time_removes_nothing(
    roll: tuple[Path, list[str]],
    tmp_path: Path,
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The review reads the vault while a backup writes it; the removal needs the vault for
    its records: locked, it stops (exit 11) before touching a file."""
    folder, _names = roll
    before = sorted(p for p in folder.rglob("*") if p.is_file())
    answer(monkeypatch, "all\nREMOVE\n")
    args = ["cleanup", "--from", f"folder:{folder}", "--no-browser", "--delete"]
    with Vault.open(env, PASSPHRASE, write=True):  # a backup holds the lock
        code = run(args)
    assert code == 11, capsys.readouterr().err
    assert sorted(p for p in folder.rglob("*") if p.is_file()) == before


def test_a_cleanup_asks_the_passphrase_once(
    roll: tuple[Path, list[str]], tmp_path: Path, env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The vault is opened to plan and review, then again to act: one question for the person."""
    from companion.cleanup.remove import QuarantineExecutor
    from companion.connectors import connect
    from companion.usecases.cleanup import choose_all, clean_up
    from companion.vault import VaultRef

    folder, names = roll
    asked: list[int] = []

    def passphrase() -> str:
        asked.append(1)
        return PASSPHRASE

    outcome = clean_up(
        connect(f"folder:{folder}"),
        VaultRef(env, passphrase),
        QuarantineExecutor(tmp_path / "q"),
        choose_all,
        verify_first=True,
    )
    assert outcome.report is not None and len(outcome.report.removed) == len(names)
    assert asked == [1]
