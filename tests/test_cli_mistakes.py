"""What a new user trips over in the first hour, through the real command line: a vault folder
they may not use (another user's, no permission, a file in the way), errors under --json,
--debug, and the next commands suggested to them."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from companion.errors import IntegrityError, VaultInaccessible
from companion.vault.fsio import access_error
from tests.support import PASSPHRASE, WORK_FACTOR, cli_env, companion, make_roll, new_vault

_FAST = ("--kdf-work-factor", str(WORK_FACTOR))

_PR_CAPBSET_DROP = 24  # prctl: remove one capability from the bounding set


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _powerless() -> None:
    """Run in the child before it starts the command (as root): empty its capability bounding
    set, so the command runs as root without any of root's powers, and file permissions apply to
    it as to anyone. (Switching to another user would not always do: the interpreter may live in
    a folder only root may enter.)"""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in range(64):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            if ctypes.get_errno() == errno.EINVAL:  # past the last capability
                return
            raise OSError(ctypes.get_errno(), "cannot drop root's capabilities")


def as_ordinary_user(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command line with no power over files it does not own: as root, root without
    its capabilities; as anyone else, that user (whose own permissions a test takes away)."""
    if not is_root():
        return companion(*args)
    try:
        return subprocess.run(
            [sys.executable, "-m", "companion", *args],
            capture_output=True,
            text=True,
            env=cli_env(),
            timeout=120,
            check=False,
            preexec_fn=_powerless,  # no thread runs in these tests, so this is safe
        )
    except subprocess.SubprocessError as exc:
        pytest.skip(f"cannot deny root a file here: {exc}")


def give_to_nobody(*paths: Path) -> None:
    """Make ``paths`` (and what is inside) belong to the user nobody, as another user's files."""
    import pwd

    who = pwd.getpwnam("nobody")
    for top in paths:
        for path in [top, *top.rglob("*")]:
            os.chown(path, who.pw_uid, who.pw_gid)


def test_vault_init_where_this_user_may_not_write_names_the_fix(tmp_path: Path) -> None:
    parent = tmp_path / "not-writable"
    parent.mkdir()
    if is_root():
        give_to_nobody(parent)
    parent.chmod(0o555)
    vault = parent / "vault"
    try:
        result = as_ordinary_user("vault", "init", "--vault", str(vault), *_FAST)
    finally:
        parent.chmod(0o755)
    assert result.returncode == 2, result.stderr
    error, hint = result.stderr.splitlines()
    assert error == f"error: cannot create the vault folder {vault}: permission denied"
    assert "--vault" in hint and f"sudo chown $USER {vault}" in hint
    assert not vault.exists()


@pytest.mark.skipif(not is_root(), reason="only root can make a vault of another user")
def test_a_vault_of_another_user_says_whose_it_is(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    new_vault(vault).close()
    give_to_nobody(vault)  # as if nobody had made it (with sudo -u nobody)
    roll = make_roll(tmp_path / "roll")
    for args in (
        ("ls", "--vault", str(vault)),
        ("backup", "--from", f"folder:{roll}", "--vault", str(vault)),
    ):
        result = as_ordinary_user(*args)
        assert result.returncode == 2, result.stderr
        error, hint = result.stderr.splitlines()
        assert error == (
            f"error: the vault folder {vault} belongs to another user (nobody): permission denied"
        )
        assert f"sudo chown -R $USER {vault}" in hint
    result = as_ordinary_user("ls", "--vault", str(vault), "--json")
    assert result.returncode == 2 and result.stdout == ""
    assert "another user" in json.loads(result.stderr)["error"]


@pytest.mark.skipif(not is_root(), reason="only root can give a file to another user")
def test_a_file_written_into_the_vault_by_another_user_is_named(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    new_vault(vault).close()  # the vault is this user's, but one file in it is not
    [key] = (vault / "keys").glob("*.age")
    give_to_nobody(key)
    result = as_ordinary_user("status", "--vault", str(vault))
    assert result.returncode == 2, result.stderr
    error, hint = result.stderr.splitlines()
    assert error == f"error: {key} in the vault belongs to another user (nobody): permission denied"
    assert f"sudo chown -R $USER {vault}" in hint


def test_a_vault_path_through_a_file_is_a_usage_error(tmp_path: Path) -> None:
    afile = tmp_path / "a-file"
    afile.write_text("not a folder")
    vault = afile / "vault"
    for args in (("vault", "init", "--vault", str(vault), *_FAST), ("ls", "--vault", str(vault))):
        result = companion(*args)
        assert result.returncode == 2, result.stderr
        error, hint = result.stderr.splitlines()
        assert error == f"error: {vault} cannot be a vault folder: {afile} is a file"
        assert hint == "hint: Give --vault a folder, or a path where one can be made."


def test_a_folder_where_the_vault_keeps_a_file_is_named(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    new_vault(vault).close()
    (vault / "lock").mkdir()  # not a lock a companion command leaves
    os.utime(vault / "lock", (0, 0))
    result = companion(
        "backup", "--from", f"folder:{make_roll(tmp_path / 'roll')}", "--vault", str(vault)
    )
    assert result.returncode == 13, result.stderr
    assert f"{vault / 'lock'} is a folder where the vault keeps a file" in result.stderr
    assert "bug" not in result.stderr


def test_a_read_only_disk_is_said_with_what_still_works(tmp_path: Path) -> None:
    # A read-only file system cannot be mounted here; the error it gives is made by hand.
    error = access_error(OSError(errno.EROFS, "Read-only file system", str(tmp_path)), tmp_path)
    assert isinstance(error, VaultInaccessible) and error.exit_code == 2
    assert "read-only" in error.message and "ls, status, restore" in error.hint
    folder = access_error(IsADirectoryError(errno.EISDIR, "Is a directory", "x"), tmp_path)
    assert isinstance(folder, IntegrityError)
    assert access_error(OSError(errno.EIO, "I/O error"), tmp_path) is None  # a failing disk


@pytest.mark.parametrize(
    "args",
    [
        ["ls", "--json", "--no-such-option"],
        ["backup", "--json", "--jobs", "0"],
        ["status", "--json"],  # no vault there: companion's own error
    ],
)
def test_under_json_an_error_is_one_json_object_on_stderr(tmp_path: Path, args: list[str]) -> None:
    result = companion(*args, "--vault", str(tmp_path / "none"))
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""  # a script never takes an error for a result
    error = json.loads(result.stderr)
    assert set(error) == {"error", "hint", "exit"} and error["exit"] == 2
    assert error["error"] and error["hint"]
    if args[0] == "status":  # the suggested command keeps the vault that was given
        assert f"'companion vault init --vault {tmp_path / 'none'}'" in error["hint"]


def test_without_json_a_usage_error_is_typer_text(tmp_path: Path) -> None:
    result = companion("ls", "--no-such-option")
    assert result.returncode == 2 and result.stdout == ""
    assert "No such option: --no-such-option" in result.stderr


def test_debug_shows_companion_logs_and_not_pillow_s(tmp_path: Path) -> None:
    roll = make_roll(tmp_path / "roll")  # JPEG and HEIC photos with EXIF
    vault = tmp_path / "vault"
    new_vault(vault).close()
    result = companion("--debug", "backup", "--from", f"folder:{roll}", "--vault", str(vault))
    assert result.returncode == 0, result.stderr
    assert "DEBUG companion." in result.stderr
    assert "PIL" not in result.stderr


def test_next_repeats_the_vault_and_passphrase_file_given(tmp_path: Path) -> None:
    vault = tmp_path / "my vault"
    secret = tmp_path / "pass.txt"
    secret.write_text(PASSPHRASE + "\n")
    args = ("--vault", str(vault), "--passphrase-file", str(secret))
    result = companion("vault", "init", *args, "--kdf-work-factor", str(WORK_FACTOR))
    assert result.returncode == 0, result.stderr
    [suggested] = [line for line in result.stdout.splitlines() if line.startswith("Next:")]
    assert f"companion backup --from folder:PATH --vault '{vault}' --passphrase-file {secret}" in (
        suggested
    )


def test_demo_dir_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    afile = tmp_path / "some-file"
    afile.write_text("not a folder")
    result = companion("demo", "--dir", str(afile))
    assert result.returncode == 2, result.stderr
    error, hint = result.stderr.splitlines()
    assert error == f"error: --dir {afile} is a file, not a folder"
    assert hint.startswith("hint: Give --dir a folder")
    assert afile.read_text() == "not a folder"
