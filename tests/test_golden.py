"""A vault made by an earlier version must open, verify and restore with this one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from companion.vault import Vault
from companion.vault.restore import restore
from companion.vault.verify import VerifyMode, verify
from tests.support import digests

GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.mark.parametrize("name", sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()))
def test_golden_vault_opens_verifies_and_restores(name: str, tmp_path: Path) -> None:
    manifest = json.loads((GOLDEN / name / "manifest.json").read_text())
    vault = tmp_path / "vault"
    shutil.copytree(
        GOLDEN / name / "vault", vault
    )  # verify writes events: never touch the original
    with Vault.open(vault, manifest["passphrase"], write=True) as opened:
        assert sorted(s.asset.path for s in opened.assets()) == sorted(manifest["files"])
        cached = opened.index.dump()
        report = verify(opened, VerifyMode.FULL)
        assert report.ok and report.objects_checked > 0
        assert not restore(opened, tmp_path / "out").failed
    assert digests(tmp_path / "out") == manifest["files"]
    (vault / "cache" / "index.age").unlink()
    with Vault.open(vault, manifest["passphrase"]) as opened:
        rebuilt = opened.index.dump()
    assert [r for r in rebuilt if r[0] != "events" and r[0] != "segments"] == [
        r for r in cached if r[0] != "events" and r[0] != "segments"
    ]
