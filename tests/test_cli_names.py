"""Names from a device reach a terminal as text, never as commands to it.

A file name can hold an escape sequence (retitle the window, move the cursor, rewrite a line) or a
bidirectional override that makes ``photo\u202egpj.exe`` read as ``photoexe.jpg``: every human
output shows them as escapes; ``--json`` keeps the exact name.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from companion.cli.app import run
from companion.cli.common import printable
from tests.support import PASSPHRASE, WORK_FACTOR, make_roll

HOSTILE = ("IMG_\x1b]0;owned\x07.JPG", "IMG_\u202egpj.HEIC")


def test_printable_escapes_what_a_terminal_would_act_on() -> None:
    assert printable("IMG_0001.JPG") == "IMG_0001.JPG"
    assert printable("été à Paris.jpg") == "été à Paris.jpg"
    assert printable(HOSTILE[0]) == "IMG_\\x1b]0;owned\\x07.JPG"
    assert printable(HOSTILE[1]) == "IMG_\\u202egpj.HEIC"
    assert printable("a\u0085b\u2066c") == "a\\x85b\\u2066c"


def test_ls_shows_hostile_names_escaped_and_json_keeps_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    roll = make_roll(tmp_path / "roll")
    folder = next(p for p in roll.rglob("*") if p.is_dir())
    for name in HOSTILE:
        (folder / name).write_bytes(b"\xff\xd8\xff\xe0" + bytes(200))
    monkeypatch.setenv("COMPANION_VAULT", str(tmp_path / "vault"))
    monkeypatch.setenv("COMPANION_PASSPHRASE", PASSPHRASE)
    assert run(["vault", "init", "--kdf-work-factor", str(WORK_FACTOR)]) == 0
    assert run(["backup", "--from", f"folder:{roll}"]) in (0, 4)
    capsys.readouterr()
    assert run(["ls"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "IMG_\\x1b]0;owned\\x07.JPG" in out and "IMG_\\u202egpj.HEIC" in out
    assert run(["ls", "--json"]) == 0
    names = {Path(item["path"]).name for item in json.loads(capsys.readouterr().out)}
    assert set(HOSTILE) <= names
