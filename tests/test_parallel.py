"""Backup and full verify in worker processes: same results, same guarantees as in one."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.backup import VaultStore, run_backup
from companion.connectors import connect
from companion.vault import Vault
from companion.vault.restore import restore
from companion.vault.verify import VerifyMode, verify
from tests.support import PASSPHRASE, digests, make_roll, new_vault

pytestmark = pytest.mark.slow  # worker processes


def test_parallel_backup_and_verify_match_the_source(tmp_path: Path) -> None:
    roll = make_roll(tmp_path / "roll", seed=21, count=16)
    dup = sorted(roll.rglob("*.HEIC"))[0]
    (roll / "DCIM" / "105APPLE").mkdir()
    (roll / "DCIM" / "105APPLE" / dup.name).write_bytes(dup.read_bytes())
    seen: list[int] = []

    class Bar:
        def start(self, total_bytes: int, total_items: int) -> None:
            seen.append(-total_bytes)

        def advance(self, nbytes: int) -> None:
            seen.append(nbytes)

        def item_done(self, asset: object, outcome: str) -> None:
            pass

    with new_vault(tmp_path / "v") as vault:
        report = run_backup(connect(f"folder:{roll}"), VaultStore(vault, jobs=2), Bar())
        assert not report.failed
        assert report.new + report.deduplicated == len(digests(roll))
        assert report.deduplicated >= 1
        assert sum(seen[1:]) == -seen[0]  # every byte read was reported, from the workers
        checked = verify(vault, VerifyMode.FULL, workers=2)
        assert checked.ok and checked.objects_checked == report.new
        assert not restore(vault, tmp_path / "out").failed
    assert digests(tmp_path / "out") == digests(roll)
    assert list((tmp_path / "v" / "tmp").iterdir()) == []


def test_a_read_error_in_a_worker_fails_that_asset_only(tmp_path: Path) -> None:
    roll = make_roll(tmp_path / "roll", seed=22)
    victim, grown = sorted(roll.rglob("*.JPG"))[1:3]
    connector = connect(f"folder:{roll}")
    listed = list(connector.list_assets())
    victim.unlink()  # gone after listing: the worker fails it alone
    with grown.open("ab") as fh:  # changed after listing: read again, stored as read
        fh.write(b"more")

    class Frozen:
        """The listing taken before the change, served to the backup."""

        source = connector.source

        def list_assets(self):  # type: ignore[no-untyped-def]
            return iter(listed)

        def info(self):  # type: ignore[no-untyped-def]
            return connector.info()

        def open(self, asset):  # type: ignore[no-untyped-def]
            return connector.open(asset)

        def worker_spec(self) -> str:
            return connector.source

    with new_vault(tmp_path / "v") as vault:
        report = run_backup(Frozen(), VaultStore(vault, jobs=2))  # type: ignore[arg-type]
        assert list(report.failed) == [victim.relative_to(roll).as_posix()]
        assert list(report.warnings) == [grown.relative_to(roll).as_posix()]
        assert report.new + report.deduplicated == len(listed) - 1
        [stored] = [s for s in vault.assets() if s.asset.path in report.warnings]
        assert stored.asset.size == grown.stat().st_size


def test_parallel_verify_finds_damage_and_records_it(tmp_path: Path) -> None:
    roll = make_roll(tmp_path / "roll", seed=23)
    with new_vault(tmp_path / "v") as vault:
        run_backup(connect(f"folder:{roll}"), VaultStore(vault, jobs=2))
        victim = sorted(vault.assets(), key=lambda s: s.asset.path)[2]
    target = tmp_path / "v" / "objects" / victim.object_id[:2] / victim.object_id
    blob = bytearray(target.read_bytes())
    blob[-20] ^= 1
    target.write_bytes(bytes(blob))
    with Vault.open(tmp_path / "v", PASSPHRASE, write=True) as vault:
        report = verify(vault, VerifyMode.FULL, workers=2)
        assert [d.object_id for d in report.damaged] == [victim.object_id]
    with Vault.open(tmp_path / "v", PASSPHRASE) as vault:
        held = {s.object_id: s.verified_ok for s in vault.assets()}
    assert held[victim.object_id] is False
    assert sum(ok is True for ok in held.values()) == len(held) - 1
    assert target.with_name(target.name + ".damaged").exists()
