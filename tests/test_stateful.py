"""A random walk over add / kill / resume / corrupt / verify / restore.

Invariant: every asset whose latest full check passed decrypts to its recorded SHA-256; and
after a complete backup and a full verify, the vault holds exactly the source, byte for byte.
A "kill" abandons a vault mid-backup without closing it, as a dead process would: queued records
are lost, the lock file stays (here removed by hand, as the stale-lock breaker does for a dead
process on the same host), objects written so far stay.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from companion.backup import VaultStore, run_backup
from companion.connectors import connect
from companion.connectors.base import Connector
from companion.model import Asset
from companion.vault import FlushPolicy, Vault
from companion.vault.objects import HashSink
from companion.vault.restore import restore
from companion.vault.verify import VerifyMode, verify
from tests.support import PASSPHRASE, Window, digests, new_vault

pytestmark = pytest.mark.slow  # hundreds of backups, kills and restores


class Killed(BaseException):
    """The process died: nothing after this point runs, not even cleanup."""


class DiesAfter(Window):
    """A real folder connector whose process dies after ``budget`` bytes have been read."""

    def __init__(self, inner: Connector, budget: int) -> None:
        super().__init__(inner)
        self.budget = budget

    def open(self, asset: Asset) -> BinaryIO:
        outer = self
        stream = self.inner.open(asset)

        class Dying(io.RawIOBase):
            def readable(self) -> bool:
                return True

            def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
                data = stream.read(min(len(buffer), 4096))
                outer.budget -= len(data)
                if outer.budget < 0:
                    raise Killed
                buffer[: len(data)] = data
                return len(data)

            def close(self) -> None:
                stream.close()
                super().close()

        return Dying()  # type: ignore[return-value]


class VaultWalk(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.work = Path(tempfile.mkdtemp(prefix="companion-walk-"))
        self.source = self.work / "DCIM"
        self.source.mkdir()
        self.vault_dir = self.work / "v"
        new_vault(self.vault_dir).close()
        self.corrupted: set[str] = set()  # damaged by us, not yet found by a full check
        self.reported: set[str] = set()  # found by the last full check (moved aside)

    def teardown(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)

    def connector(self) -> Connector:
        return connect(f"folder:{self.work}")

    def open_vault(self) -> Vault:
        return Vault.open(self.vault_dir, PASSPHRASE, write=True, flush=FlushPolicy(records=2))

    @rule(
        name=st.sampled_from([f"IMG_{n:04d}.JPG" for n in range(6)]),
        data=st.binary(min_size=0, max_size=200_000)
        | st.sampled_from([b"same", b"", b"x" * 70_000]),
    )
    def add_or_change_file(self, name: str, data: bytes) -> None:
        path = self.source / name
        path.write_bytes(data)

    @rule(budget=st.integers(min_value=0, max_value=300_000))
    def backup_killed(self, budget: int) -> None:
        vault = self.open_vault()
        try:
            run_backup(DiesAfter(self.connector(), budget), VaultStore(vault))
        except Killed:
            pass
        else:
            vault.close()
            return
        vault.index.close()  # the process is gone: no flush, no cache save
        (self.vault_dir / "lock").unlink()

    @rule()
    def backup(self) -> None:
        with self.open_vault() as vault:
            report = run_backup(self.connector(), VaultStore(vault))
        assert not report.failed

    @rule(
        pick=st.integers(min_value=0, max_value=1000), how=st.sampled_from(["flip", "cut", "add"])
    )
    def corrupt_an_object(self, pick: int, how: str) -> None:
        objects = sorted(
            p for p in (self.vault_dir / "objects").rglob("*") if p.is_file() and len(p.name) == 64
        )
        if not objects:
            return
        target = objects[pick % len(objects)]
        blob = bytearray(target.read_bytes())
        if how == "flip":
            blob[len(blob) // 2] ^= 0x10
        elif how == "cut":
            del blob[-1:]
        else:
            blob += b"!"
        target.write_bytes(bytes(blob))
        self.corrupted.add(target.name)

    @rule()
    def verify_full(self) -> None:
        with self.open_vault() as vault:
            report = verify(vault, VerifyMode.FULL)
        found = {d.object_id for d in report.damaged}
        # Never a false alarm. An object found before stays reported until a backup re-stores
        # its bytes (if the source no longer has them, an old version stays damaged).
        assert found <= self.corrupted | self.reported
        self.corrupted -= found
        self.reported = found

    @precondition(lambda self: not self.corrupted)
    @rule()
    def backup_verify_restore_is_exact(self) -> None:
        with self.open_vault() as vault:
            assert not run_backup(self.connector(), VaultStore(vault)).failed
            report = verify(vault, VerifyMode.FULL)
            # Every current asset is intact: only old versions' objects may still be damaged.
            current = {s.object_id for s in vault.assets()}
            assert not {d.object_id for d in report.damaged} & current
            assert {d.object_id for d in report.damaged} <= self.reported
            self.reported = {d.object_id for d in report.damaged}
            out = self.work / "out"
            shutil.rmtree(out, ignore_errors=True)
            assert not restore(vault, out).failed
        assert digests(out / "DCIM") == digests(self.source)

    @invariant()
    def verified_assets_decrypt_to_their_hash(self) -> None:
        with Vault.open(self.vault_dir, PASSPHRASE) as vault:
            for stored in vault.assets():
                # Damage done after the last check is the next check's to find.
                if stored.verified_ok and stored.object_id not in self.corrupted:
                    sink = HashSink()
                    vault.decrypt_to(stored, sink)
                    assert sink.sha.hexdigest() == stored.sha256
                    assert stored.sha256 == hashlib.sha256(b"").hexdigest() or sink.count > 0


TestVaultWalk = VaultWalk.TestCase
TestVaultWalk.settings = settings(max_examples=50, stateful_step_count=15, deadline=None)
