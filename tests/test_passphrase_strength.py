"""A new passphrase is checked before a key file is made with it: below the floor (zxcvbn score
under 3, about 10^8 guesses) ``vault init``, ``key add`` and ``key passwd`` refuse it unless
``--weak-passphrase-ok`` is given; at score 3 they warn in one line; a strong one goes silently.
Through the real command line, with zxcvbn's real estimates."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from companion.errors import UsageError
from companion.vault import Vault
from companion.vault.strength import check_new_passphrase, estimate
from tests.support import PASSPHRASE, WORK_FACTOR, cli_env, companion, new_vault

WF = ("--kdf-work-factor", str(WORK_FACTOR))
FAIR = "horse staple"  # zxcvbn score 3: about 4 * 10^8 guesses
COMMON = "password123"  # zxcvbn: "This is a very common password."


def init(root: Path, passphrase: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(COMPANION_PASSPHRASE=passphrase)
    return companion("vault", "init", "--vault", str(root), *WF, *extra, env=env)


def test_the_scores_these_tests_rely_on() -> None:
    assert estimate("a").score < 3
    assert estimate(COMMON).score < 3
    assert estimate(FAIR).score == 3
    assert estimate(PASSPHRASE).score == 4


def test_init_refuses_a_one_letter_passphrase(tmp_path: Path) -> None:
    root = tmp_path / "v"
    result = init(root, "a")
    assert result.returncode == 2, result.stderr
    error, hint = result.stderr.splitlines()
    assert error.startswith("error: this passphrase is too easy to guess (about 10^1 guesses): ")
    assert "Add another word or two" in error
    assert hint.startswith("hint: ") and "--weak-passphrase-ok" in hint
    assert result.stdout == "" and not root.exists()


def test_the_refusal_says_why_and_never_shows_the_passphrase(tmp_path: Path) -> None:
    result = init(tmp_path / "v", COMMON)
    assert result.returncode == 2, result.stderr
    assert "This is a very common password." in result.stderr
    assert COMMON not in result.stderr + result.stdout


def test_init_accepts_a_weak_passphrase_when_told_and_warns(tmp_path: Path) -> None:
    root = tmp_path / "v"
    result = init(root, "a", "--weak-passphrase-ok", "--json")
    assert result.returncode == 0, result.stderr
    [warning] = result.stderr.splitlines()
    assert warning.startswith("warning: this passphrase is easy to guess (about 10^1 guesses)")
    assert json.loads(result.stdout)["vault"] == str(root)  # stdout holds the result only
    Vault.open(root, "a").close()


def test_init_warns_in_one_line_at_the_floor(tmp_path: Path) -> None:
    result = init(tmp_path / "v", FAIR)
    assert result.returncode == 0, result.stderr
    [warning] = result.stderr.splitlines()
    assert warning.startswith("warning: this passphrase takes about 10^8 guesses to find")


def test_init_accepts_a_strong_passphrase_silently(tmp_path: Path) -> None:
    result = init(tmp_path / "v", PASSPHRASE)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize("command", ["add", "passwd"])
def test_key_add_and_passwd_hold_the_same_rule(tmp_path: Path, command: str) -> None:
    root = tmp_path / "v"
    new_vault(root).close()
    before = sorted((root / "keys").iterdir())
    weak = tmp_path / "weak.txt"
    weak.write_text("a\n")
    args = ("key", command, "--vault", str(root), "--new-passphrase-file", str(weak), *WF)
    refused = companion(*args)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith("error: this passphrase is too easy to guess")
    assert sorted((root / "keys").iterdir()) == before  # no key file written or removed
    accepted = companion(*args, "--weak-passphrase-ok")
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stderr.startswith("warning: this passphrase is easy to guess")
    Vault.open(root, "a").close()
    strong = tmp_path / "strong.txt"
    strong.write_text("purple monkey dishwasher\n")
    args = ("key", command, "--vault", str(root), "--new-passphrase-file", str(strong), *WF)
    quiet = companion(*args, env=cli_env(COMPANION_PASSPHRASE="a"))
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""


def test_an_empty_or_a_long_passphrase() -> None:
    with pytest.raises(UsageError, match="the passphrase is empty"):
        check_new_passphrase("", weak_ok=True)
    long = " ".join(["correct horse battery staple"] * 4)  # past zxcvbn's 72 characters
    assert check_new_passphrase(long, weak_ok=False) is None
