"""The command line as a person and a script use it: exit codes, --json, help and docs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from companion import __version__
from companion.cli.app import app, run
from companion.demo import STEPS
from companion.errors import RESERVED, ExitCode
from companion.vault import Vault
from tests.support import PASSPHRASE, WORK_FACTOR, digests, make_roll

DOCS = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A vault path in COMPANION_VAULT and the passphrase in COMPANION_PASSPHRASE."""
    vault = tmp_path / "vault"
    monkeypatch.setenv("COMPANION_VAULT", str(vault))
    monkeypatch.setenv("COMPANION_PASSPHRASE", PASSPHRASE)
    return vault


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def command_names() -> list[str]:
    root = typer.main.get_command(app)
    names = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        if hasattr(command, "commands"):
            names += [f"{name} {sub}" for sub in command.commands]
        else:
            names.append(name)
    return sorted(names)


def documented_commands(docs: str) -> set[str]:
    """Commands named in the headings of docs/cli.md: `companion key add | passwd` -> 2 names."""
    found = set()
    for heading in re.findall(r"^### `companion ([^`]+)`", docs, re.MULTILINE):
        heading = re.sub(r"\[[^\]]*\]", "", heading)  # optional parts may hold " | " too
        words = [w for w in heading.split() if not w.startswith(("-", "["))]
        parts = " ".join(words).split(" | ")
        first = parts[0].split()
        found.add(" ".join(w for w in first if w.islower() and w.isalpha()))
        found.update(f"{first[0]} {alt.split()[0]}" for alt in parts[1:])
    return found


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert call(capsys, "--version")[:2] == (0, f"companion {__version__}\n")


def test_every_command_is_documented_with_its_exit_status(
    capsys: pytest.CaptureFixture[str],
) -> None:
    docs = DOCS.read_text()
    names = command_names()
    assert {"backup", "verify", "restore", "ls", "status", "demo", "vault init"} <= set(names)
    assert set(names) <= documented_commands(docs)
    listed: set[int] = set()
    for name in names:
        code, out, _err = call(capsys, *name.split(), "--help")
        assert code == 0 and "Exit status" in out, name
        status = " ".join(out.split("Exit status:", 1)[1].split())  # as typer wrapped it
        listed = {int(n) for n in re.findall(r"(?:^|· )(\d+) ", status)}
        assert listed == {int(c) for c in ExitCode if c not in RESERVED}, (name, listed)
    # docs/cli.md's table lists exactly the codes of errors.py, the reserved ones as reserved.
    table = dict(re.findall(r"^\| (\d+) \| (.*) \|$", docs, re.MULTILINE))
    assert {int(code) for code in table} == {int(c) for c in ExitCode}
    for code in RESERVED:
        assert table[str(int(code))].startswith("reserved"), code


def test_the_whole_journey_with_json(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roll = make_roll(tmp_path / "roll")
    assert call(capsys, "vault", "init", "--kdf-work-factor", str(WORK_FACTOR), "--json")[0] == 0
    code, out, _ = call(capsys, "backup", "--from", f"folder:{roll}", "--json")
    report = json.loads(out)
    assert code == 0 and report["new"] + report["deduplicated"] == len(digests(roll))
    code, out, _ = call(capsys, "backup", "--from", f"folder:{roll}", "--json")
    assert code == 0 and json.loads(out)["skipped"] == len(digests(roll))
    code, out, _ = call(capsys, "ls", "--json")
    listed = json.loads(out)
    assert sorted(a["path"] for a in listed) == sorted(digests(roll))
    code, out, _ = call(capsys, "verify", "--full", "--json")
    assert code == 0 and json.loads(out)["damaged"] == []
    code, out, _ = call(capsys, "restore", "--to", str(tmp_path / "out"), "--json")
    assert code == 0 and json.loads(out)["failed"] == {}
    assert digests(tmp_path / "out") == digests(roll)
    code, out, _ = call(capsys, "status", "--json")
    status = json.loads(out)
    assert status["assets"] == len(digests(roll)) and status["verified_bad"] == 0
    assert status["verified_ok"] == status["objects"] > 0
    assert status["last_backup"]["skipped"] == len(digests(roll))  # the second run
    assert status["interrupted"] is None and status["shared"] == []


def test_restore_dates_select_by_capture_day(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roll = make_roll(tmp_path / "roll")
    call(capsys, "vault", "init", "--kdf-work-factor", str(WORK_FACTOR))
    call(capsys, "backup", "--from", f"folder:{roll}")
    with Vault.open(env, PASSPHRASE) as vault:
        days = sorted({s.asset.captured_at.date() for s in vault.assets() if s.asset.captured_at})
    assert len(days) >= 2
    day = days[1].isoformat()
    code, out, _ = call(
        capsys, "restore", "--to", str(tmp_path / "day"), "--since", day, "--until", day, "--json"
    )
    restored = json.loads(out)["restored"]
    with Vault.open(env, PASSPHRASE) as vault:
        expected = [
            s
            for s in vault.assets()
            if s.asset.captured_at and s.asset.captured_at.astimezone().date() == days[1]
        ]
    assert code == 0 and restored == len(expected) > 0


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["backup", "--from", "nowhere:/x"], 2),
        (["backup", "--from", "folder:/does/not/exist"], 10),
        (["status"], 2),  # no vault yet
        (["verify", "--full", "--sample", "5"], 2),
        (["restore", "--to", "x", "--since", "yesterday"], 2),
        (["frobnicate"], 2),
    ],
)
def test_usage_errors_have_a_hint_and_their_code(
    env: Path, args: list[str], code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    if args[0] in ("verify", "restore") or "folder:" in args[-1]:
        call(capsys, "vault", "init", "--kdf-work-factor", str(WORK_FACTOR))
    got, _out, err = call(capsys, *args)
    assert got == code, err
    assert "Traceback" not in err


def test_wrong_passphrase_exits_12_with_a_hint(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    call(capsys, "vault", "init", "--kdf-work-factor", str(WORK_FACTOR))
    monkeypatch.setenv("COMPANION_PASSPHRASE", "nope")
    code, out, err = call(capsys, "status")
    assert code == 12
    assert err.startswith("error: ") and "\nhint: " in err
    code, out, err = call(capsys, "status", "--json")
    assert code == 12 and out == ""  # a script never takes an error for a result
    assert json.loads(err)["exit"] == 12
    assert "nope" not in out + err  # the passphrase is never echoed


def test_a_locked_vault_exits_11(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call(capsys, "vault", "init", "--kdf-work-factor", str(WORK_FACTOR))
    roll = make_roll(tmp_path / "roll")
    with Vault.open(env, PASSPHRASE, write=True):
        code, _out, err = call(capsys, "backup", "--from", f"folder:{roll}")
    assert code == 11 and "hint:" in err


def test_passphrase_file_and_missing_passphrase(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    call(capsys, "vault", "init", "--kdf-work-factor", str(WORK_FACTOR))
    monkeypatch.delenv("COMPANION_PASSPHRASE")
    secret = tmp_path / "pass.txt"
    secret.write_text(PASSPHRASE + "\n")
    assert call(capsys, "status", "--passphrase-file", str(secret))[0] == 0
    code, _out, err = call(capsys, "status")  # no terminal under pytest: must not hang
    assert code == 2 and "COMPANION_PASSPHRASE" in err


def test_backup_dry_run_lists_and_writes_nothing(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roll = make_roll(tmp_path / "roll")
    code, out, _ = call(capsys, "backup", "--from", f"folder:{roll}", "--dry-run", "--json")
    assert code == 0 and sorted(json.loads(out)["would_store"]) == sorted(digests(roll))
    assert not env.exists()


def test_help_loads_no_heavy_library() -> None:
    probe = (
        "import sys\n"
        "from companion.cli.app import run\n"
        "code = run(['--help'])\n"
        "heavy = [m for m in ('pyrage', 'cryptography', 'PIL', 'pillow_heif', 'tqdm',"
        " 'pymobiledevice3', 'pyicloud', 'reportlab', 'onnxruntime', 'nudenet', 'rapidocr',"
        " 'zxingcpp', 'av', 'cv2') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("[]"), out.stdout


@pytest.mark.slow
def test_demo_runs_the_journey(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _err = call(capsys, "demo", "--dir", str(tmp_path / "d"), "--json")
    report = json.loads(out)
    assert code == 0
    assert not report["reused_phone"] and sorted(report["timings"]) == sorted(STEPS)
    assert report["identical"] == report["status"]["assets"] > 10
    assert report["phone"]["source"].startswith("usb:")
    assert report["second_backup"]["new"] == 0
    assert report["verify"]["damaged"] == []
    shared = [Path(w["path"]) for w in report["shared"]["written"]]
    assert len(shared) == 3 and all(p.parent == tmp_path / "d" / "shared" for p in shared)
    checklists = [Path(p) for p in report["checklists"]]
    assert [p.name for p in checklists] == ["photo-checklist-en.pdf", "photo-checklist-fr.pdf"]
    assert all(p.read_bytes().startswith(b"%PDF-") for p in checklists)
    # A second tour on the same folder is incremental; on a terminal it shows bars and times.
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, out, err = call(capsys, "demo", "--dir", str(tmp_path / "d"))
    assert code == 0
    assert "1/10 Using the simulated iPhone's camera roll from a previous run." in out
    assert "3/10 Opening the vault of the previous tour" in out
    assert f"backup     0 new files stored (0 B), {report['status']['assets']} already" in out
    assert len(re.findall(r"done in \d+\.\d s\n", err)) == len(STEPS), err
    assert all(f"\r{bar}: " in err for bar in ("backup", "verify", "restore", "scanning")), err


def test_key_commands_add_change_and_export(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    call(capsys, "vault", "init", "--kdf-work-factor", str(WORK_FACTOR))
    second, third = tmp_path / "second.txt", tmp_path / "third.txt"
    second.write_text("a second passphrase\n")
    third.write_text("a third passphrase\n")
    wf = ("--kdf-work-factor", str(WORK_FACTOR))
    assert call(capsys, "key", "add", "--new-passphrase-file", str(second), *wf)[0] == 0
    assert call(capsys, "key", "passwd", "--new-passphrase-file", str(third), *wf)[0] == 0
    assert call(capsys, "status")[0] == 12  # the first passphrase is gone
    code, out, err = call(capsys, "key", "export", "--passphrase-file", str(second))
    assert code == 0 and out.startswith("AGE-SECRET-KEY-1") and "WARNING" in err
    monkeypatch.delenv("COMPANION_PASSPHRASE")
    assert call(capsys, "status", "--passphrase-file", str(third))[0] == 0
    code, _out, err = call(capsys, "key", "add", "--passphrase-file", str(third))
    assert code == 2 and "--new-passphrase-file" in err  # no terminal to ask on


def test_paths_that_are_not_folders_are_usage_errors(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "a-file"
    afile.write_text("not a folder")
    call(capsys, "vault", "init", "--kdf-work-factor", str(WORK_FACTOR))
    for args in (["restore", "--to", str(afile)], ["status", "--vault", str(afile)]):
        code, _out, err = call(capsys, *args)
        assert code == 2, (args, err)
        assert "Traceback" not in err and "hint:" in err
