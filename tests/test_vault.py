"""The vault on its own: keys, objects, catalogue, index cache, lock, privacy at rest."""

from __future__ import annotations

import errno
import io
import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import NoReturn

import pytest

from companion.errors import (
    UsageError,
    VaultExists,
    VaultInaccessible,
    VaultLocked,
    VaultNotFound,
    WrongPassphrase,
)
from companion.model import Asset, AssetKind
from companion.vault import FlushPolicy, Vault
from companion.vault import keys as vault_keys
from tests.support import PASSPHRASE, WORK_FACTOR, new_vault, tree

WHEN = datetime(2023, 7, 14, 21, 30, tzinfo=timezone(timedelta(hours=2)))


def asset(path: str, data: bytes, **kw: object) -> Asset:
    return Asset(
        source="folder:/phone",
        path=path,
        size=len(data),
        mtime_ns=1_000,
        kind=AssetKind.PHOTO,
        captured_at=WHEN,
        **kw,
    )  # type: ignore[arg-type]


def put(vault: Vault, path: str, data: bytes) -> None:
    vault.put(asset(path, data), io.BytesIO(data))


def test_create_refuses_an_existing_vault_or_a_non_empty_folder(tmp_path: Path) -> None:
    new_vault(tmp_path / "v").close()
    with pytest.raises(VaultExists):
        new_vault(tmp_path / "v")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "photo.jpg").write_bytes(b"x")
    with pytest.raises(VaultExists):
        new_vault(tmp_path / "other")
    with pytest.raises(VaultNotFound):
        Vault.open(tmp_path / "nothing-here", PASSPHRASE)


def test_exists_only_where_a_vault_is(tmp_path: Path) -> None:
    new_vault(tmp_path / "v").close()
    (tmp_path / "empty").mkdir()
    (tmp_path / "a-file").write_bytes(b"x")
    assert Vault.exists(tmp_path / "v")
    assert not Vault.exists(tmp_path / "empty")
    assert not Vault.exists(tmp_path / "missing")
    assert not Vault.exists(tmp_path / "missing" / "deeper")
    assert not Vault.exists(tmp_path / "a-file")


def test_exists_says_no_where_it_may_not_look_and_open_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "v"
    new_vault(root).close()

    def denied(path: Path, *args: object, **kwargs: object) -> NoReturn:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    with monkeypatch.context() as patched:
        patched.setattr(Path, "exists", denied)
        assert not Vault.exists(root)
    monkeypatch.setattr(Path, "read_text", denied)
    with pytest.raises(VaultInaccessible):
        Vault.open(root, PASSPHRASE)


def test_wrong_passphrase_writes_nothing_and_leaves_no_lock(tmp_path: Path) -> None:
    with new_vault(tmp_path / "v") as vault:
        put(vault, "DCIM/100APPLE/IMG_0001.JPG", b"jpeg bytes")
    before = tree(tmp_path / "v")
    with pytest.raises(WrongPassphrase) as caught:
        Vault.open(tmp_path / "v", "not the passphrase", write=True)
    assert caught.value.exit_code == 12
    assert tree(tmp_path / "v") == before
    assert not (tmp_path / "v" / "lock").exists()


def test_put_then_reopen_finds_the_asset_with_its_metadata(tmp_path: Path) -> None:
    data = os.urandom(300_000)
    with new_vault(tmp_path / "v") as vault:
        vault.put(
            asset("DCIM/100APPLE/IMG_0001.HEIC", data, albums=("Trips",), favourite=True),
            io.BytesIO(data),
        )
    with Vault.open(tmp_path / "v", PASSPHRASE) as vault:
        (stored,) = list(vault.assets())
        assert stored.asset.path == "DCIM/100APPLE/IMG_0001.HEIC"
        assert stored.asset.captured_at == WHEN
        assert stored.asset.albums == ("Trips",)
        assert stored.asset.favourite is True
        out = io.BytesIO()
        vault.decrypt_to(stored, out)
        assert out.getvalue() == data


def test_identical_payloads_are_stored_once_and_names_are_keyed(tmp_path: Path) -> None:
    data = b"the same bytes" * 1000
    with new_vault(tmp_path / "a") as a:
        first = a.put(asset("x/IMG_0001.JPG", data), io.BytesIO(data))
        second = a.put(asset("y/IMG_0001.JPG", data), io.BytesIO(data))
    assert not first.deduplicated and second.deduplicated
    assert first.stored.object_id == second.stored.object_id
    assert len(list((tmp_path / "a" / "objects").rglob("*"))) == 2  # one fan-out dir, one object
    with new_vault(tmp_path / "b") as b:
        other = b.put(asset("x/IMG_0001.JPG", data), io.BytesIO(data))
    # A keyed name: not the plain SHA-256, and different in every vault.
    assert first.stored.object_id != first.stored.sha256
    assert other.stored.object_id != first.stored.object_id


def test_no_plaintext_bytes_names_or_dates_anywhere_in_the_vault(tmp_path: Path) -> None:
    secret = b"PLAINTEXT-PHOTO-PAYLOAD-" * 400
    with new_vault(tmp_path / "v") as vault:
        vault.put(
            asset("DCIM/100APPLE/IMG_4242.HEIC", secret, albums=("Holidays",)), io.BytesIO(secret)
        )
    needles = [b"PLAINTEXT-PHOTO", b"IMG_4242", b"Holidays", b"2023-07-14", b"DCIM"]
    for path in (tmp_path / "v").rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            for needle in needles:
                assert needle not in blob, f"{needle!r} found in {path.name}"


def test_catalogue_survives_reopen_and_flushes_in_segments(tmp_path: Path) -> None:
    with new_vault(tmp_path / "v") as vault:
        pass
    with Vault.open(tmp_path / "v", PASSPHRASE, write=True, flush=FlushPolicy(records=3)) as vault:
        for n in range(7):
            put(vault, f"DCIM/100APPLE/IMG_{n:04d}.JPG", f"photo {n}".encode())
    segments = sorted(p.name for p in (tmp_path / "v" / "catalogue").iterdir())
    assert segments == ["00000001.age", "00000002.age", "00000003.age"]
    with Vault.open(tmp_path / "v", PASSPHRASE) as vault:
        assert len(list(vault.assets())) == 7


def test_index_cache_deleted_or_corrupted_is_rebuilt_identically(tmp_path: Path) -> None:
    root = tmp_path / "v"
    new_vault(root).close()
    with Vault.open(root, PASSPHRASE, write=True, flush=FlushPolicy(records=2)) as vault:
        for n in range(5):
            put(vault, f"DCIM/100APPLE/IMG_{n:04d}.JPG", f"photo {n}".encode())
    with Vault.open(root, PASSPHRASE) as vault:
        reference = vault.index.dump()
    cache = root / "cache" / "index.age"
    cache.unlink()
    with Vault.open(root, PASSPHRASE) as vault:
        assert vault.index.dump() == reference
    cache.write_bytes(b"garbage" * 100)
    with Vault.open(root, PASSPHRASE) as vault:
        assert vault.index.dump() == reference
    # A cache that misses the newest segment (a writer was killed before saving it) catches up.
    stale = cache.read_bytes()
    with Vault.open(root, PASSPHRASE, write=True) as vault:
        put(vault, "DCIM/100APPLE/IMG_0099.JPG", b"late photo")
    with Vault.open(root, PASSPHRASE) as vault:
        expected = vault.index.dump()
    assert len(expected) > len(reference)
    cache.write_bytes(stale)
    with Vault.open(root, PASSPHRASE) as vault:
        assert vault.index.dump() == expected


def test_readers_skip_record_types_they_do_not_know(tmp_path: Path) -> None:
    root = tmp_path / "v"
    with new_vault(root) as vault:
        put(vault, "a.jpg", b"a")
        vault._queue({"t": "from-the-future", "x": 1})
        vault._queue({"t": "event", "event": "teleported", "at": WHEN.isoformat()})
    (root / "cache" / "index.age").unlink()
    with Vault.open(root, PASSPHRASE) as vault:
        assert [s.asset.path for s in vault.assets()] == ["a.jpg"]


def test_a_second_writer_is_refused(tmp_path: Path) -> None:
    with new_vault(tmp_path / "v"):
        with pytest.raises(VaultLocked) as caught:
            Vault.open(tmp_path / "v", PASSPHRASE, write=True)
        assert caught.value.exit_code == 11
        with Vault.open(tmp_path / "v", PASSPHRASE) as reader:  # readers are welcome
            assert list(reader.assets()) == []
    with Vault.open(tmp_path / "v", PASSPHRASE, write=True):
        pass


def test_a_stale_lock_from_a_dead_process_is_broken(tmp_path: Path) -> None:
    new_vault(tmp_path / "v").close()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    lock = tmp_path / "v" / "lock"
    lock.write_text(
        json.dumps({"host": socket.gethostname(), "pid": int(dead.stdout), "token": "x"})
    )
    with Vault.open(tmp_path / "v", PASSPHRASE, write=True):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()


def test_a_lock_from_another_host_is_never_broken(tmp_path: Path) -> None:
    new_vault(tmp_path / "v").close()
    (tmp_path / "v" / "lock").write_text(json.dumps({"host": "elsewhere", "pid": 1, "token": "x"}))
    with pytest.raises(VaultLocked, match="elsewhere"):
        Vault.open(tmp_path / "v", PASSPHRASE, write=True)


def test_passphrases_add_change_remove_and_export(tmp_path: Path) -> None:
    root = tmp_path / "v"
    with new_vault(root) as vault:
        put(vault, "a.jpg", b"a")
        secret = vault.identity.secret()
    vault_keys.add_passphrase(root, PASSPHRASE, "second one", WORK_FACTOR)
    objects_before = tree(root / "objects")
    vault_keys.change_passphrase(root, PASSPHRASE, "first, renewed", WORK_FACTOR)
    assert tree(root / "objects") == objects_before  # no data re-encrypted
    with pytest.raises(WrongPassphrase):
        Vault.open(root, PASSPHRASE)
    for phrase in ("second one", "first, renewed"):
        with Vault.open(root, phrase) as vault:
            assert [s.asset.path for s in vault.assets()] == ["a.jpg"]
    assert vault_keys.export_identity(root, "second one") == secret
    vault_keys.remove_passphrase(root, "second one")
    with pytest.raises(UsageError):
        vault_keys.remove_passphrase(root, "first, renewed")


def test_key_files_use_a_work_factor_stock_age_accepts(tmp_path: Path) -> None:
    new_vault(tmp_path / "v").close()
    (key,) = (tmp_path / "v" / "keys").iterdir()
    stanza = key.read_bytes().split(b"\n")[1].split()
    assert stanza[:2] == [b"->", b"scrypt"]
    assert int(stanza[3]) == WORK_FACTOR <= 22


def test_recorded_times_come_from_the_injected_clock(tmp_path: Path) -> None:
    fixed = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    with Vault.create(
        tmp_path / "v", PASSPHRASE, work_factor=WORK_FACTOR, clock=lambda: fixed
    ) as v:
        put(v, "a.jpg", b"a")
    with Vault.open(tmp_path / "v", PASSPHRASE) as vault:
        assert next(vault.assets()).recorded_at == fixed


def test_an_original_name_other_than_the_path_survives(tmp_path: Path) -> None:
    with new_vault(tmp_path / "v") as vault:
        put(vault, "DCIM/100APPLE/IMG_0001.JPG", b"a")
        vault.put(asset("records/AbC123", b"b", original_name="Holiday.JPG"), io.BytesIO(b"b"))
    with Vault.open(tmp_path / "v", PASSPHRASE) as vault:
        names = {s.asset.path: (s.asset.name, s.asset.original_name) for s in vault.assets()}
    assert names == {
        "DCIM/100APPLE/IMG_0001.JPG": ("IMG_0001.JPG", None),
        "records/AbC123": ("Holiday.JPG", "Holiday.JPG"),
    }


def _forge(vault_dir: Path, name: str, plaintext: bytes) -> None:
    """Write a file as an attacker with write access could: encrypted to the public recipient."""
    import pyrage  # the attacker's tool, not ours

    recipient = json.loads((vault_dir / "companion-vault.json").read_text())["recipient"]
    encrypted = pyrage.encrypt(plaintext, [pyrage.x25519.Recipient.from_str(recipient)])
    (vault_dir / name).write_bytes(encrypted)


def test_a_forged_or_reordered_segment_is_refused(tmp_path: Path) -> None:
    from companion.vault.health import Trouble

    root = tmp_path / "v"
    with new_vault(root) as vault:
        put(vault, "a.jpg", b"a")
        vault.flush()
        put(vault, "b.jpg", b"b")
    record = {
        "t": "asset",
        "asset": "0" * 32,
        "object": "0" * 64,
        "sha256": "0" * 64,
        "stored_size": 1,
        "at": WHEN.isoformat(),
        "source": "folder:/phone",
        "path": "a.jpg",
        "size": 1,
        "mtime_ns": 1,
        "kind": "photo",
    }
    forged = json.dumps({"t": "segment", "format": 1, "mac": "0" * 64}) + "\n" + json.dumps(record)
    _forge(root, "catalogue/00000003.age", forged.encode() + b"\n")
    # Refused: its records are never used, and it is reported as damaged (not fatal: the
    # honest segments' photos stay listed).
    with Vault.open(root, PASSPHRASE) as vault:
        assert [(p.segment, p.trouble) for p in vault.catalogue_problems] == [
            ("00000003.age", Trouble.DAMAGED)
        ]
        assert "MAC" in vault.catalogue_problems[0].detail
        assert sorted(s.asset.path for s in vault.assets()) == ["a.jpg", "b.jpg"]
    (root / "catalogue" / "00000003.age").unlink()
    first, second = root / "catalogue" / "00000001.age", root / "catalogue" / "00000002.age"
    a, b = first.read_bytes(), second.read_bytes()
    first.write_bytes(b)
    second.write_bytes(a)
    (root / "cache" / "index.age").unlink()
    with Vault.open(root, PASSPHRASE) as vault:
        troubles = {(p.segment, p.trouble) for p in vault.catalogue_problems}
        assert {("00000001.age", Trouble.DAMAGED), ("00000002.age", Trouble.DAMAGED)} <= troubles
        assert list(vault.assets()) == []


def test_a_forged_index_cache_is_ignored(tmp_path: Path) -> None:
    import sqlite3

    root = tmp_path / "v"
    with new_vault(root) as vault:
        put(vault, "a.jpg", b"a")
    with Vault.open(root, PASSPHRASE) as vault:
        honest = vault.index.dump()
        database = vault.index.to_bytes()
    conn = sqlite3.connect(":memory:")
    conn.deserialize(database)
    conn.execute("UPDATE assets SET record = replace(record, 'a.jpg', 'evil.jpg')")
    conn.commit()
    tampered = conn.serialize()
    _forge(root, "cache/index.age", b"\x00" * 32 + tampered)
    with Vault.open(root, PASSPHRASE) as vault:
        assert vault.index.dump() == honest
        assert [s.asset.path for s in vault.assets()] == ["a.jpg"]
