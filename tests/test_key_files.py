"""Key files are read before a passphrase is tried on them: one planted with a huge scrypt work
factor is never tried, the cheapest are tried first, a damaged one is named as damaged (not taken
for a wrong passphrase), and ``key export`` asks before it shows the key on a screen.

Planted files are written by hand in the age format (https://age-encryption.org/v1), as someone
who can write into ``keys/`` would; the messages are checked through the real command line.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from companion.errors import IntegrityError, UsageError, WrongPassphrase
from companion.vault import keys
from companion.vault.unlock import unlock, unlock_with_path
from tests.support import PASSPHRASE, WORK_FACTOR, cli_env, companion, new_vault
from tests.test_prompts import on_terminal


def b64(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def planted(work_factor: int) -> bytes:
    """A well-formed age file with one scrypt stanza asking for ``work_factor``: random salt,
    wrapped key, MAC and payload (no passphrase opens it)."""
    return (
        b"age-encryption.org/v1\n"
        + b"-> scrypt "
        + b64(os.urandom(16))
        + b" "
        + str(work_factor).encode()
        + b"\n"
        + b64(os.urandom(32))
        + b"\n--- "
        + b64(os.urandom(32))
        + b"\n"
        + os.urandom(134)
    )


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    root = tmp_path / "v"
    new_vault(root).close()
    return root


def the_key(root: Path) -> Path:
    [path] = sorted((root / "keys").glob("*.age"))
    return path


def status(root: Path, passphrase: str = PASSPHRASE) -> subprocess.CompletedProcess[str]:
    return companion("status", "--vault", str(root), env=cli_env(COMPANION_PASSPHRASE=passphrase))


def error_and_hint(result: subprocess.CompletedProcess[str]) -> tuple[str, str]:
    assert "Traceback" not in result.stderr
    error, hint = result.stderr.splitlines()
    assert error.startswith("error: ") and hint.startswith("hint: "), result.stderr
    return error.removeprefix("error: "), hint.removeprefix("hint: ")


@pytest.mark.parametrize("work_factor", [21, 30])
def test_a_key_file_above_the_maximum_work_factor_is_never_tried(
    vault: Path, work_factor: int
) -> None:
    """21 would take 2 GiB and some 20 seconds on each unlock, 30 a TiB; the file sorts before
    the real key, and the real key still opens at once."""
    (vault / "keys" / "00000000.age").write_bytes(planted(work_factor))
    started = time.monotonic()
    identity, path = unlock_with_path(vault, PASSPHRASE)
    assert time.monotonic() - started < 0.5
    assert path != vault / "keys" / "00000000.age"
    assert identity.secret().startswith("AGE-SECRET-KEY-1")


def test_the_cheapest_key_file_is_tried_first(vault: Path) -> None:
    """Two key files open with the same passphrase: the one with the lower work factor opens,
    although its name sorts last."""
    cheap = the_key(vault)
    costly = keys.add_passphrase(vault, PASSPHRASE, PASSPHRASE, work_factor=WORK_FACTOR + 4)
    cheap.rename(vault / "keys" / "ffffffff.age")
    costly.rename(vault / "keys" / "00000000.age")
    _identity, path = unlock_with_path(vault, PASSPHRASE)
    assert path.name == "ffffffff.age"


def test_only_a_planted_key_file_left_says_which_and_why(vault: Path) -> None:
    real = the_key(vault)
    (vault / "keys" / "00000000.age").write_bytes(planted(30))
    real.unlink()
    result = status(vault)
    assert result.returncode == 13, result.stderr
    error, hint = error_and_hint(result)
    assert error == (
        "no key file of this vault can be tried: keys/00000000.age asks for scrypt work factor "
        "30 (1 TiB of memory per try), above the 20 companion accepts"
    )
    assert "remove it unless you added it yourself" in hint


def test_a_wrong_passphrase_with_a_planted_key_file_names_it(vault: Path) -> None:
    (vault / "keys" / "00000000.age").write_bytes(planted(30))
    result = status(vault, "another passphrase altogether")
    assert result.returncode == 13, result.stderr
    error, _hint = error_and_hint(result)
    assert error.startswith("the passphrase does not open this vault, and keys/00000000.age")
    assert "work factor 30" in error


def test_a_planted_key_file_is_reported_when_the_vault_opens(vault: Path) -> None:
    (vault / "keys" / "00000000.age").write_bytes(planted(30))
    result = status(vault)
    assert result.returncode == 0, result.stderr
    assert "keys/00000000.age asks for scrypt work factor 30" in result.stderr
    assert "another key file opened the vault" in result.stderr


def cut(path: Path, size: int) -> None:
    path.write_bytes(path.read_bytes()[:size])


DAMAGE = {
    "emptied": (lambda p: p.write_bytes(b""), "empty"),
    "cut in its header": (lambda p: cut(p, 60), "truncated"),
    "cut in its first line": (lambda p: cut(p, 10), "truncated"),
    "garbage": (lambda p: p.write_bytes(os.urandom(300)), "not an age file"),
    "another recipient": (
        lambda p: p.write_bytes(p.read_bytes().replace(b"-> scrypt ", b"-> X25519 ")),
        "an age file not protected by a passphrase",
    ),
}


@pytest.mark.parametrize("how", sorted(DAMAGE))
def test_a_damaged_key_file_is_named_not_taken_for_a_wrong_passphrase(
    vault: Path, how: str
) -> None:
    damage, reason = DAMAGE[how]
    key = the_key(vault)
    damage(key)
    result = status(vault)
    assert result.returncode == 13, result.stderr
    error, hint = error_and_hint(result)
    assert error == f"no key file of this vault can be tried: keys/{key.name} is damaged ({reason})"
    assert "copy that file back" in hint and "another version" not in hint


def test_a_key_file_cut_in_its_payload_is_damaged_for_its_own_passphrase(vault: Path) -> None:
    """The header is whole, so only the passphrase can tell: it opens the header, the rest fails
    its check. Another passphrase still gets "wrong passphrase"."""
    key = the_key(vault)
    cut(key, key.stat().st_size - 5)
    result = status(vault)
    assert result.returncode == 13, result.stderr
    error, _hint = error_and_hint(result)
    assert error.startswith(f"keys/{key.name} is damaged: the passphrase opens it but")
    wrong = status(vault, "another passphrase altogether")
    assert wrong.returncode == 12, wrong.stderr
    assert error_and_hint(wrong)[0] == "the passphrase does not open this vault"


def test_a_damaged_key_file_beside_a_good_one(vault: Path) -> None:
    keys.add_passphrase(vault, PASSPHRASE, "a second passphrase", work_factor=WORK_FACTOR)
    damaged = the_key_opened_by(vault, "a second passphrase")
    cut(damaged, 60)
    opened = status(vault)
    assert opened.returncode == 0, opened.stderr
    assert f"keys/{damaged.name} is damaged (truncated); another key file opened" in opened.stderr
    wrong = status(vault, "a second passphrase")
    assert wrong.returncode == 13, wrong.stderr
    error, hint = error_and_hint(wrong)
    assert error == (
        f"the passphrase does not open this vault, and keys/{damaged.name} is damaged (truncated)"
    )
    assert hint.startswith("If this passphrase is the damaged key file's")


def the_key_opened_by(root: Path, passphrase: str) -> Path:
    return unlock_with_path(root, passphrase)[1]


def test_a_wrong_passphrase_with_whole_key_files_stays_a_wrong_passphrase(vault: Path) -> None:
    keys.add_passphrase(vault, PASSPHRASE, "a second passphrase", work_factor=WORK_FACTOR)
    with pytest.raises(WrongPassphrase, match="the passphrase does not open this vault"):
        unlock(vault, "another passphrase altogether")


def test_a_vault_without_its_keys_folder_says_so(vault: Path) -> None:
    the_key(vault).unlink()
    (vault / "keys").rmdir()
    result = status(vault)
    assert result.returncode == 13, result.stderr
    error, hint = error_and_hint(result)
    assert error == "this vault has no keys/ folder: no passphrase can open it"
    assert "another version" not in hint and "RESTORE.txt" in hint


def test_an_empty_keys_folder_says_so(vault: Path) -> None:
    the_key(vault).unlink()
    with pytest.raises(IntegrityError, match="no key file in keys/"):
        unlock(vault, PASSPHRASE)


def test_an_armored_key_file_still_opens(vault: Path) -> None:
    """``age -a`` writes the same file in base64 between two lines; pyrage opens it."""
    key = the_key(vault)
    text = base64.b64encode(key.read_bytes()).decode()
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    armored = ["-----BEGIN AGE ENCRYPTED FILE-----", *lines, "-----END AGE ENCRYPTED FILE-----"]
    key.write_text("\n".join(armored) + "\n")
    assert unlock_with_path(vault, PASSPHRASE)[1] == key


def test_the_last_key_file_that_can_be_opened_is_not_removed(vault: Path) -> None:
    """A damaged second key file does not count: removing the good one would lock the vault."""
    (vault / "keys" / "00000000.age").write_bytes(b"")
    with pytest.raises(UsageError, match="only passphrase"):
        keys.remove_passphrase(vault, PASSPHRASE)
    unlock(vault, PASSPHRASE)


# ``key export`` on a screen: the command's standard output is the pseudo-terminal itself.
QUESTION = b"Type EXPORT to continue: "


def export_on_screen(
    vault: Path, tmp_path: Path, answer: str | None, *extra: str
) -> tuple[int, str, str]:
    """Run ``companion key export`` with its terminal as standard output; type ``answer`` when
    it asks (None: it must not ask). Returns the exit code, the screen and standard error."""
    run = on_terminal(
        tmp_path,
        ["key", "export", "--vault", str(vault), *extra],
        [answer] if answer is not None else [],
        prompt=re.compile(re.escape(QUESTION)),
        stdout_on_screen=True,
        env=cli_env(),
    )
    return run.code, run.terminal, run.stderr


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs pseudo-terminals (POSIX)")
def test_key_export_on_a_screen_asks_first(vault: Path, tmp_path: Path) -> None:
    code, screen, _err = export_on_screen(vault, tmp_path, "EXPORT")
    assert code == 0, screen
    assert "opens everything in the vault" in screen
    assert screen.index("Type EXPORT") < screen.index("AGE-SECRET-KEY-1")


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs pseudo-terminals (POSIX)")
def test_key_export_on_a_screen_stops_without_the_word(vault: Path, tmp_path: Path) -> None:
    code, screen, err = export_on_screen(vault, tmp_path, "yes")
    assert code == 3, err
    assert "AGE-SECRET-KEY-1" not in screen + err
    assert "error: the recovery key was not printed" in err


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs pseudo-terminals (POSIX)")
def test_key_export_with_yes_does_not_ask(vault: Path, tmp_path: Path) -> None:
    code, screen, err = export_on_screen(vault, tmp_path, None, "--yes")
    assert code == 0, err
    assert "AGE-SECRET-KEY-1" in screen and "Type EXPORT" not in screen


def test_key_export_into_a_pipe_does_not_ask(vault: Path) -> None:
    result = companion("key", "export", "--vault", str(vault))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("AGE-SECRET-KEY-1") and "EXPORT" not in result.stderr
