"""The simulated iPhone speaks usbmuxd, lockdown, AFC and installation_proxy well enough that the
unmodified pymobiledevice3 library and its command line take it for a phone."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pymobiledevice3.exceptions import (
    ConnectionTerminatedError,
    PairingDialogResponsePendingError,
    PasswordRequiredError,
    UserDeniedPairingError,
)
from pymobiledevice3.lockdown import LockdownClient, create_using_usbmux
from pymobiledevice3.services.afc import AfcError, AfcException, AfcService
from pymobiledevice3.services.installation_proxy import InstallationProxyService
from pymobiledevice3.usbmux import list_devices

from companion.simulator import Faults, Simulator
from tests.simphone import APPS, BIG, UDID, RawMux, TinyPhone, tiny_phone

T = TypeVar("T")
TIMEOUT = 20.0
IMG = "/DCIM/100APPLE"


def run(awaitable: Awaitable[T], timeout: float = TIMEOUT) -> T:
    """Run a client coroutine with a deadline, so a protocol bug fails instead of hanging."""

    async def bounded() -> T:
        return await asyncio.wait_for(awaitable, timeout)

    return asyncio.run(bounded())


@pytest.fixture
def phone(tmp_path: Path) -> TinyPhone:
    return tiny_phone(tmp_path / "phone")


@pytest.fixture
def sim(phone: TinyPhone, monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    with Simulator(phone) as simulator:
        # save_pair_record() ignores usbmux_address and reads this variable instead.
        monkeypatch.setenv("USBMUXD_SOCKET_ADDRESS", simulator.address)
        yield simulator


async def connect(sim: Simulator, records: Path, **options: Any) -> LockdownClient:
    return await create_using_usbmux(
        serial=None,
        usbmux_address=sim.address,
        pairing_records_cache_folder=records,
        **options,
    )


def pairs_logged(caplog: pytest.LogCaptureFixture) -> int:
    return sum("now trusts host" in record.getMessage() for record in caplog.records)


# --- lockdown: pairing, session, values -------------------------------------------------------


def test_pairs_starts_tls_session_and_reuses_the_record(
    sim: Simulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="companion.simulator")

    async def twice() -> tuple[dict[str, Any], bool, bool]:
        async with await connect(sim, tmp_path / "records") as first:
            values, paired = dict(first.all_values), first.paired
        async with await connect(sim, tmp_path / "records") as second:
            return values, paired, second.paired

    values, paired, paired_again = run(twice())
    assert paired and paired_again
    assert values["UniqueDeviceID"] == UDID
    assert values["SerialNumber"] == "F4GXK1ABCD12"  # only given inside a session
    assert values["ProductName"] == "iPhone OS"
    assert values["DevicePublicKey"].startswith(b"-----BEGIN RSA PUBLIC KEY-----")
    assert pairs_logged(caplog) == 1
    assert (tmp_path / "records" / f"{UDID}.plist").exists()


def test_before_pairing_only_public_values_are_given(sim: Simulator, tmp_path: Path) -> None:
    async def unpaired() -> tuple[bool, dict[str, Any]]:
        async with await connect(sim, tmp_path, autopair=False) as lockdown:
            return lockdown.paired, dict(lockdown.all_values)

    paired, values = run(unpaired())
    assert not paired
    assert {"ProductVersion", "DeviceClass", "WiFiAddress", "UniqueDeviceID"} <= set(values)
    assert "SerialNumber" not in values
    assert "TimeZone" not in values


def test_trust_persists_in_state_dir(
    phone: TinyPhone,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="companion.simulator")
    state = tmp_path / "state"
    for round_ in range(2):
        with Simulator(phone, state_dir=state) as simulator:
            monkeypatch.setenv("USBMUXD_SOCKET_ADDRESS", simulator.address)
            # a fresh cache each round: the record must come back from the simulated usbmuxd
            lockdown = run(connect(simulator, tmp_path / f"cache{round_}"))
            assert lockdown.paired
            run(lockdown.close())
    assert pairs_logged(caplog) == 1


# --- AFC --------------------------------------------------------------------------------------


def test_afc_browses_and_reads(sim: Simulator, phone: TinyPhone, tmp_path: Path) -> None:
    async def session() -> dict[str, Any]:
        async with (
            await connect(sim, tmp_path / "records") as lockdown,
            AfcService(lockdown) as afc,
        ):
            seen: dict[str, Any] = {
                "root": await afc.listdir("/"),
                "relative": await afc.listdir("DCIM"),
                "folder": await afc.listdir(IMG),
                "stat": await afc.stat(f"{IMG}/IMG_0002.HEIC"),
                "isdir": await afc.isdir("/DCIM"),
                "missing": await afc.exists(f"{IMG}/IMG_9999.JPG"),
                "small": await afc.get_file_contents(f"{IMG}/IMG_0001.JPG"),
                "walk": [(d, sorted(f)) async for d, _dirs, f in afc.walk("/DCIM")],
                "info": await afc.get_device_info(),
            }
            handle = await afc.fopen(f"{IMG}/IMG_0003.MOV")
            seen["big"] = await afc.fread(handle, BIG)
            await afc.fclose(handle)
            await afc.pull("/DCIM", str(tmp_path / "pulled"), progress_bar=False)
            return seen

    seen = run(session())
    folder = phone.media_root / "DCIM" / "100APPLE"
    assert sorted(seen["root"]) == ["DCIM", "PhotoData"]
    assert seen["relative"] == ["100APPLE"]
    assert seen["folder"] == ["IMG_0001.JPG", "IMG_0002.HEIC", "IMG_0003.MOV"]
    assert seen["stat"]["st_size"] == 10_000
    assert seen["stat"]["st_ifmt"] == "S_IFREG"
    assert seen["isdir"] is True
    assert seen["missing"] is False
    assert seen["small"] == (folder / "IMG_0001.JPG").read_bytes()
    assert seen["walk"][-1] == (IMG, ["IMG_0001.JPG", "IMG_0002.HEIC", "IMG_0003.MOV"])
    assert seen["info"]["Model"] == "iPhone14,5"
    assert seen["big"] == (folder / "IMG_0003.MOV").read_bytes()
    for name in seen["folder"]:
        pulled = tmp_path / "pulled" / "DCIM" / "100APPLE" / name
        assert pulled.read_bytes() == (folder / name).read_bytes()


def test_afc_refuses_paths_outside_the_media_root(
    sim: Simulator, phone: TinyPhone, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the host")
    (phone.media_root / "DCIM" / "escape").symlink_to(tmp_path)
    (phone.media_root / "DCIM" / "leak.txt").symlink_to(secret)

    async def attempts() -> list[int]:
        statuses = []
        async with (
            await connect(sim, tmp_path / "records") as lockdown,
            AfcService(lockdown) as afc,
        ):
            for attempt in (
                afc.listdir("/../"),
                afc.listdir("DCIM/../../"),
                afc.listdir("/DCIM/escape"),
                afc.get_file_contents("/DCIM/escape/secret.txt"),
                afc.fopen("/DCIM/leak.txt"),
                afc.stat("../phone"),
            ):
                with pytest.raises(AfcException) as refused:
                    await attempt
                statuses.append(refused.value.status)
            # a path that goes out and back in again is still fine
            back_in = await afc.listdir("/DCIM/../DCIM/100APPLE/..")
            assert back_in == ["100APPLE", "escape", "leak.txt"]
        return statuses

    assert set(run(attempts())) == {AfcError.PERM_DENIED}


def test_afc_writes_inside_the_media_root(sim: Simulator, phone: TinyPhone, tmp_path: Path) -> None:
    async def edit() -> bytes:
        async with (
            await connect(sim, tmp_path / "records") as lockdown,
            AfcService(lockdown) as afc,
        ):
            await afc.makedirs("/Downloads/new")
            await afc.set_file_contents("/Downloads/new/a.txt", b"hello world")
            handle = await afc.fopen("/Downloads/new/a.txt", "r")
            await afc.fseek(handle, 6)
            tail = await afc.fread(handle, 5)
            await afc.fclose(handle)
            await afc.rename("/Downloads/new/a.txt", "/Downloads/new/b.txt")
            await afc.rm_single("/Downloads/new/b.txt")
            return tail

    assert run(edit()) == b"world"
    assert list((phone.media_root / "Downloads" / "new").iterdir()) == []


# --- installation_proxy ------------------------------------------------------------------------


def test_installation_proxy_browse_and_lookup(sim: Simulator, tmp_path: Path) -> None:
    async def apps() -> tuple[Any, Any, Any]:
        async with (
            await connect(sim, tmp_path / "records") as lockdown,
            InstallationProxyService(lockdown) as proxy,
        ):
            browsed = await proxy.browse(
                {"ApplicationType": "User"}, ["CFBundleIdentifier", "CFBundleDisplayName"]
            )
            everything = await proxy.get_apps()
            one = await proxy.get_apps(bundle_identifiers=["com.example.chat"])
            return browsed, everything, one

    browsed, everything, one = run(apps())
    assert browsed == [
        {"CFBundleIdentifier": "com.example.chat", "CFBundleDisplayName": "Chat"},
        {"CFBundleIdentifier": "com.example.maps", "CFBundleDisplayName": "Maps Plus"},
    ]
    assert set(everything) == {app["CFBundleIdentifier"] for app in APPS}
    assert list(one) == ["com.example.chat"]
    assert one["com.example.chat"]["NSPhotoLibraryUsageDescription"].startswith("Send photos")


# --- the unmodified pymobiledevice3 command line -----------------------------------------------


def cli(sim: Simulator, home: Path, *arguments: str) -> str:
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home),
        "USBMUXD_SOCKET_ADDRESS": sim.address,
    }
    done = subprocess.run(
        [sys.executable, "-m", "pymobiledevice3", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_pymobiledevice3_command_line(sim: Simulator, tmp_path: Path) -> None:
    info = cli(sim, tmp_path, "lockdown", "info")
    assert UDID in info
    assert "iPhone14,5" in info
    listing = cli(sim, tmp_path, "afc", "ls", "/DCIM/100APPLE", "--usbmux", sim.address)
    assert "IMG_0003.MOV" in listing
    recursive = cli(sim, tmp_path, "afc", "ls", "-r", "/DCIM")
    assert "/DCIM/100APPLE/IMG_0001.JPG" in recursive
    apps = cli(sim, tmp_path, "apps", "list", "--type", "User")
    assert "com.example.chat" in apps
    assert "com.apple.mobileslideshow" not in apps


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("ideviceinfo") is None, reason="libimobiledevice not installed")
def test_libimobiledevice_ideviceinfo(sim: Simulator, tmp_path: Path) -> None:
    # libusbmuxd wants "UNIX:" before a socket path; pymobiledevice3 wants the bare path.
    address = sim.address if ":" in sim.address else f"UNIX:{sim.address}"
    env = {**os.environ, "USBMUXD_SOCKET_ADDRESS": address, "HOME": str(tmp_path)}
    done = subprocess.run(
        ["ideviceinfo"], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ProductType: iPhone14,5" in done.stdout
    assert "SerialNumber: F4GXK1ABCD12" in done.stdout  # paired and inside a TLS session


# --- faults -------------------------------------------------------------------------------------


def test_locked_phone_refuses_to_pair(sim: Simulator, tmp_path: Path) -> None:
    sim.faults.locked = True
    with pytest.raises(PasswordRequiredError):
        run(connect(sim, tmp_path))
    sim.unlock()
    lockdown = run(connect(sim, tmp_path))
    assert lockdown.paired
    run(lockdown.close())


def test_locked_phone_refuses_services(sim: Simulator, tmp_path: Path) -> None:
    async def locked_afc() -> None:
        async with await connect(sim, tmp_path) as lockdown:
            sim.faults.locked = True
            async with AfcService(lockdown):
                pass

    with pytest.raises(PasswordRequiredError):
        run(locked_afc())


def test_trust_denied(phone: TinyPhone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Simulator(phone, faults=Faults(trust="deny")) as simulator:
        monkeypatch.setenv("USBMUXD_SOCKET_ADDRESS", simulator.address)
        with pytest.raises(UserDeniedPairingError):
            run(connect(simulator, tmp_path))


def test_trust_pending_then_tapped(sim: Simulator, tmp_path: Path) -> None:
    sim.faults.trust = "pending"
    with pytest.raises(PairingDialogResponsePendingError):
        run(connect(sim, tmp_path, pair_timeout=0))
    tapper = threading.Timer(0.5, sim.tap_trust)
    tapper.start()
    try:
        lockdown = run(connect(sim, tmp_path, pair_timeout=10))
    finally:
        tapper.cancel()
    assert lockdown.paired
    run(lockdown.close())


def test_cable_pull_mid_read_is_an_error_not_a_short_file(sim: Simulator, tmp_path: Path) -> None:
    sim.faults.cut_after_bytes = 1_000_000

    async def read_big() -> None:
        async with await connect(sim, tmp_path) as lockdown, AfcService(lockdown) as afc:
            handle = await afc.fopen(f"{IMG}/IMG_0003.MOV")
            await afc.fread(handle, BIG)

    with pytest.raises(ConnectionTerminatedError):
        run(read_big())
    assert sim.stats.afc_bytes_served == 1_000_000
    assert run(list_devices(sim.address)) == []
    sim.plug()
    assert [device.serial for device in run(list_devices(sim.address))] == [UDID]
    lockdown = run(connect(sim, tmp_path))  # cut_after_bytes fired once; the phone works again
    assert lockdown.paired
    run(lockdown.close())


def test_io_error_and_cloud_only_reads(sim: Simulator, tmp_path: Path) -> None:
    sim.faults.io_error_paths = frozenset({"DCIM/100APPLE/IMG_0001.JPG"})
    sim.faults.cloud_only_paths = frozenset({"DCIM/100APPLE/IMG_0002.HEIC"})

    async def reads() -> list[int]:
        statuses = []
        async with await connect(sim, tmp_path) as lockdown, AfcService(lockdown) as afc:
            for name in ("IMG_0001.JPG", "IMG_0002.HEIC"):
                assert await afc.exists(f"{IMG}/{name}")
                with pytest.raises(AfcException) as failed:
                    await afc.get_file_contents(f"{IMG}/{name}")
                statuses.append(failed.value.status)
        return statuses

    assert run(reads()) == [AfcError.IO_ERROR, AfcError.READ_ERROR]


def test_link_rate_paces_reads(sim: Simulator, phone: TinyPhone, tmp_path: Path) -> None:
    (phone.media_root / "DCIM" / "100APPLE" / "IMG_0004.MOV").write_bytes(bytes(4_000_000))

    async def timed_read() -> float:
        async with await connect(sim, tmp_path) as lockdown, AfcService(lockdown) as afc:
            sim.faults.link_rate = 8e6
            started = time.monotonic()
            data = await afc.get_file_contents(f"{IMG}/IMG_0004.MOV")
            assert len(data) == 4_000_000
            return time.monotonic() - started

    assert run(timed_read()) >= 0.45


# --- usbmuxd ------------------------------------------------------------------------------------


def test_listen_hears_detach_and_attach(sim: Simulator) -> None:
    mux = RawMux(sim.address)
    try:
        tag = mux.send({"MessageType": "Listen"})
        assert mux.receive() == (tag, {"MessageType": "Result", "Number": 0})
        _, attached = mux.receive()
        assert attached["MessageType"] == "Attached"
        assert attached["Properties"]["SerialNumber"] == UDID
        sim.unplug()
        assert mux.receive() == (0, {"MessageType": "Detached", "DeviceID": attached["DeviceID"]})
        sim.plug()
        _, again = mux.receive()
        assert again["MessageType"] == "Attached"
        assert again["Properties"]["SerialNumber"] == UDID
    finally:
        mux.close()


def test_usbmux_requests_and_results(sim: Simulator) -> None:
    mux = RawMux(sim.address)
    try:
        mux.send({"MessageType": "ReadBUID"})
        assert "BUID" in mux.receive()[1]
        mux.send({"MessageType": "ReadPairRecord", "PairRecordID": UDID})
        assert mux.receive()[1] == {"MessageType": "Result", "Number": 2}
        record = {"PairRecordID": UDID, "PairRecordData": b"<plist/>", "DeviceID": 1}
        mux.send({"MessageType": "SavePairRecord", **record})
        assert mux.receive()[1]["Number"] == 0
        mux.send({"MessageType": "ReadPairRecord", "PairRecordID": UDID})
        assert mux.receive()[1] == {"PairRecordData": b"<plist/>"}
        mux.send({"MessageType": "DeletePairRecord", "PairRecordID": UDID})
        assert mux.receive()[1]["Number"] == 0
        mux.send({"MessageType": "Connect", "DeviceID": 99, "PortNumber": 32498})
        assert mux.receive()[1]["Number"] == 2
        mux.send({"MessageType": "Connect", "DeviceID": 1, "PortNumber": socket.htons(1234)})
        assert mux.receive()[1]["Number"] == 3
    finally:
        mux.close()
    binary = RawMux(sim.address)
    try:
        tag = binary.send({"MessageType": "ListDevices"}, version=0, kind=3)
        assert binary.receive() == (tag, (1).to_bytes(4, "little"))
    finally:
        binary.close()


def test_clients_hanging_up_anywhere_do_not_hurt_the_server(sim: Simulator, tmp_path: Path) -> None:
    half = RawMux(sim.address)
    half.sock.sendall(b"\x40\x00\x00")  # a third of a header
    half.close()
    pipe = RawMux(sim.address)
    pipe.send({"MessageType": "Connect", "DeviceID": 1, "PortNumber": socket.htons(62078)})
    assert pipe.receive()[1]["Number"] == 0
    pipe.sock.sendall(b"\x00\x00\x01\x00<?xml")  # a lockdown frame cut short
    pipe.close()

    async def abandon_a_read() -> None:
        async with await connect(sim, tmp_path) as lockdown:
            afc = AfcService(lockdown)
            await afc.__aenter__()
            handle = await afc.fopen(f"{IMG}/IMG_0003.MOV")
            sim.faults.link_rate = 4e6
            reading = asyncio.ensure_future(afc.fread(handle, BIG))
            await asyncio.sleep(0.2)
            reading.cancel()
            await afc.aclose()

    run(abandon_a_read())
    sim.faults.link_rate = None
    assert [device.serial for device in run(list_devices(sim.address))] == [UDID]
    lockdown = run(connect(sim, tmp_path))
    assert lockdown.paired
    run(lockdown.close())


@pytest.mark.parametrize("listen", ["tcp", "unix"])
def test_listens_on_tcp_or_unix_and_leaves_nothing_behind(
    phone: TinyPhone, tmp_path: Path, listen: str
) -> None:
    gc.collect()  # sockets an earlier test left to the collector must not count here
    threads_before = set(threading.enumerate())
    descriptors_before = len(list(Path("/proc/self/fd").iterdir()))
    where = "127.0.0.1:0" if listen == "tcp" else str(tmp_path / "mux.sock")
    simulator = Simulator(phone, listen=where).start()
    if listen == "tcp":
        assert simulator.address.startswith("127.0.0.1:")
        assert not simulator.address.endswith(":0")
    else:
        assert simulator.address == where
    assert [device.serial for device in run(list_devices(simulator.address))] == [UDID]
    listener = RawMux(simulator.address)
    listener.send({"MessageType": "Listen"})
    listener.receive()
    simulator.stop()
    listener.close()
    gc.collect()
    assert set(threading.enumerate()) == threads_before
    assert len(list(Path("/proc/self/fd").iterdir())) <= descriptors_before
    if listen == "unix":
        assert not Path(where).exists()
    with pytest.raises(OSError):
        RawMux(simulator.address, timeout=1)


SERVE = """
import sys
from pathlib import Path
from companion.simulator import Simulator
from tests.simphone import tiny_phone
Simulator(tiny_phone(Path(sys.argv[1])), listen=sys.argv[2]).serve_forever()
"""


@pytest.mark.slow
def test_serve_forever_in_its_own_process_until_sigterm(tmp_path: Path) -> None:
    address = str(tmp_path / "mux.sock")
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(tmp_path / "phone"), address],
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        deadline = time.monotonic() + 20
        while not Path(address).exists():
            assert server.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        assert [device.serial for device in run(list_devices(address))] == [UDID]
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0
        assert not Path(address).exists()
    finally:
        server.kill()
        server.wait()
