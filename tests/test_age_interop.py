"""The promise of RESTORE.txt: the stock `age` tool alone gets every file back."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from companion.backup import VaultStore, run_backup
from companion.connectors import connect
from companion.vault import keys
from tests.support import PASSPHRASE, digests, make_roll, new_vault

AGE = shutil.which("age")
pytestmark = pytest.mark.skipif(
    AGE is None, reason="the stock age CLI is not installed (apt-get install age)"
)


def age(*args: str) -> bytes:
    assert AGE is not None
    return subprocess.run([AGE, *args], capture_output=True, check=True).stdout


def age_with_passphrase(args: list[str], passphrase: str) -> int:
    """Run `age` on a pseudo-terminal, typing the passphrase as a person would."""
    assert AGE is not None
    pid, fd = pty.fork()
    if pid == 0:  # the child becomes age, reading the passphrase from its terminal
        os.execv(AGE, [AGE, *args])
    seen = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if b"passphrase" in seen.lower():
            os.write(fd, passphrase.encode() + b"\n")
            seen = b""
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@pytest.fixture
def backed_up(tmp_path: Path) -> tuple[Path, Path]:
    roll = make_roll(tmp_path / "roll", seed=11)
    with new_vault(tmp_path / "v") as vault:
        run_backup(connect(f"folder:{roll}"), VaultStore(vault))
    return roll, tmp_path / "v"


def test_restore_with_the_exported_key_and_stock_age(
    backed_up: tuple[Path, Path], tmp_path: Path
) -> None:
    roll, vault = backed_up
    key = tmp_path / "vault-key.txt"
    key.write_text(keys.export_identity(vault, PASSPHRASE) + "\n")
    # Step 3 of RESTORE.txt: decrypt the catalogue.
    lines = []
    for segment in sorted((vault / "catalogue").glob("*.age")):
        lines += age("-d", "-i", str(key), str(segment)).decode().splitlines()
    records = [json.loads(line) for line in lines]
    assets = [r for r in records if r.get("t") == "asset"]
    assert sorted(r["path"] for r in assets) == sorted(digests(roll))
    # Step 5: decrypt a few objects and check them against the catalogue and the originals.
    originals = digests(roll)
    for record in assets[:5]:
        obj = vault / "objects" / record["object"][:2] / record["object"]
        out = tmp_path / "restored" / Path(record["path"]).name
        out.parent.mkdir(exist_ok=True)
        age("-d", "-i", str(key), "-o", str(out), str(obj))
        digest = hashlib.sha256(out.read_bytes()).hexdigest()
        assert digest == record["sha256"] == originals[record["path"]]


def test_the_key_file_opens_with_the_passphrase_in_stock_age(
    backed_up: tuple[Path, Path], tmp_path: Path
) -> None:
    _roll, vault = backed_up
    (key_file,) = (vault / "keys").glob("*.age")
    out = tmp_path / "identity.txt"
    assert age_with_passphrase(["-d", "-o", str(out), str(key_file)], PASSPHRASE) == 0
    assert "AGE-SECRET-KEY-1" in out.read_text()
    assert out.read_text().strip().splitlines()[-1] == keys.export_identity(vault, PASSPHRASE)


def test_restore_text_is_in_every_vault_and_names_the_commands(
    backed_up: tuple[Path, Path],
) -> None:
    text = (backed_up[1] / "RESTORE.txt").read_text()
    for needle in ('age -d -o "$work/vault-key.txt"', "catalogue/*.age", "sha256sum", "jq -r"):
        assert needle in text
