"""`companion doctor` as a person runs it on a new computer: the simulated iPhone seen, no way to
reach iPhones named with this platform's fix, a vault in a synced folder said, one JSON document;
and the per-platform facts behind it (the hint about usbmuxd, FAT32's limit, the mount table)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pymobiledevice3.exceptions import ConnectionFailedToUsbmuxdError

from companion.connectors.usb.translate import translate
from companion.errors import DeviceNotFound
from companion.portable import reach, volume
from companion.simulator import Simulator
from companion.usecases.doctor import fat_hint, vault_hints
from tests.support import cli_env, companion
from tests.usb_support import phone_copy


def _env(tmp_path: Path, address: str) -> dict[str, str]:
    """A child environment with a home of the test's own and no passphrase: doctor asks none."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = cli_env(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CACHE_HOME=str(home / "cache"),
        COMPANION_VAULT=str(tmp_path / "vault"),
        USBMUXD_SOCKET_ADDRESS=address,
    )
    env.pop("COMPANION_PASSPHRASE")
    return env


@pytest.mark.slow  # a simulated iPhone and child processes
def test_the_simulated_iphone_is_seen_and_json_is_one_document(tmp_path: Path) -> None:
    with Simulator(phone_copy(tmp_path)) as simulator:
        env = _env(tmp_path, simulator.address)
        as_json = companion("doctor", "--json", env=env)
        screen = companion("doctor", env=env)
    assert as_json.returncode == 0, as_json.stderr
    found = json.loads(as_json.stdout)  # the whole of stdout: one document
    assert found["ready"] is True and found["iphones"]["answers"] is True
    assert found["iphones"]["named"] is True and found["iphones"]["address"] == simulator.address
    [phone] = found["iphones"]["phones"]
    assert phone["identifier"] == simulator.udid
    assert found["python"] == ".".join(map(str, sys.version_info[:3]))
    assert found["platform"] == sys.platform
    assert screen.returncode == 0, screen.stderr
    assert simulator.udid in screen.stdout and "Ready for a backup" in screen.stdout


@pytest.mark.slow  # a child process
def test_without_usbmuxd_the_hint_names_this_platforms_fix(tmp_path: Path) -> None:
    env = _env(tmp_path, str(tmp_path / "no-usbmuxd-here.sock"))
    result = companion("doctor", "--json", env=env)
    assert result.returncode == 10
    found = json.loads(result.stdout)
    assert found["ready"] is False and found["iphones"]["answers"] is False
    assert reach.platform_fix() in found["iphones"]["hint"]
    error = json.loads(result.stderr.splitlines()[-1])
    assert error["exit"] == 10 and reach.platform_fix() in error["hint"]
    screen = companion("doctor", env=env)
    assert screen.returncode == 10 and "nothing answers" in screen.stdout
    assert reach.platform_fix() in screen.stderr


@pytest.mark.slow  # a child process
def test_a_vault_inside_dropbox_is_said_to_be_synced(tmp_path: Path) -> None:
    env = _env(tmp_path, str(tmp_path / "no-usbmuxd-here.sock"))
    vault = Path(env["HOME"]) / "Dropbox" / "Photos vault"
    vault.parent.mkdir()
    env["COMPANION_VAULT"] = str(vault)
    result = companion("doctor", "--json", env=env)
    found = json.loads(result.stdout)["vault"]
    assert found["path"] == str(vault) and found["synced_by"] == "Dropbox"
    assert found["holds_vault"] is False
    assert any("Dropbox uploads this folder" in hint for hint in found["hints"])
    screen = companion("doctor", env=env)
    assert "synced by Dropbox" in screen.stdout

    env["COMPANION_VAULT"] = str(tmp_path / "vault")  # outside the fake home's Dropbox
    assert json.loads(companion("doctor", "--json", env=env).stdout)["vault"]["synced_by"] is None


@pytest.mark.parametrize("filesystem", ["vfat", "msdos", "FAT32", "fat"])
def test_fat_holds_no_file_of_4_gib(filesystem: str) -> None:
    assert volume.largest_file(filesystem) == 4 * 1024**3 - 1
    disk = volume.Volume(Path("/media/backup"), filesystem, 10**12)
    hints = vault_hints(True, disk, volume.largest_file(filesystem), None)
    assert hints == [fat_hint(filesystem)] and "4 GB" in hints[0] and "exFAT" in hints[0]


@pytest.mark.parametrize("filesystem", ["exfat", "exFAT", "ext4", "apfs", "NTFS", "fuseblk", None])
def test_other_file_systems_set_no_such_limit(filesystem: str | None) -> None:
    assert volume.largest_file(filesystem) is None
    disk = volume.Volume(Path("/media/backup"), filesystem, 10**12)
    assert vault_hints(True, disk, None, None) == []


def test_each_platform_has_its_own_fix_for_an_unreachable_usbmuxd() -> None:
    linux, macos, windows = (reach.unreachable_hint(p) for p in ("linux", "darwin", "win32"))
    assert "sudo apt install usbmuxd" in linux and "Apple Devices" not in linux
    assert "built into macOS" in macos and "apt" not in macos and "cable" in macos
    assert "Apple Devices" in windows and "iTunes" in windows and "Mobile Device Service" in windows
    assert "apt" not in windows
    for hint in (linux, macos, windows):
        assert reach.ADDRESS_ENV in hint
    assert reach.default_address("win32") == "127.0.0.1:27015"
    assert reach.default_address("darwin") == reach.default_address("linux") == "/var/run/usbmuxd"


def test_the_usb_error_gives_this_platforms_fix() -> None:
    error = translate(ConnectionFailedToUsbmuxdError(), None)
    assert isinstance(error, DeviceNotFound) and error.hint == reach.unreachable_hint(sys.platform)


def test_a_missing_socket_does_not_answer(tmp_path: Path) -> None:
    assert not reach.answers(str(tmp_path / "nothing.sock"))
    (tmp_path / "plain-file").write_bytes(b"")
    assert not reach.answers(str(tmp_path / "plain-file"))


def test_the_mount_holding_a_folder_is_the_deepest_one() -> None:
    mounts = [("/", "ext4"), ("/media/x", "vfat"), ("/media", "tmpfs"), ("/media/x", "exfat")]
    assert volume.deepest(Path("/media/x/vault"), mounts) == "exfat"  # mounted over the vfat
    assert volume.deepest(Path("/media/xy"), mounts) == "tmpfs"
    assert volume.deepest(Path("/home/me"), mounts) == "ext4"


def test_macos_mount_lines_are_read() -> None:
    listing = (
        "/dev/disk3s1s1 on / (apfs, sealed, local, read-only, journaled)\n"
        "/dev/disk4s1 on /Volumes/My Backup (msdos, local, nodev, nosuid, noowners)\n"
        "map auto_home on /System/Volumes/Data/home (autofs, automounted, nobrowse)\n"
    )
    mounts = volume.parse_mount_table(listing)
    assert volume.deepest(Path("/Volumes/My Backup/vault"), mounts) == "msdos"
    assert volume.deepest(Path("/Users/me"), mounts) == "apfs"


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("findmnt") is None,
    reason="checked against util-linux's findmnt",
)
def test_the_file_system_read_here_is_the_one_findmnt_names(tmp_path: Path) -> None:
    named = subprocess.run(
        ["findmnt", "-n", "-o", "FSTYPE", "--target", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    found = volume.describe(tmp_path / "not yet" / "vault")
    assert found.folder == tmp_path.resolve() and found.filesystem == named
    assert found.free is not None and found.free > 0
