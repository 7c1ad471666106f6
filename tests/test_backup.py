"""Folder -> vault -> folder: the round trip, incrementality, dedupe, changes during reads."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, BinaryIO, cast

from companion.backup import DryRunStore, VaultStore, run_backup
from companion.connectors import connect
from companion.connectors.base import Connector
from companion.model import Asset
from companion.vault import Vault
from companion.vault.restore import restore
from companion.vault.verify import VerifyMode, verify
from tests.support import PASSPHRASE, Window, digests, make_roll, new_vault, tree


class Watching(Window):
    """Counts what is opened; can act (change the file) just before a read."""

    def __init__(self, inner: Connector, before_open: object = None) -> None:
        super().__init__(inner)
        self.opened: list[str] = []
        self.before_open = before_open

    def open(self, asset: Asset) -> BinaryIO:
        self.opened.append(asset.path)
        if callable(self.before_open):
            self.before_open(asset)
        return self.inner.open(asset)


def test_round_trip_is_byte_identical_with_capture_times_as_mtimes(tmp_path: Path) -> None:
    roll = make_roll(tmp_path / "roll", seed=3, count=16)
    with new_vault(tmp_path / "v") as vault:
        report = run_backup(connect(f"folder:{roll}"), VaultStore(vault))
        assert report.new + report.deduplicated == len(digests(roll)) and not report.failed
    with Vault.open(tmp_path / "v", PASSPHRASE, write=True) as vault:
        checked = verify(vault, VerifyMode.FULL)
        assert checked.ok and checked.objects_checked >= report.new
        restored = restore(vault, tmp_path / "out")
        stored = {s.asset.path: s for s in vault.assets()}
    assert not restored.failed
    assert digests(tmp_path / "out") == digests(roll)
    for path, s in stored.items():
        mtime = (tmp_path / "out" / path).stat().st_mtime
        expected = (
            s.asset.captured_at.timestamp() if s.asset.captured_at else s.asset.mtime_ns / 1e9
        )
        assert abs(mtime - expected) < 1e-3, path
    assert any(s.asset.captured_at for s in stored.values())


def test_a_rerun_with_nothing_new_reads_nothing_and_writes_no_object(tmp_path: Path) -> None:
    roll = make_roll(tmp_path / "roll")
    with new_vault(tmp_path / "v") as vault:
        run_backup(connect(f"folder:{roll}"), VaultStore(vault))
    objects = tree(tmp_path / "v" / "objects")
    watching = Watching(connect(f"folder:{roll}"))
    with Vault.open(tmp_path / "v", PASSPHRASE, write=True) as vault:
        again = run_backup(watching, VaultStore(vault))
    assert watching.opened == []
    assert (again.new, again.deduplicated, again.skipped) == (0, 0, len(digests(roll)))
    assert tree(tmp_path / "v" / "objects") == objects


def test_only_new_and_changed_files_are_read(tmp_path: Path) -> None:
    roll = make_roll(tmp_path / "roll")
    with new_vault(tmp_path / "v") as vault:
        run_backup(connect(f"folder:{roll}"), VaultStore(vault))
    (roll / "DCIM" / "100APPLE" / "IMG_9000.JPG").write_bytes(b"\xff\xd8new photo")
    changed = sorted(roll.rglob("*.JPG"))[0]
    changed.write_bytes(changed.read_bytes() + b"edited")
    watching = Watching(connect(f"folder:{roll}"))
    with Vault.open(tmp_path / "v", PASSPHRASE, write=True) as vault:
        report = run_backup(watching, VaultStore(vault))
        assert vault.lookup(next(a for a in watching.list_assets() if a.path.endswith("9000.JPG")))
    assert sorted(watching.opened) == sorted(
        ["DCIM/100APPLE/IMG_9000.JPG", changed.relative_to(roll).as_posix()]
    )
    assert report.new == 2


def test_identical_files_are_stored_once(tmp_path: Path) -> None:
    roll = tmp_path / "roll"
    (roll / "a").mkdir(parents=True)
    (roll / "b").mkdir()
    payload = os.urandom(200_000)
    (roll / "a" / "IMG_0001.JPG").write_bytes(payload)
    (roll / "b" / "IMG_0001.JPG").write_bytes(payload)
    with new_vault(tmp_path / "v") as vault:
        report = run_backup(connect(f"folder:{roll}"), VaultStore(vault))
        assert len(list(vault.assets())) == 2
    assert (report.new, report.deduplicated) == (1, 1)
    assert len([p for p in (tmp_path / "v" / "objects").rglob("*") if p.is_file()]) == 1


def test_a_file_that_changes_after_listing_is_read_again_and_stored_as_read(
    tmp_path: Path,
) -> None:
    roll = make_roll(tmp_path / "roll", count=12)
    victim = sorted(roll.rglob("*.JPG"))[0]
    rel = victim.relative_to(roll).as_posix()

    def grow(asset: Asset) -> None:
        if asset.path == rel:
            with victim.open("ab") as fh:
                fh.write(b"appended after the listing")

    def shrink(asset: Asset) -> None:
        if asset.path == rel:
            os.truncate(victim, 100)

    for change in (grow, shrink):
        with new_vault(tmp_path / change.__name__) as vault:
            watching = Watching(connect(f"folder:{roll}"), change)
            report = run_backup(watching, VaultStore(vault))
            assert not report.failed and list(report.warnings) == [rel]
            assert "stored as read" in report.warnings[rel]
            assert watching.opened.count(rel) == 2  # the listing is trusted once
            [stored] = [s for s in vault.assets() if s.asset.path == rel]
            assert stored.asset.size == victim.stat().st_size  # the size read, not the listing
            again = run_backup(connect(f"folder:{roll}"), VaultStore(vault))
            assert not again.failed and not again.warnings and again.new == 0
            assert verify(vault, VerifyMode.FULL).ok
            restore(vault, tmp_path / f"out-{change.__name__}")
        assert digests(tmp_path / f"out-{change.__name__}") == digests(roll)
        assert not list((tmp_path / change.__name__ / "tmp").iterdir())


def test_a_file_that_changes_while_read_is_not_recorded_and_retried_next_run(
    tmp_path: Path,
) -> None:
    roll = make_roll(tmp_path / "roll", count=12)
    victim = sorted(roll.rglob("*.JPG"))[0]
    rel = victim.relative_to(roll).as_posix()

    class Tearing(Window):
        """Rewrites the victim in place once its first bytes were read: a torn copy."""

        def open(self, asset: Asset) -> BinaryIO:
            stream = self.inner.open(asset)
            if asset.path == rel:
                head = stream.read(10)
                os.utime(victim, ns=(1, 1))
                return cast(BinaryIO, io.BufferedReader(_Prefixed(head, stream)))
            return stream

    with new_vault(tmp_path / "v") as vault:
        report = run_backup(Tearing(connect(f"folder:{roll}")), VaultStore(vault))
        assert list(report.failed) == [rel] and "changed while it was read" in report.failed[rel]
        assert all(s.asset.path != rel for s in vault.assets())
        again = run_backup(connect(f"folder:{roll}"), VaultStore(vault))
        assert again.new == 1 and not again.failed
        assert verify(vault, VerifyMode.FULL).ok
    assert not list((tmp_path / "v" / "tmp").iterdir())


class _Prefixed(io.RawIOBase):
    """``head`` (already read from ``rest``), then the rest of ``rest``."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head, self._rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._head[: len(buffer)] if self._head else self._rest.read(len(buffer))
        self._head = self._head[len(data) :] if self._head else b""
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._rest.close()
        super().close()


def test_dry_run_opens_nothing_and_writes_nothing(tmp_path: Path) -> None:
    roll = make_roll(tmp_path / "roll", count=12)
    new_vault(tmp_path / "v").close()
    before = tree(tmp_path / "v")
    watching = Watching(connect(f"folder:{roll}"))
    with Vault.open(tmp_path / "v", PASSPHRASE) as vault:
        report = run_backup(watching, DryRunStore(vault))
    assert report.dry_run and watching.opened == []
    assert sorted(report.would_store) == sorted(digests(roll))
    assert tree(tmp_path / "v") == before  # not even the index cache is rewritten
