"""`companion checklist` as a person runs it: against the simulated iPhone over its real USB
protocols (the apps and the iOS version come from the phone), without a phone (--ios/--apps),
and `companion checklist verify` on a generated App Privacy Report."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pypdf
import pytest

from companion.simulator import Faults, Simulator
from tests.support import cli_env, companion
from tests.usb_support import phone_copy


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = cli_env(HOME=str(home), XDG_DATA_HOME=str(home / "data"), **extra)
    env.pop("USBMUXD_SOCKET_ADDRESS", None)
    env.pop("LC_ALL", None)
    env.pop("LANGUAGE", None)
    env["LANG"] = extra.get("LANG", "C.UTF-8")
    return env


@pytest.fixture
def phone_address(tmp_path: Path) -> Iterator[str]:
    """A simulated iPhone (iOS 17, the sample apps) served for child processes."""
    with Simulator(phone_copy(tmp_path)) as simulator:
        yield simulator.address


def _pdf_text(path: Path) -> str:
    reader = pypdf.PdfReader(io.BytesIO(path.read_bytes()))
    return "\n".join(page.extract_text() for page in reader.pages)


def _flat(text: str) -> str:
    """Extracted text with line breaks and no-break spaces as plain spaces (wrapping varies)."""
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


@pytest.mark.slow
def test_from_the_phone_in_both_languages(phone_address: str, tmp_path: Path) -> None:
    env = _env(tmp_path)
    texts = {}
    for lang in ("en", "fr"):
        out = tmp_path / f"list-{lang}.pdf"
        args = ["--usbmux", phone_address, "--lang", lang, "--out", str(out), "--json"]
        done = companion("checklist", *args, env=env)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["device"] == "Demo iPhone" and result["ios"].startswith("17.")
        assert 1 <= result["pages"] <= 3 and result["paper"] == ("a4" if lang == "fr" else "letter")
        keys = {step["key"] for step in result["steps"]}
        assert "photos.com.facebook.Facebook" in keys and "photos.org.example.scanbox" in keys
        assert not any("calcpad" in k or "skycast" in k for k in keys)  # they ask for no photos
        texts[lang] = _flat(_pdf_text(out))
    en, fr = texts["en"], texts["fr"]
    assert "Demo iPhone · iPhone 14 Pro · iOS 17" in en
    assert "Set Facebook to Limited Access or None" in en
    assert "Settings › Privacy & Security › Photos › Facebook" in en
    assert "Set ScanBox to Add Photos Only: that is enough" in en
    assert "Facebook: Turn off both Camera roll sharing suggestions toggles" in en
    assert "Snapchat" in en and "Google Photos" in en
    for absent in ("TikTok", "Threads", "Canva", "Dropbox", "CalcPad", "SkyCast", "PodLane"):
        assert absent not in en and absent not in fr, absent  # not installed, or no photo use
    assert "Réglez Facebook sur Accès limité ou Aucun" in fr
    assert "Réglages › Confidentialité et sécurité › Photos › Facebook" in fr
    assert "Liste de contrôle : vos photos" in fr
    assert "« Suggestions de partage de la pellicule »" in fr  # not confirmed in French: quoted
    assert "Page 1 sur" in fr and "Page 1 of" in en
    if shutil.which("pdftoppm"):  # installed by .ci/run (poppler-utils)
        pages = tmp_path / "pages"
        pages.mkdir()
        pdf = str(tmp_path / "list-fr.pdf")
        subprocess.run(["pdftoppm", "-r", "40", "-png", pdf, str(pages / "p")], check=True)
        assert len(list(pages.glob("p-*.png"))) == json.loads(done.stdout)["pages"]


def test_without_a_phone_markdown_and_html_on_stdout(tmp_path: Path) -> None:
    env = _env(tmp_path, LANG="fr_FR.UTF-8")
    apps = "com.facebook.Facebook,org.example.thing"
    md = companion("checklist", "--ios", "18.2", "--apps", apps, "--format", "md", "--out", "-",
                   env=env)  # fmt: skip
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("# Liste de contrôle\u00a0: vos photos\n")  # French from LANG
    assert "- [ ] **Réglez Facebook sur Accès limité ou Aucun**" in md.stdout
    assert "Réglages › Apps › Photos › Recherche visuelle améliorée" not in md.stdout  # fr label
    assert "Cherchez «\u00a0Recherche visuelle améliorée\u00a0» dans les Réglages" in md.stdout
    html = companion("checklist", "--ios", "15.1", "--apps", apps, "--format", "html",
                     "--lang", "en", "--paper", "a4", "--out", "-", env=env)  # fmt: skip
    assert html.returncode == 0, html.stderr
    assert '<html lang="en">' in html.stdout and "@page { size: A4" in html.stdout
    assert "Settings › Privacy › Photos › Facebook" in html.stdout  # iOS 15 said Privacy
    assert "Set Facebook to Selected Photos or None" in html.stdout
    assert "App Privacy Report" not in html.stdout  # 15.2 and later


@pytest.mark.slow
def test_the_default_file_name_and_an_all_or_nothing_write(tmp_path: Path) -> None:
    env = _env(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(
        [*_cli(), "checklist", "--ios", "17.5", "--apps", "net.whatsapp.WhatsApp"],
        cwd=work, env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [p.name for p in work.iterdir()] == ["photo-checklist-en.pdf"]
    assert "Wrote photo-checklist-en.pdf" in done.stdout
    assert (work / "photo-checklist-en.pdf").read_bytes().startswith(b"%PDF-")


@pytest.mark.slow
def test_the_format_follows_the_out_suffix(tmp_path: Path) -> None:
    env = _env(tmp_path)
    for name, start in (("list.html", "<!doctype html>"), ("list.md", "# Photo privacy")):
        out = tmp_path / name
        done = companion("checklist", "--ios", "17.5", "--out", str(out), env=env)
        assert done.returncode == 0, done.stderr
        assert out.read_text(encoding="utf-8").startswith(start)
    out = tmp_path / "list.txt"  # unknown suffix: the default format
    assert companion("checklist", "--ios", "17.5", "--out", str(out), env=env).returncode == 0
    assert out.read_bytes().startswith(b"%PDF-")


def _cli() -> list[str]:
    import sys

    return [sys.executable, "-m", "companion"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--ios", "19.0"], "there is no iOS 19"),
        (["--ios", "13.7"], "no per-app photo access levels"),
        (["--ios", "seventeen"], "not an iOS version"),
        (["--apps", "com.facebook.Facebook"], "--apps needs --ios"),
        (["--from", "usb", "--ios", "17.5"], "both say where"),
        (["--from", "folder:/tmp"], "reads its facts from an iPhone"),
        (["--ios", "17.5", "--apps", "../../etc/passwd"], "not a bundle id"),
        (["--ios", "17.5", "--lang", "de"], "no checklist in 'de'"),
        (["--ios", "17.5", "--format", "docx"], "no 'docx' format"),
        (["--ios", "17.5", "--paper", "a3"], "no 'a3' paper"),
        (["--ios", "17.5", "--out", "/nonexistent-folder/x.pdf"], "no such folder"),
    ],
)
def test_usage_errors_exit_2_with_a_hint(tmp_path: Path, args: list[str], words: str) -> None:
    done = companion("checklist", *args, env=_env(tmp_path))
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert words in done.stderr and "hint: " in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_no_phone_exits_10(tmp_path: Path) -> None:
    socket = tmp_path / "nobody-listens.sock"
    done = companion("checklist", "--usbmux", str(socket), env=_env(tmp_path))
    assert done.returncode == 10 and "hint: " in done.stderr, done.stderr


@pytest.mark.slow
def test_a_locked_phone_exits_10_and_says_unlock(tmp_path: Path) -> None:
    with Simulator(phone_copy(tmp_path), faults=Faults(locked=True)) as simulator:
        done = companion("checklist", "--usbmux", simulator.address, env=_env(tmp_path))
    assert done.returncode == 10 and "nlock" in done.stderr, done.stderr


def _access(bundle_id: str, n: int, day: int) -> list[str]:
    lines = []
    for i in range(n):
        for kind in ("intervalBegin", "intervalEnd"):
            lines.append(json.dumps({
                "accessor": {"identifier": bundle_id, "identifierType": "bundleID"},
                "category": "photos", "identifier": f"{bundle_id}-{day}-{i}", "kind": kind,
                "timeStamp": f"2026-11-{day:02d}T10:{i % 60:02d}:00.000+01:00", "type": "access",
            }))  # fmt: skip
    return lines


@pytest.mark.slow
def test_verify_against_the_phone(phone_address: str, tmp_path: Path) -> None:
    report = tmp_path / "App_Privacy_Report.ndjson"
    lines = [*_access("org.example.scanbox", 3, 20), *_access("com.facebook.Facebook", 40, 21)]
    lines += [*_access("com.example.notinstalled", 2, 22), "{broken", ""]
    lines += _access("com.apple.mobileslideshow", 5, 23)  # Photos itself: system access
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = _env(tmp_path)
    args = ["--privacy-report", str(report), "--usbmux", phone_address, "--from", "usb"]
    done = companion("checklist", "verify", *args, "--json", env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["skipped"] == 1
    verdicts = {
        f["bundle_id"]: (f["verdict"], f["reason"], f["accesses"]) for f in result["findings"]
    }
    assert verdicts["org.example.scanbox"] == ("contradicts", "read_while_add_only", 3)
    assert verdicts["com.facebook.Facebook"] == ("unknown", "reads_limited_or_full", 40)
    assert verdicts["com.example.notinstalled"] == ("unknown", "not_in_checklist", 2)
    assert verdicts["net.whatsapp.WhatsApp"] == ("confirms", "no_access", 0)
    assert result["findings"][0]["bundle_id"] == "org.example.scanbox"  # worst first
    assert "com.apple.mobileslideshow" not in verdicts
    assert result["system"] == [{"bundle_id": "com.apple.mobileslideshow", "accesses": 5}]
    text = companion("checklist", "verify", *args, "--lang", "fr", env=env)
    assert text.returncode == 0, text.stderr
    assert re.search(r"^  pas fait +ScanBox a lu vos photos 3 fois", text.stdout, re.M)
    assert "lignes illisibles ignorées\u00a0: 1" in text.stdout


def test_verify_a_file_that_is_not_a_report(tmp_path: Path) -> None:
    bogus = tmp_path / "photo.jpg"
    bogus.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8)
    done = companion("checklist", "verify", "--privacy-report", str(bogus), env=_env(tmp_path))
    assert done.returncode == 2 and "App Privacy Report" in done.stderr, done.stderr


def test_verify_lists_apples_own_apps_apart(tmp_path: Path) -> None:
    report = tmp_path / "App_Privacy_Report.ndjson"
    lines = [*_access("com.apple.mobileslideshow", 3, 20), *_access("com.facebook.Facebook", 2, 21)]
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = _env(tmp_path)
    text = companion(
        "checklist", "verify", "--privacy-report", str(report), "--lang", "en", env=env
    )
    assert text.returncode == 0, text.stderr
    assert (
        "Apple’s own apps, which have no photo setting to check (system access): "
        "com.apple.mobileslideshow (3 times)."
    ) in text.stdout.splitlines()
    verdicts = [line for line in text.stdout.splitlines() if line.startswith("  ")]
    assert len(verdicts) == 1 and "Facebook" in verdicts[0]
    done = companion("checklist", "verify", "--privacy-report", str(report), "--json", env=env)
    assert done.returncode == 0, done.stderr
    findings = json.loads(done.stdout)["findings"]
    assert [f["bundle_id"] for f in findings] == ["com.facebook.Facebook"]
