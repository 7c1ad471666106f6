"""A failed ``vault init`` leaves nothing behind, and what cannot work is said up front: a work
factor Python's scrypt cannot run, a passphrase that is not text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from companion.cli.app import run
from companion.vault import Vault
from tests.support import PASSPHRASE, WORK_FACTOR, cli_env


def test_a_work_factor_above_20_is_refused_before_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COMPANION_PASSPHRASE", PASSPHRASE)
    root = tmp_path / "v"
    for factor in ("21", "22"):
        assert run(["vault", "init", "--vault", str(root), "--kdf-work-factor", factor]) == 2
        assert not root.exists()
    assert "less than or equal to 20" in capsys.readouterr().err


def test_a_key_file_that_cannot_be_written_leaves_no_half_vault(tmp_path: Path) -> None:
    """A passphrase no key file can hold (lone surrogates, from bytes that are no UTF-8) fails
    inside ``create``: the folder it made is gone, and an empty folder it was given stays
    empty, so the next init is not refused as "not an empty folder"."""
    absent, empty = tmp_path / "absent" / "v", tmp_path / "empty"
    empty.mkdir()
    for root in (absent, empty):
        with pytest.raises(UnicodeEncodeError):
            Vault.create(root, "caf\udce9", work_factor=WORK_FACTOR)
    assert not absent.exists()
    assert empty.is_dir() and list(empty.iterdir()) == []
    Vault.create(empty, PASSPHRASE, work_factor=WORK_FACTOR).close()
    assert Vault.exists(empty)


def test_a_passphrase_variable_that_is_no_utf8_is_a_usage_error(tmp_path: Path) -> None:
    env = {k.encode(): v.encode() for k, v in cli_env().items()}
    env[b"COMPANION_PASSPHRASE"] = b"caf\xe9 latin-1"
    root = tmp_path / "v"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "companion", "vault", "init", "--vault", str(root)),
            *("--kdf-work-factor", str(WORK_FACTOR)),
        ],
        capture_output=True,
        text=True,
        env=env,  # type: ignore[arg-type]
        timeout=60,
        check=False,
        start_new_session=True,
    )
    assert done.returncode == 2, done.stderr
    assert "error: the passphrase is not valid UTF-8 text" in done.stderr
    assert "Traceback" not in done.stderr and "latin" not in done.stderr
    assert not root.exists()


def test_key_export_into_a_file_makes_it_private(tmp_path: Path) -> None:
    """``companion key export > key.txt``: the shell creates key.txt readable by everyone
    (umask 022); the key lands in a file only its owner can read."""
    root = tmp_path / "v"
    Vault.create(root, PASSPHRASE, work_factor=WORK_FACTOR).close()
    key = tmp_path / "key.txt"
    key.touch(mode=0o644)
    key.chmod(0o644)
    with key.open("w") as out:
        done = subprocess.run(
            [sys.executable, "-m", "companion", "key", "export", "--vault", str(root)],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(COMPANION_PASSPHRASE=PASSPHRASE),
            timeout=60,
            check=False,
            start_new_session=True,
        )
    assert done.returncode == 0, done.stderr
    assert key.stat().st_mode & 0o777 == 0o600
    assert key.read_text().startswith("AGE-SECRET-KEY-1")
