"""The USB commands as a person runs them: `companion simulator serve` in its own process, the
unmodified pymobiledevice3 command line against it, then `companion devices` and
`companion backup` (USB by default), and the exit codes of the faults."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from companion.simulator import Faults, Simulator
from tests.support import WORK_FACTOR, cli_env, companion
from tests.usb_support import phone_copy

pytestmark = pytest.mark.slow  # child processes against a simulated iPhone


def _env(tmp_path: Path, address: str | None = None) -> dict[str, str]:
    """A child environment whose home, data and cache folders are the test's own."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    extra = {
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "COMPANION_VAULT": str(tmp_path / "vault"),
    }
    if address is not None:
        extra["USBMUXD_SOCKET_ADDRESS"] = address
    env = cli_env(**extra)
    if address is None:
        env.pop("USBMUXD_SOCKET_ADDRESS", None)
    return env


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """`companion simulator serve` in a child process; yields the address it prints."""
    env = _env(tmp_path)
    socket = tmp_path / "usbmuxd.sock"
    args = ["--listen", str(socket), "--phone-dir", str(tmp_path / "phone")]
    child = subprocess.Popen(
        [sys.executable, "-m", "companion", "simulator", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().strip()
        assert line.startswith("USBMUXD_SOCKET_ADDRESS="), child.stderr and child.stderr.read()
        yield line.split("=", 1)[1]
    finally:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    assert child.returncode == 0


def _pymobiledevice3(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pymobiledevice3", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_served_phone_works_with_pymobiledevice3_and_companion(served: str, tmp_path: Path) -> None:
    env = _env(tmp_path, served)
    info = _pymobiledevice3(env, "lockdown", "info", "--usbmux", served)
    assert info.returncode == 0, info.stderr
    values = json.loads(info.stdout)
    assert values["ProductType"].startswith("iPhone") and values["UniqueDeviceID"]
    listing = _pymobiledevice3(env, "afc", "ls", "/DCIM", "--usbmux", served)
    assert listing.returncode == 0 and "100APPLE" in listing.stdout, listing.stderr
    apps = _pymobiledevice3(env, "apps", "list", "--usbmux", served)
    assert apps.returncode == 0 and "com.facebook.Facebook" in apps.stdout, apps.stderr

    devices = companion("devices", "--json", env=env)
    assert devices.returncode == 0, devices.stderr
    [device] = json.loads(devices.stdout)
    assert device["identifier"] == values["UniqueDeviceID"] and device["trusted"] is True

    init = companion("vault", "init", "--kdf-work-factor", str(WORK_FACTOR), env=env)
    assert init.returncode == 0, init.stderr
    first = companion("backup", "--json", env=env)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["source"] == f"usb:{values['UniqueDeviceID']}" and report["new"] > 10
    again = json.loads(companion("backup", "--json", env=env).stdout)
    assert again["new"] == 0 and again["skipped"] == report["new"] + report["deduplicated"]


@pytest.mark.parametrize(
    ("faults", "words"),
    [
        (Faults(locked=True), "Unlock"),
        (Faults(trust="deny"), "Trust"),
    ],
)
def test_phone_faults_exit_10_with_a_hint(tmp_path: Path, faults: Faults, words: str) -> None:
    phone = phone_copy(tmp_path)
    with Simulator(phone, faults=faults) as simulator:
        env = _env(tmp_path, simulator.address)
        assert companion("vault", "init", "--kdf-work-factor", str(WORK_FACTOR), env=env)
        result = companion("backup", "--trust-timeout", "3", env=env)
    assert result.returncode == 10, result.stderr
    assert "hint:" in result.stderr and words in result.stderr


@pytest.mark.parametrize("address", ["localhost:abc", "::1:27015", "host:0"])
def test_a_malformed_usbmux_address_is_a_usage_error(tmp_path: Path, address: str) -> None:
    result = companion("devices", "--usbmux", address, env=_env(tmp_path))
    assert result.returncode == 2 and "HOST:PORT" in result.stderr, result.stderr
    result = companion("backup", env=_env(tmp_path, address))  # from the environment too
    assert result.returncode == 2 and "HOST:PORT" in result.stderr, result.stderr


def test_simulator_serve_on_an_impossible_address_is_a_usage_error(tmp_path: Path) -> None:
    where = str(tmp_path / "no-such-folder" / "usbmuxd.sock")
    args = ("--listen", where, "--phone-dir", str(tmp_path / "phone"))
    result = companion("simulator", "serve", *args, env=_env(tmp_path))
    assert result.returncode == 2 and "cannot listen" in result.stderr, result.stderr


def test_no_usbmuxd_is_exit_10_with_how_to_get_one(tmp_path: Path) -> None:
    env = _env(tmp_path, str(tmp_path / "nobody-listens-here"))
    result = companion("devices", env=env)
    assert result.returncode == 10
    assert "usbmuxd" in result.stderr and "hint:" in result.stderr


def test_cable_pulled_exits_10_and_the_next_run_finishes(tmp_path: Path) -> None:
    phone = phone_copy(tmp_path)
    with Simulator(phone, faults=Faults(cut_after_bytes=600_000)) as simulator:
        env = _env(tmp_path, simulator.address)
        assert companion("vault", "init", "--kdf-work-factor", str(WORK_FACTOR), env=env)
        cut = companion("backup", env=env)
        assert cut.returncode == 10 and "disconnected" in cut.stderr, cut.stderr
        simulator.plug()
        resumed = companion("backup", "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["skipped"] > 0 and report["new"] > 0  # kept what was done, fetched the rest
    assert os.environ.get("USBMUXD_SOCKET_ADDRESS") != simulator.address


def test_a_usb_backup_writes_nothing_outside_the_vault(tmp_path: Path) -> None:
    phone = phone_copy(tmp_path / "phone")
    scratch = tmp_path / "scratch"  # the child's temporary folder: must stay empty
    scratch.mkdir()
    with Simulator(phone) as simulator:
        env = {**_env(tmp_path, simulator.address), "TMPDIR": str(scratch)}
        assert companion("vault", "init", "--kdf-work-factor", str(WORK_FACTOR), env=env)
        home = tmp_path / "home"
        before = {p for p in home.rglob("*") if p.is_file()}
        dry = companion("backup", "--dry-run", "--json", env=env)
        assert dry.returncode == 0 and json.loads(dry.stdout)["would_store"], dry.stderr
        done = companion("backup", "--json", env=env)
        assert done.returncode == 0, done.stderr
    assert not list(scratch.iterdir())
    added = {p for p in home.rglob("*") if p.is_file()} - before
    state = tmp_path / "home" / ".local" / "state" / "companion"
    # Only companion's private state (docs/cli.md): the pairing record, what it knows of the vault.
    assert all(p.is_relative_to(state) for p in added), added
    names = {p.name for p in (tmp_path / "vault").rglob("*") if p.is_file()}
    assert not any(n.upper().endswith((".HEIC", ".JPG", ".PNG", ".MOV", ".SQLITE")) for n in names)
