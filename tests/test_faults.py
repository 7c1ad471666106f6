"""Faults: a killed process, damaged objects, a full disk. Nothing lost, nothing half-recorded."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from companion.backup import VaultStore, run_backup
from companion.cli.app import run
from companion.connectors import connect
from companion.errors import StorageFull
from companion.vault import Vault
from companion.vault.restore import restore
from companion.vault.verify import VerifyMode, verify
from tests.support import PASSPHRASE, cli_env, companion, digests, make_roll, new_vault, spawn


def big_roll(root: Path, files: int = 24, size: int = 3_000_000) -> Path:
    """A camera roll with enough bytes that a backup takes a noticeable moment."""
    make_roll(root, seed=5, count=12)
    rng = random.Random(9)
    folder = root / "DCIM" / "102APPLE"
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(files):
        # A JPEG's signature, so that the backup takes it for a picture (no warning, exit 0).
        (folder / f"IMG_{5000 + n}.JPG").write_bytes(b"\xff\xd8\xff" + rng.randbytes(size - 3))
    return root


def children(pid: int) -> set[int]:
    """Live processes whose parent is ``pid`` (Linux /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(stat.parent.name))
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` that still run (not gone, not zombies)."""
    running = set()
    for pid in pids:
        with contextlib.suppress(OSError, IndexError):
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                running.add(pid)
    return running


def object_files(vault: Path) -> list[Path]:
    return [p for p in (vault / "objects").rglob("*") if p.is_file() and len(p.name) == 64]


def check_complete(vault: Path, roll: Path, out: Path) -> None:
    """Every file present once, verify clean, restore identical, no temp file, no lock."""
    with Vault.open(vault, PASSPHRASE, write=True) as opened:
        paths = [s.asset.path for s in opened.assets()]
        assert sorted(paths) == sorted(digests(roll))
        assert len(set(paths)) == len(paths)
        assert verify(opened, VerifyMode.FULL).ok
        restore(opened, out)
        distinct = {s.sha256 for s in opened.assets()}
    assert digests(out) == digests(roll)
    assert len(object_files(vault)) == len(distinct)  # no orphan, no object written twice
    assert list((vault / "tmp").iterdir()) == []
    assert not (vault / "lock").exists()


@pytest.mark.slow
def test_sigkill_at_several_points_then_resume(tmp_path: Path) -> None:
    roll = big_roll(tmp_path / "roll")
    vault = tmp_path / "v"
    new_vault(vault).close()
    args = ("backup", "--from", f"folder:{roll}", "--vault", str(vault))
    kills = 0
    # Kill each run after it has written 0, 2, 4... new objects: at start-up, mid-way through
    # the workers' first files, and later; each run resumes what the killed ones left.
    for new_objects in (0, 2, 4, 6, 8):
        threshold = len(object_files(vault)) + new_objects
        proc = spawn(*args)
        deadline = time.monotonic() + 60
        while len(object_files(vault)) < threshold and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        if proc.poll() is None:
            workers = children(proc.pid)
            proc.send_signal(signal.SIGKILL)
            kills += 1
            proc.wait()
            deadline = time.monotonic() + 5
            while alive(workers) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not alive(workers), "worker processes outlived the killed backup"
        proc.wait()
    assert kills >= 3, "the backup finished before it could be killed; make the roll bigger"
    assert (vault / "lock").exists() or kills == 0  # a dead writer leaves its lock behind...
    done = companion(*args, "--json")  # ...which the resume breaks, because its pid is gone
    assert done.returncode == 0, done.stderr
    check_complete(vault, roll, tmp_path / "out")


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncate", "flip", "append", "delete"])
def test_damage_is_found_for_that_asset_only(tmp_path: Path, damage: str) -> None:
    roll = make_roll(tmp_path / "roll")
    vault = tmp_path / "v"
    with new_vault(vault) as opened:
        run_backup(connect(f"folder:{roll}"), VaultStore(opened))
        victim = sorted(opened.assets(), key=lambda s: s.asset.path)[3]
    target = vault / "objects" / victim.object_id[:2] / victim.object_id
    blob = target.read_bytes()
    if damage == "truncate":
        target.write_bytes(blob[: len(blob) // 2])
    elif damage == "flip":
        target.write_bytes(blob[:-100] + bytes([blob[-100] ^ 0x01]) + blob[-99:])
    elif damage == "append":
        target.write_bytes(blob + b"\x00extra")
    else:
        target.unlink()
    with Vault.open(vault, PASSPHRASE, write=True) as opened:
        quick = verify(opened, VerifyMode.QUICK)
        full = verify(opened, VerifyMode.FULL)
    # A flipped bit keeps the size: only decrypting finds it. Everything else both modes find.
    assert [d.paths for d in full.damaged] == [(victim.asset.path,)]
    assert [d.paths for d in quick.damaged] == ([] if damage == "flip" else [(victim.asset.path,)])
    result = companion("verify", "--full", "--vault", str(vault))
    assert result.returncode == 13
    assert victim.asset.path in result.stderr
    assert result.stderr.count("DAMAGED") == 1


@contextlib.contextmanager
def small_disk(path: Path, size: str) -> Iterator[None]:
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root); the injected ENOSPC test covers it")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.mark.slow
def test_a_full_disk_stops_cleanly_and_resume_completes_after_space_is_freed(
    tmp_path: Path,
) -> None:
    roll = big_roll(tmp_path / "roll", files=12, size=1_000_000)
    disk = tmp_path / "disk"
    with small_disk(disk, "6m"):
        vault = disk / "v"
        new_vault(vault).close()
        args = ("backup", "--from", f"folder:{roll}", "--vault", str(vault))
        full = companion(*args)
        assert full.returncode == 15, full.stderr  # its own code: not a bug
        assert "disk is full" in full.stderr and "hint:" in full.stderr
        assert "Traceback" not in full.stderr
        assert list((vault / "tmp").iterdir()) == []
        assert not (vault / "lock").exists()
        with Vault.open(vault, PASSPHRASE, write=True) as opened:
            held = len(list(opened.assets()))
            assert 0 < held < len(digests(roll))
            assert verify(opened, VerifyMode.FULL).ok  # nothing half-recorded
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        done = companion(*args)
        assert done.returncode == 0, done.stderr
        check_complete(vault, roll, tmp_path / "out")


class _FillsUp(io.RawIOBase):
    """A file that accepts ``room`` bytes and then fails as a full disk does."""

    def __init__(self, inner: Any, room: list[int]) -> None:
        self._inner = inner
        self._room = room

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self._room[0] < len(data):
            raise OSError(errno.ENOSPC, "No space left on device")
        self._room[0] -= len(data)
        return int(self._inner.write(data))

    def fileno(self) -> int:
        return int(self._inner.fileno())

    def tell(self) -> int:
        return int(self._inner.tell())

    def flush(self) -> None:
        if not self._inner.closed:
            self._inner.flush()

    def close(self) -> None:
        super().close()
        self._inner.close()


@contextlib.contextmanager
def disk_filling_after(room: int) -> Iterator[None]:
    """Every file opened for writing through ``os.fdopen`` (the vault's durable writes) shares
    ``room`` bytes, then fails with ENOSPC: a full disk at the OS edge."""
    real_fdopen = os.fdopen
    left = [room]

    def fdopen(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_fdopen(fd, mode, *args, **kwargs)
        return _FillsUp(handle, left) if "w" in mode else handle

    with mock.patch("os.fdopen", fdopen):
        yield


@pytest.mark.slow
def test_injected_enospc_records_nothing_half_written(tmp_path: Path) -> None:
    roll = big_roll(tmp_path / "roll", files=6, size=500_000)
    vault = tmp_path / "v"
    new_vault(vault).close()
    with (
        disk_filling_after(1_500_000),
        pytest.raises(StorageFull),
        Vault.open(vault, PASSPHRASE, write=True) as opened,
    ):
        run_backup(connect(f"folder:{roll}"), VaultStore(opened))
    assert list((vault / "tmp").iterdir()) == []
    assert not (vault / "lock").exists()
    with Vault.open(vault, PASSPHRASE, write=True) as opened:
        assert verify(opened, VerifyMode.FULL).ok
        held = len(list(opened.assets()))
    assert held < len(digests(roll))
    assert companion("backup", "--from", f"folder:{roll}", "--vault", str(vault)).returncode == 0
    check_complete(vault, roll, tmp_path / "out")


def test_a_full_disk_is_its_own_exit_code_with_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not exit 1 (a bug): exit 15, one line, the hint to free space, nothing half-written."""
    roll = big_roll(tmp_path / "roll", files=3, size=400_000)
    vault = tmp_path / "v"
    new_vault(vault).close()
    monkeypatch.setenv("COMPANION_PASSPHRASE", PASSPHRASE)
    with disk_filling_after(300_000):
        code = run(["backup", "--from", f"folder:{roll}", "--vault", str(vault)])
    err = capsys.readouterr().err
    assert code == 15, err
    assert "error: the disk is full" in err and "hint: Free some space" in err
    assert "Traceback" not in err
    assert list((vault / "tmp").iterdir()) == [] and not (vault / "lock").exists()


@pytest.mark.slow
def test_a_second_writer_process_is_refused_with_exit_11(tmp_path: Path) -> None:
    roll = make_roll(tmp_path / "roll")
    vault = tmp_path / "v"
    with new_vault(vault):
        result = companion("backup", "--from", f"folder:{roll}", "--vault", str(vault))
    assert result.returncode == 11
    assert "another companion command" in result.stderr


@pytest.mark.slow
def test_wrong_passphrase_process_exits_12_and_touches_nothing(tmp_path: Path) -> None:
    roll = make_roll(tmp_path / "roll")
    vault = tmp_path / "v"
    new_vault(vault).close()
    before = sorted(p.relative_to(vault) for p in vault.rglob("*"))
    env = cli_env(COMPANION_PASSPHRASE="wrong")
    result = companion("backup", "--from", f"folder:{roll}", "--vault", str(vault), env=env)
    assert result.returncode == 12
    assert sorted(p.relative_to(vault) for p in vault.rglob("*")) == before


@pytest.mark.slow
def test_a_backup_after_verify_repairs_damaged_objects(tmp_path: Path) -> None:
    roll = make_roll(tmp_path / "roll")
    twin = sorted(roll.rglob("*.JPG"))[0]
    (roll / "DCIM" / "900COPY").mkdir()
    (roll / "DCIM" / "900COPY" / twin.name).write_bytes(twin.read_bytes())  # two assets, one object
    vault = tmp_path / "v"
    with new_vault(vault) as opened:
        run_backup(connect(f"folder:{roll}"), VaultStore(opened))
        shared = opened.lookup(
            next(
                a
                for a in connect(f"folder:{roll}").list_assets()
                if a.path == f"DCIM/900COPY/{twin.name}"
            )
        )
    assert shared is not None
    target = vault / "objects" / shared.object_id[:2] / shared.object_id
    target.write_bytes(target.read_bytes()[:-10])
    with Vault.open(vault, PASSPHRASE, write=True) as opened:
        damaged = verify(opened, VerifyMode.FULL).damaged
        assert sorted(damaged[0].paths) == sorted(
            [f"DCIM/900COPY/{twin.name}", twin.relative_to(roll).as_posix()]
        )
        assert not target.exists() and target.with_name(target.name + ".damaged").exists()
        repair = run_backup(connect(f"folder:{roll}"), VaultStore(opened))
        assert (repair.new, repair.deduplicated) == (1, 1)
        assert verify(opened, VerifyMode.QUICK).ok
        assert verify(opened, VerifyMode.FULL).ok
        again = run_backup(connect(f"folder:{roll}"), VaultStore(opened))
        assert again.new + again.deduplicated == 0
    check_complete(vault, roll, tmp_path / "out")


@pytest.mark.slow
def test_restore_names_damaged_files_and_exits_13(tmp_path: Path) -> None:
    roll = make_roll(tmp_path / "roll")
    vault = tmp_path / "v"
    with new_vault(vault) as opened:
        run_backup(connect(f"folder:{roll}"), VaultStore(opened))
        victim = sorted(opened.assets(), key=lambda s: s.asset.path)[0]
    target = vault / "objects" / victim.object_id[:2] / victim.object_id
    target.write_bytes(target.read_bytes()[:-1])
    result = companion("restore", "--to", str(tmp_path / "out"), "--vault", str(vault))
    assert result.returncode == 13
    assert victim.asset.path in result.stderr
    restored = digests(tmp_path / "out")
    assert victim.asset.path not in restored  # no damaged or partial file under its name
    assert len(restored) == len(digests(roll)) - 1
    assert not list((tmp_path / "out").rglob(".*.part"))


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_with_exit_3_and_resume_completes(tmp_path: Path) -> None:
    roll = big_roll(tmp_path / "roll")
    vault = tmp_path / "v"
    new_vault(vault).close()
    args = ("backup", "--from", f"folder:{roll}", "--vault", str(vault))
    proc = subprocess.Popen(
        [sys.executable, "-m", "companion", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=cli_env(),
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while len(object_files(vault)) < 5 and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends to the whole foreground group
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert b"interrupted" in err and b"Traceback" not in err
    assert not (vault / "lock").exists()
    with Vault.open(vault, PASSPHRASE) as opened:
        kept = len(list(opened.assets()))
    assert kept >= 1  # finished work was recorded, not thrown away
    assert companion(*args).returncode == 0
    check_complete(vault, roll, tmp_path / "out")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "whole_group"),
    [(signal.SIGTERM, False), (signal.SIGHUP, True)],
    ids=["sigterm-to-the-command", "sighup-to-its-group"],
)
def test_sigterm_and_sighup_stop_like_ctrl_c(
    tmp_path: Path, signum: int, whole_group: bool
) -> None:
    """A shutdown, `kill` or `timeout` (SIGTERM) and a closed terminal (SIGHUP, which reaches the
    workers too) stop a backup as Ctrl-C does: exit 3, one line, finished work kept."""
    roll = big_roll(tmp_path / "roll")
    vault = tmp_path / "v"
    new_vault(vault).close()
    args = ("backup", "--from", f"folder:{roll}", "--vault", str(vault))
    proc = subprocess.Popen(
        [sys.executable, "-m", "companion", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=cli_env(),
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while len(object_files(vault)) < 5 and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    workers = children(proc.pid)
    if whole_group:
        os.killpg(proc.pid, signum)
    else:
        proc.send_signal(signum)
    _out, err = proc.communicate(timeout=60)
    lines = err.decode().splitlines()
    assert proc.returncode == 3, err
    assert sum("interrupted" in line for line in lines) == 1, lines
    assert all(line.startswith(("error: ", "hint: ")) for line in lines), lines
    assert not (vault / "lock").exists()
    deadline = time.monotonic() + 5
    while alive(workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(workers), "worker processes outlived the stopped backup"
    with Vault.open(vault, PASSPHRASE) as opened:
        assert len(list(opened.assets())) >= 1  # finished work was recorded
    assert companion(*args).returncode == 0
    check_complete(vault, roll, tmp_path / "out")


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_file_too_large_for_the_drive_is_said_plainly(tmp_path: Path) -> None:
    """A drive that cannot hold a file this large (FAT32 stops at 4 GB) answers EFBIG: here a
    child whose file-size limit is 2 MB gets the same answer for a 3 MB video. Exit 15 with a
    hint about the file system, not exit 1; the photos before it stay stored."""
    import resource

    roll = tmp_path / "roll" / "DCIM" / "100APPLE"
    roll.mkdir(parents=True)
    make_roll(tmp_path / "small", count=11)
    first = next((tmp_path / "small").rglob("*.JPG"))
    (roll / "IMG_0001.JPG").write_bytes(first.read_bytes())
    (roll / "IMG_0002.MOV").write_bytes(random.Random(5).randbytes(3_000_000))
    vault = tmp_path / "v"
    new_vault(vault).close()

    def small_files_only() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal, as FAT says
        resource.setrlimit(resource.RLIMIT_FSIZE, (2_000_000, 2_000_000))

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "companion",
            "backup",
            "--from",
            f"folder:{tmp_path / 'roll'}",
            "--vault",
            str(vault),
            "--jobs",
            "1",
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        preexec_fn=small_files_only,
        timeout=120,
        check=False,
    )
    assert result.returncode == 15, result.stderr
    assert "too large for the file system" in result.stderr and "FAT32" in result.stderr
    assert "Traceback" not in result.stderr
    assert list((vault / "tmp").iterdir()) == []
