"""Secrets stay in the processes and folders that need them: the passphrase leaves the environment
once read (no worker inherits it, /proc/<pid>/environ stops showing it), processes holding an
unlocked vault write no core file and cannot be read by others, and a phone's pair record lives
in companion's private state folder (0700, files 0600), never world-readable under the home
folder. Real processes, real /proc, the simulated iPhone over its real protocols."""

from __future__ import annotations

import json
import logging
import os
import plistlib
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from companion.cli.common import PASSPHRASE_ENV, vault_ref
from companion.connectors import ConnectOptions
from companion.connectors.usb import UsbOptions, pairing
from companion.connectors.usb.connector import UsbConnector
from companion.errors import UsageError
from companion.simulator import Simulator
from companion.vault import hardening
from tests.support import PASSPHRASE, WORK_FACTOR, cli_env, companion, make_roll, new_vault
from tests.usb_support import phone_copy

linux_only = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")

# Run as a child process: it builds its VaultRef the way a command does, starts worker pools
# before and after that, opens the vault twice, and prints what each process holds.
PROBE = """
import ctypes, json, os, resource, sys
from pathlib import Path

PR_GET_DUMPABLE = 3


def state(secret):
    environ = Path("/proc/self/environ").read_bytes()
    return {
        "pid": os.getpid(),
        "variable": os.environ.get("COMPANION_PASSPHRASE"),
        "in_proc_environ": secret.encode() in environ or b"COMPANION_PASSPHRASE=" in environ,
        "core_limit": list(resource.getrlimit(resource.RLIMIT_CORE)),
        "dumpable": ctypes.CDLL(None).prctl(PR_GET_DUMPABLE, 0, 0, 0, 0),
    }


def in_workers(pool, secret):
    return [result for _, result in pool.run(state, [secret] * 8, lambda n: None)]


if __name__ == "__main__":
    from companion.cli.common import vault_ref
    from companion.vault.pool import WorkerPool

    root, secret = Path(sys.argv[1]), sys.argv[2]
    seen = {"before": state(secret)}
    with WorkerPool.for_vault(root, 2) as early:  # started while the variable is still set
        ref = vault_ref(root, None)
        seen["after_ref"] = state(secret)
        with WorkerPool.for_vault(root, 2) as late:
            with ref.open() as vault:
                seen["unlocked"] = state(secret)
            with ref.open() as vault:  # a second open in the same run
                seen["second_open"] = vault.root == root
            seen["early"] = in_workers(early, secret)
            seen["late"] = in_workers(late, secret)
    print(json.dumps(seen))
"""


@linux_only
def test_no_process_holds_the_passphrase_variable_and_none_can_dump(tmp_path: Path) -> None:
    root = tmp_path / "vault"
    new_vault(root).close()
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    done = subprocess.run(
        [sys.executable, str(script), str(root), PASSPHRASE],
        capture_output=True,
        text=True,
        env=cli_env(),  # the passphrase in COMPANION_PASSPHRASE, as a script would give it
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["before"]["variable"] == PASSPHRASE and seen["before"]["in_proc_environ"]
    for moment in ("after_ref", "unlocked"):  # taken out for good once the ref is built
        assert seen[moment]["variable"] is None, moment
        assert not seen[moment]["in_proc_environ"], moment
    assert seen["second_open"] is True
    # While the vault is unlocked the main process writes no core file and cannot be read.
    assert seen["unlocked"]["core_limit"] == [0, 0]
    assert seen["unlocked"]["dumpable"] == 0
    workers = seen["early"] + seen["late"]
    assert len(workers) == 16
    for worker in workers:  # even those started before the variable was taken out
        assert worker["variable"] is None and not worker["in_proc_environ"], worker
        assert worker["core_limit"] == [0, 0] and worker["dumpable"] == 0, worker


def _family(pid: int) -> set[int]:
    """``pid`` and every process below it."""
    found, todo = {pid}, [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def _environ(pid: int) -> bytes | None:
    """What /proc shows of a process's environment; None if it may not be read (a process
    marked not dumpable, seen by a user without CAP_SYS_PTRACE) or is gone."""
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except (PermissionError, ProcessLookupError, FileNotFoundError):
        return None


@linux_only
def test_a_full_verify_with_workers_shows_the_passphrase_to_no_one(tmp_path: Path) -> None:
    """From outside, as another program of the same user would look: the command and each of
    its workers, while they run."""
    env = cli_env(COMPANION_VAULT=str(tmp_path / "vault"))
    assert (
        companion("vault", "init", "--kdf-work-factor", str(WORK_FACTOR), env=env).returncode == 0
    )
    roll = make_roll(tmp_path / "roll", count=40)
    assert companion("backup", "--from", f"folder:{roll}", env=env).returncode == 0
    secret = PASSPHRASE.encode()
    child = subprocess.Popen(
        [sys.executable, "-m", "companion", "verify", "--full", "--jobs", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    looked_at: dict[int, bytes | None] = {}
    try:
        while child.poll() is None:
            family = _family(child.pid)
            if len(family) > 1:  # workers run: the command has built its VaultRef
                for pid in family:
                    looked_at[pid] = _environ(pid)
                    shown = looked_at[pid]
                    assert shown is None or secret not in shown, pid
                    assert shown is None or PASSPHRASE_ENV.encode() not in shown, pid
            time.sleep(0.01)
    finally:
        if child.poll() is None:
            child.kill()
        _, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert child.pid in looked_at and len(looked_at) >= 3, "the command and two workers"


def test_a_ref_built_from_the_variable_opens_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_vault(tmp_path / "vault").close()
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    ref = vault_ref(tmp_path / "vault", None)
    assert PASSPHRASE_ENV not in os.environ  # taken out when the command built its ref
    for _ in range(2):  # a cleanup reviews read-only, then opens again to write
        with ref.open() as vault:
            assert vault.root == tmp_path / "vault"
    once = ref.asking_once()
    with once.open(), once.open(write=True):
        pass
    assert PASSPHRASE_ENV not in os.environ


def test_the_names_of_the_variable_agree() -> None:
    assert hardening.PASSPHRASE_ENV == PASSPHRASE_ENV


def test_a_variable_that_is_no_utf8_is_a_usage_error_when_the_vault_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_vault(tmp_path / "vault").close()
    monkeypatch.setenv(PASSPHRASE_ENV, "caf\udce9")  # what Python makes of b"caf\xe9"
    ref = vault_ref(tmp_path / "vault", None)  # building the ref asks nothing yet
    assert PASSPHRASE_ENV not in os.environ
    for _ in range(2):
        with pytest.raises(UsageError, match="not valid UTF-8"):
            ref.open()


def test_a_variable_that_is_no_utf8_stays_a_one_line_usage_error(tmp_path: Path) -> None:
    env = cli_env(COMPANION_VAULT=str(tmp_path / "vault"))
    assert (
        companion("vault", "init", "--kdf-work-factor", str(WORK_FACTOR), env=env).returncode == 0
    )
    raw = {k.encode(): v.encode() for k, v in env.items()}
    raw[b"COMPANION_PASSPHRASE"] = b"caf\xe9 latin-1"
    done = subprocess.run(
        [sys.executable, "-m", "companion", "verify", "--full", "--jobs", "2"],
        capture_output=True,
        text=True,
        env=raw,  # type: ignore[arg-type]
        timeout=120,
        check=False,
        start_new_session=True,
    )
    assert done.returncode == 2, done.stderr
    assert "error: the passphrase is not valid UTF-8 text" in done.stderr
    assert "Traceback" not in done.stderr and "hint:" in done.stderr


# Pair records.


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _records(state: Path) -> Path:
    return state / "pair-records"


@contextmanager
def _umask(mask: int) -> Iterator[None]:
    """Files written meanwhile (by this process and its children) get this umask."""
    before = os.umask(mask)
    try:
        yield
    finally:
        os.umask(before)


def test_a_usb_backup_keeps_the_pair_record_private(tmp_path: Path) -> None:
    """The whole command, with the home and state folders its own: the record is in the state
    folder, 0600 in a 0700 folder, and nothing of pymobiledevice3's is under the home folder."""
    home, state = tmp_path / "home", tmp_path / "state"
    home.mkdir()
    phone = phone_copy(tmp_path / "phone")
    with Simulator(phone) as simulator, _umask(0o022):  # pymobiledevice3 writes 0644 then
        env = cli_env(
            HOME=str(home),
            XDG_DATA_HOME=str(home / "data"),
            XDG_CACHE_HOME=str(home / "cache"),
            COMPANION_STATE_DIR=str(state),
            COMPANION_VAULT=str(tmp_path / "vault"),
            USBMUXD_SOCKET_ADDRESS=simulator.address,
        )
        assert companion("vault", "init", "--kdf-work-factor", str(WORK_FACTOR), env=env)
        done = companion("backup", "--json", env=env)
        assert done.returncode == 0, done.stderr
        listed = companion("devices", "--json", env=env)
        assert listed.returncode == 0 and json.loads(listed.stdout)[0]["trusted"], listed.stderr
    records = _records(state)
    assert _mode(records) == 0o700 and _mode(state) == 0o700
    files = list(records.iterdir())
    assert [f.name for f in files] == [f"{simulator.udid}.plist"]
    assert all(_mode(f) == 0o600 for f in files)
    assert not [p for p in home.rglob("*") if "pymobiledevice3" in p.parts]


@pytest.mark.parametrize("data_home", [None, "relative/data", "/absolute/data"])
@pytest.mark.parametrize("legacy", [False, True])
def test_the_library_folder_is_where_pymobiledevice3_looks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_home: str | None, legacy: bool
) -> None:
    from pymobiledevice3.osu.os_utils import get_os_utils

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SUDO_USER", raising=False)
    if data_home is None:
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_DATA_HOME", data_home)
    if legacy:
        (tmp_path / ".pymobiledevice3").mkdir()
    assert pairing.library_folder() == Path(get_os_utils().get_home_folder_path())
    assert sorted(tmp_path.iterdir()) == ([tmp_path / ".pymobiledevice3"] if legacy else [])


def _connector(address: str, pair_records: Path | None) -> UsbConnector:
    usb = UsbOptions(usbmux_address=address, pair_records=pair_records, trust_timeout=5)
    return UsbConnector(None, ConnectOptions(per_connector=(usb,)))


def _forget_usbmuxd_records(state_dir: Path) -> None:
    """The simulated usbmuxd loses its copies of pair records (as on a computer where the
    record was only ever in pymobiledevice3's folder); the phone still trusts the host."""
    path = state_dir / "simulated-iphone-state.plist"
    saved = plistlib.loads(path.read_bytes())
    saved["PairRecords"] = {}
    path.write_bytes(plistlib.dumps(saved, fmt=plistlib.FMT_BINARY))


def test_a_record_in_pymobiledevice3s_folder_is_copied_in_privately(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    home, state, phone_state = tmp_path / "home", tmp_path / "state", tmp_path / "phone-state"
    old = home / ".pymobiledevice3"  # where pymobiledevice3 keeps records under that home
    phone = phone_copy(tmp_path / "phone")
    with Simulator(phone, state_dir=phone_state) as simulator:  # paired the old way
        connector = _connector(simulator.address, old)
        try:
            connector.info()
        finally:
            connector.close()
    [record] = old.iterdir()
    record.chmod(0o644)  # as pymobiledevice3 leaves it
    _forget_usbmuxd_records(phone_state)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SUDO_USER", raising=False)
    monkeypatch.setenv("COMPANION_STATE_DIR", str(state))
    with Simulator(phone, state_dir=phone_state) as simulator:
        connector = _connector(simulator.address, None)
        try:
            with caplog.at_level(logging.INFO, logger="companion.connectors.usb.pairing"):
                assert connector.info().identifier == simulator.udid
        finally:
            connector.close()
    copied = _records(state) / record.name
    assert copied.read_bytes() == record.read_bytes(), "used as it was, not paired again"
    assert _mode(copied) == 0o600 and _mode(_records(state)) == 0o700
    assert record.exists(), "the old copy is the person's to delete"
    assert "can be deleted" in caplog.text and str(record) in caplog.text


def test_a_folder_given_is_used_as_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo names its own folder: nothing is copied into it; and a name from usbmuxd that
    is not a single file name reaches no file."""
    home, state = tmp_path / "home", tmp_path / "state"
    (home / ".pymobiledevice3").mkdir(parents=True)
    (home / ".pymobiledevice3" / "PHONE.plist").write_bytes(plistlib.dumps({"HostID": "H"}))
    (home / "x.plist").write_bytes(plistlib.dumps({"HostID": "H"}))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SUDO_USER", raising=False)
    monkeypatch.setenv("COMPANION_STATE_DIR", str(state))
    given = tmp_path / "demo" / "pair-records"
    assert pairing.records_folder(given, "PHONE") == given and not given.exists()
    assert pairing.records_folder(None, "../x") == _records(state)
    assert list(_records(state).iterdir()) == []
    assert pairing.records_folder(None, "PHONE") == _records(state)
    assert [p.name for p in _records(state).iterdir()] == ["PHONE.plist"]
