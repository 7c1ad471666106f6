"""Folders a cloud client uploads: recognised (``portable.synced``), asked about before restore or
share write photos in clear there, and named by status when the vault itself sits in one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from companion.portable.synced import sync_client
from tests.support import cli_env, companion, make_roll, new_vault
from tests.test_prompts import on_terminal


@pytest.mark.parametrize(
    ("where", "client"),
    [
        ("Dropbox/Photos/2024", "Dropbox"),
        ("OneDrive - Contoso/Pictures", "OneDrive"),
        ("Google Drive/restored", "Google Drive"),
        ("Nextcloud", "Nextcloud"),
        ("Library/Mobile Documents/com~apple~CloudDocs/photos", "iCloud Drive"),
        ("Library/CloudStorage/GoogleDrive-me@example.com/My Drive/x", "Google Drive"),
        ("Library/CloudStorage/OneDrive-Personal/x", "OneDrive"),
        ("iCloudDrive/photos", "iCloud Drive"),
        ("Pictures/restored", None),
        ("Documents/Dropbox notes", None),  # a name in a name is not the client's folder
    ],
)
def test_clients_usual_places(tmp_path: Path, where: str, client: str | None) -> None:
    home = tmp_path / "home"
    home.mkdir()
    assert sync_client(home / where, home=home, environ={}) == client  # need not exist yet


def test_markers_a_folder_announced_and_a_link_into_one(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for marker, client in (
        (".dropbox", "Dropbox"),
        (".sync_4f2a9c.db", "Nextcloud or ownCloud"),
        (".stfolder", "Syncthing"),
    ):
        root = tmp_path / f"drive-{client.split()[0]}"
        (root / "deep" / "er").mkdir(parents=True)
        (root / marker).touch()
        assert sync_client(root / "deep" / "er", home=home, environ={}) == client
    business = tmp_path / "Work Sync"
    assert sync_client(business / "x", home=home, environ={"OneDriveCommercial": str(business)})
    link = tmp_path / "looks-local"
    link.symlink_to(tmp_path / "drive-Dropbox")
    assert sync_client(link / "restored", home=home, environ={}) == "Dropbox"
    assert sync_client(tmp_path / "plain", home=home, environ={}) is None


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    home = tmp_path / "home"
    (home / "Dropbox").mkdir(parents=True)
    roll = make_roll(tmp_path / "roll", seed=3, count=11)
    env = cli_env(HOME=str(home))
    vault = tmp_path / "vault"
    new_vault(vault).close()
    done = companion("backup", "--from", f"folder:{roll}", "--vault", str(vault), env=env)
    assert done.returncode == 0, done.stderr
    return vault, env


def test_restore_into_a_synced_folder_asks_and_goes_on_only_when_told(
    setup: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    vault, env = setup
    target = tmp_path / "home" / "Dropbox" / "restored"
    refused = companion("restore", "--to", str(target), "--vault", str(vault), env=env)
    assert refused.returncode == 2 and "synced by Dropbox" in refused.stderr
    assert "--yes" in refused.stderr and not target.exists()
    told = companion("restore", "--to", str(target), "--vault", str(vault), "--yes", env=env)
    assert told.returncode == 0, told.stderr
    assert "uploaded to Dropbox" in told.stderr and any(target.rglob("*.JPG"))
    other = tmp_path / "home" / "Dropbox" / "again"
    by_env = companion(
        "restore", "--to", str(other), "--vault", str(vault), env=env | {"COMPANION_YES": "1"}
    )
    assert by_env.returncode == 0, by_env.stderr
    elsewhere = companion("restore", "--to", str(tmp_path / "out"), "--vault", str(vault), env=env)
    assert elsewhere.returncode == 0 and "synced" not in elsewhere.stderr


def test_share_asks_too_and_status_names_a_vault_in_a_synced_folder(
    setup: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    vault, env = setup
    target = tmp_path / "home" / "Dropbox" / "to-post"
    shared = companion("share", "--to", str(target), "--vault", str(vault), env=env)
    assert shared.returncode == 2 and "synced by Dropbox" in shared.stderr
    dry = companion("share", "--to", str(target), "--vault", str(vault), "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr  # writes nothing: nothing to ask
    moved = tmp_path / "home" / "Dropbox" / "vault"
    vault.rename(moved)
    status = companion("status", "--vault", str(moved), "--json", env=env)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["synced_by"] == "Dropbox"


def test_on_a_terminal_the_person_answers(
    setup: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    vault, env = setup
    target = tmp_path / "home" / "Dropbox" / "restored"
    asked = re.compile(rb"anyway\? \(yes/no\): ")
    args = ["restore", "--to", str(target), "--vault", str(vault)]
    (tmp_path / "no").mkdir()
    said_no = on_terminal(tmp_path / "no", args, ["no"], prompt=asked, env=env)
    assert said_no.code == 3 and not target.exists()
    (tmp_path / "yes").mkdir()
    said_yes = on_terminal(tmp_path / "yes", args, ["yes"], prompt=asked, env=env)
    assert said_yes.code == 0, said_yes.stderr
    assert any(target.rglob("*.JPG"))
