"""The simulated iPhone's odd answers (``Faults`` and the named faults of ``misbehave``), as the
unmodified pymobiledevice3 client sees them, and ``companion simulator serve --fault``."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

import pytest
from pymobiledevice3.exceptions import ConnectionTerminatedError
from pymobiledevice3.lockdown import LockdownClient, create_using_usbmux
from pymobiledevice3.services.afc import (
    AfcError,
    AfcException,
    AfcFileNotFoundError,
    AfcOpcode,
    AfcService,
    list_to_dict,
)
from pymobiledevice3.usbmux import list_devices

from companion.simulator import Faults, Simulator
from companion.simulator.misbehave import (
    BEFORE_1970_NS,
    NAMED_FAULTS,
    PIB,
    YEAR_30000_NS,
    apply_fault,
)
from tests.simphone import BIG, UDID, TinyPhone, tiny_phone
from tests.support import cli_env, companion

T = TypeVar("T")
TIMEOUT = 20.0
JPG = "DCIM/100APPLE/IMG_0001.JPG"  # 3,003 bytes
HEIC = "DCIM/100APPLE/IMG_0002.HEIC"  # 10,000 bytes
MOV = "DCIM/100APPLE/IMG_0003.MOV"  # BIG bytes, over one 4 MiB READ
CHUNK = 4 * 1024 * 1024


def run(awaitable: Awaitable[T], timeout: float = TIMEOUT) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(awaitable, timeout)

    return asyncio.run(bounded())


@pytest.fixture
def phone(tmp_path: Path) -> TinyPhone:
    return tiny_phone(tmp_path / "phone")


@pytest.fixture
def sim(
    phone: TinyPhone, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Iterator[Simulator]:
    caplog.set_level(logging.INFO, logger="companion.simulator")
    with Simulator(phone) as simulator:
        monkeypatch.setenv("USBMUXD_SOCKET_ADDRESS", simulator.address)
        yield simulator
    # A misbehaving phone is not a broken simulator: no handler failed on its side.
    failed = [
        record
        for record in caplog.records
        if record.name.startswith("companion.simulator") and record.levelno >= logging.ERROR
    ]
    assert not failed, caplog.text


async def connect(sim: Simulator, records: Path) -> LockdownClient:
    return await create_using_usbmux(
        serial=None, usbmux_address=sim.address, pairing_records_cache_folder=records
    )


async def raw_info(afc: AfcService, path: str) -> dict[str, str]:
    """GET_FILE_INFO as the phone sent it, before ``afc.stat`` converts anything."""
    reply = await afc._do_operation(AfcOpcode.GET_FILE_INFO, path.encode() + b"\0", path)
    return list_to_dict(reply)


async def read_to_end(afc: AfcService, path: str) -> bytes:
    """Read READ by READ until the phone sends an empty reply, as a careful host does."""
    handle = await afc.fopen(f"/{path}")
    data = b""
    while chunk := await afc.fread(handle, CHUNK):
        data += chunk
    await afc.fclose(handle)
    return data


# --- listing faults ---------------------------------------------------------------------------


def test_listed_sizes_are_what_the_phone_says_not_what_it_serves(
    sim: Simulator, phone: TinyPhone, tmp_path: Path
) -> None:
    real = {name: (phone.media_root / name).read_bytes() for name in (JPG, HEIC, MOV)}
    sim.faults.listed_sizes = {JPG: -1, HEIC: PIB, MOV: len(real[MOV]) - 1000}

    async def session() -> dict[str, Any]:
        async with await connect(sim, tmp_path) as lockdown, AfcService(lockdown) as afc:
            seen: dict[str, Any] = {name: (await afc.stat(name))["st_size"] for name in real}
            seen["empty"] = await afc.get_file_contents(JPG)  # it reads "-1" bytes: none
            handle = await afc.fopen(HEIC)
            seen["asked"] = await afc.fread(handle, 20_000)  # more than there is: short
            await afc.fclose(handle)
            seen["listed"] = await afc.get_file_contents(MOV)  # stops at the listed size
            seen["all"] = {name: await read_to_end(afc, name) for name in real}
            return seen

    seen = run(session())
    assert [seen[JPG], seen[HEIC], seen[MOV]] == [-1, PIB, BIG - 1000]
    assert seen["empty"] == b""
    assert seen["asked"] == real[HEIC]
    assert seen["listed"] == real[MOV][: BIG - 1000]
    assert seen["all"] == real


def test_listed_mtimes_are_sent_as_they_are(sim: Simulator, tmp_path: Path) -> None:
    sim.faults.listed_mtimes = {JPG: YEAR_30000_NS, HEIC: BEFORE_1970_NS}

    async def session() -> tuple[dict[str, str], dict[str, str], Exception | None, Any]:
        async with await connect(sim, tmp_path) as lockdown, AfcService(lockdown) as afc:
            future, past = await raw_info(afc, JPG), await raw_info(afc, HEIC)
            choked: Exception | None = None
            try:
                await afc.stat(JPG)
            except (ValueError, OverflowError, OSError) as error:
                choked = error
            try:
                before_1970: Any = (await afc.stat(HEIC))["st_mtime"]
            except (ValueError, OverflowError, OSError) as error:  # some platforms refuse it
                before_1970 = error
            return future, past, choked, before_1970

    future, past, choked, before_1970 = run(session())
    assert YEAR_30000_NS > 2**63 and -(2**63) < BEFORE_1970_NS < 0
    assert future["st_mtime"] == future["st_birthtime"] == str(YEAR_30000_NS)
    assert past["st_mtime"] == past["st_birthtime"] == str(BEFORE_1970_NS)
    assert future["st_size"] == "3003"  # only the times are off
    assert isinstance(choked, ValueError)  # datetime.fromtimestamp: year 30000 is out of range
    assert isinstance(before_1970, OSError) or before_1970.year == 1906


def test_ghosts_are_listed_but_not_found(sim: Simulator, phone: TinyPhone, tmp_path: Path) -> None:
    sim.faults.ghost_paths = frozenset(
        {"DCIM/100APPLE/IMG_0000.JPG", "DCIM/100APPLE/IMG_9990.JPG", "Ghost.txt", JPG}
    )

    async def session() -> dict[str, Any]:
        async with await connect(sim, tmp_path) as lockdown, AfcService(lockdown) as afc:
            seen: dict[str, Any] = {
                "folder": await afc.listdir("/DCIM/100APPLE"),
                "root": await afc.listdir("/"),
                "exists": await afc.exists("/DCIM/100APPLE/IMG_9990.JPG"),
                "real": (await afc.stat(HEIC))["st_size"],
            }
            failures = []
            for attempt in (
                afc.stat("/DCIM/100APPLE/IMG_9990.JPG"),
                afc.fopen("/DCIM/100APPLE/IMG_9990.JPG"),
                afc.fopen("/DCIM/100APPLE/IMG_9990.JPG", "w"),  # not even created
                afc.stat("Ghost.txt"),
                afc.stat(JPG),  # a real file that is a ghost too: it went away after listing
                afc.get_file_contents(JPG),
            ):
                with pytest.raises(AfcFileNotFoundError) as missing:
                    await attempt
                failures.append(missing.value.status)
            seen["statuses"] = failures
            with pytest.raises(AfcFileNotFoundError):
                [entry async for entry in afc.walk("/DCIM")]
            return seen

    seen = run(session())
    assert seen["folder"] == [
        "IMG_0000.JPG",
        "IMG_0001.JPG",
        "IMG_0002.HEIC",
        "IMG_0003.MOV",
        "IMG_9990.JPG",
    ]
    assert seen["root"] == ["DCIM", "Ghost.txt", "PhotoData"]
    assert seen["exists"] is False
    assert seen["real"] == 10_000
    assert set(seen["statuses"]) == {AfcError.OBJECT_NOT_FOUND}
    assert not (phone.media_root / "DCIM" / "100APPLE" / "IMG_9990.JPG").exists()


# --- read faults -----------------------------------------------------------------------------


def test_io_error_at_an_offset(sim: Simulator, phone: TinyPhone, tmp_path: Path) -> None:
    real = (phone.media_root / HEIC).read_bytes()
    big = (phone.media_root / MOV).read_bytes()
    sim.faults.io_error_at = {HEIC: 4000, MOV: CHUNK + 500_000}

    async def session() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with await connect(sim, tmp_path) as lockdown, AfcService(lockdown) as afc:
            for round_ in range(2):  # every open of the file fails the same way
                handle = await afc.fopen(HEIC)
                first = await afc.fread(handle, 3000)
                crossing = await afc.fread(handle, 3000)  # stops at the offset
                with pytest.raises(AfcException) as failed:
                    await afc.fread(handle, 3000)
                await afc.fclose(handle)
                seen[round_] = (first, crossing, failed.value.status)
            handle = await afc.fopen(HEIC)
            await afc.fseek(handle, 6000)  # past the offset: still refused
            with pytest.raises(AfcException) as past:
                await afc.fread(handle, 10)
            seen["past"] = past.value.status
            handle = await afc.fopen(MOV)
            seen["big"] = await afc.fread(handle, BIG)  # two READs, the second one short
            with pytest.raises(AfcException) as after:
                await afc.fread(handle, 1)
            seen["after"] = after.value.status
            return seen

    seen = run(session())
    for round_ in range(2):
        assert seen[round_] == (real[:3000], real[3000:4000], AfcError.IO_ERROR)
    assert seen["past"] == AfcError.IO_ERROR
    assert seen["big"] == big[: CHUNK + 500_000]
    assert seen["after"] == AfcError.IO_ERROR
    assert sim.stats.afc_bytes_served == 2 * 4000 + CHUNK + 500_000


def test_link_drops_mid_reply_and_a_new_connection_works(
    sim: Simulator, phone: TinyPhone, tmp_path: Path
) -> None:
    big = (phone.media_root / MOV).read_bytes()
    sim.faults.drop_link_at = {MOV: 3_000_000}

    async def dropped() -> None:
        async with await connect(sim, tmp_path) as lockdown, AfcService(lockdown) as afc:
            handle = await afc.fopen(MOV)
            await afc.fread(handle, BIG)

    async def fresh() -> tuple[bytes, bytes]:
        async with await connect(sim, tmp_path) as lockdown, AfcService(lockdown) as afc:
            small = await afc.get_file_contents(JPG)
            handle = await afc.fopen(MOV)
            await afc.fseek(handle, 3_000_001)  # a read that starts past the offset: no drop
            tail = await afc.fread(handle, BIG)
            return small, tail

    with pytest.raises(ConnectionTerminatedError):
        run(dropped())
    assert sim.stats.afc_bytes_served == 3_000_000  # the bytes before the offset were sent
    assert [device.serial for device in run(list_devices(sim.address))] == [UDID]
    small, tail = run(fresh())
    assert small == (phone.media_root / JPG).read_bytes()
    assert tail == big[3_000_001:]
    with pytest.raises(ConnectionTerminatedError):  # drop_link_times None: every time
        run(dropped())
    assert sim.faults.drop_link_times is None


def test_drop_link_times_counts_down(sim: Simulator, phone: TinyPhone, tmp_path: Path) -> None:
    sim.faults.drop_link_at = {HEIC: 0, MOV: 5000}
    sim.faults.drop_link_times = 2

    async def read(path: str) -> bytes:
        async with await connect(sim, tmp_path) as lockdown, AfcService(lockdown) as afc:
            return await afc.get_file_contents(path)

    with pytest.raises(ConnectionTerminatedError):
        run(read(HEIC))  # the DATA header alone, then the drop
    assert sim.faults.drop_link_times == 1
    with pytest.raises(ConnectionTerminatedError):
        run(read(MOV))
    assert sim.faults.drop_link_times == 0
    assert run(read(MOV)) == (phone.media_root / MOV).read_bytes()
    assert run(read(HEIC)) == (phone.media_root / HEIC).read_bytes()
    assert sim.faults.drop_link_times == 0
    assert sim.stats.afc_bytes_served == 5000 + BIG + 10_000


def test_a_link_drop_and_a_cable_pull_together(sim: Simulator, tmp_path: Path) -> None:
    sim.faults.drop_link_at = {MOV: 3_000_000}
    sim.faults.cut_after_bytes = 1_000_000  # the cable goes first

    async def read() -> bytes:
        async with await connect(sim, tmp_path) as lockdown, AfcService(lockdown) as afc:
            return await afc.get_file_contents(MOV)

    with pytest.raises(ConnectionTerminatedError):
        run(read())
    assert sim.stats.afc_bytes_served == 1_000_000
    assert run(list_devices(sim.address)) == []
    sim.plug()
    with pytest.raises(ConnectionTerminatedError):
        run(read())
    assert sim.stats.afc_bytes_served == 4_000_000


# --- named faults ----------------------------------------------------------------------------


@pytest.fixture
def roomy(phone: TinyPhone) -> TinyPhone:
    """The tiny phone with enough files for every named fault at once (and a small one)."""
    folder = phone.media_root / "DCIM" / "101APPLE"
    folder.mkdir()
    for number in range(4, 13):
        (folder / f"IMG_{number:04d}.JPG").write_bytes(bytes(1000 * number))
    (folder / "IMG_0001.AAE").write_bytes(b"<plist/>")
    return phone


def test_apply_fault_picks_distinct_files(roomy: TinyPhone) -> None:
    names = [name for name in NAMED_FAULTS if name != "drop-link"]  # it excludes drop-link-once
    faults = Faults(cloud_only_paths=frozenset({"DCIM/101APPLE/IMG_0005.JPG"}))
    chosen = {name: apply_fault(faults, name, roomy.media_root, None) for name in names}
    again = Faults(cloud_only_paths=faults.cloud_only_paths)
    assert chosen == {name: apply_fault(again, name, roomy.media_root) for name in names}

    assert chosen["ghost"] == "DCIM/100APPLE/IMG_9990.JPG"
    files = [path for name, path in chosen.items() if name != "ghost"]
    assert len(set(files)) == len(files)
    assert "DCIM/101APPLE/IMG_0005.JPG" not in files  # held by another fault already
    sizes = {path: (roomy.media_root / path).stat().st_size for path in files}
    mid = ("long-content", "io-error-mid", "drop-link-once")
    assert all(sizes[chosen[name]] > 4096 for name in mid)
    assert faults.io_error_at == {chosen["io-error-mid"]: sizes[chosen["io-error-mid"]] // 2}
    assert faults.listed_sizes == {
        chosen["negative-size"]: -1,
        chosen["huge-size"]: PIB,
        chosen["short-content"]: sizes[chosen["short-content"]] + 1000,
        chosen["long-content"]: sizes[chosen["long-content"]] - 1000,
    }
    assert faults.listed_mtimes == {
        chosen["future-time"]: YEAR_30000_NS,
        chosen["past-time"]: BEFORE_1970_NS,
    }
    assert faults.ghost_paths == {chosen["ghost"]}
    assert faults.io_error_paths == {chosen["io-error"]}
    drop = chosen["drop-link-once"]
    assert faults.drop_link_at == {drop: sizes[drop] // 2}
    assert faults.drop_link_times == 1
    with pytest.raises(ValueError, match="together"):  # they share drop_link_times
        apply_fault(faults, "drop-link", roomy.media_root)


def test_apply_fault_refuses_bad_names_and_paths(roomy: TinyPhone, tmp_path: Path) -> None:
    root = roomy.media_root
    (root / "DCIM" / "outside.JPG").symlink_to(tmp_path)
    faults = Faults()
    for name, path in [
        ("nonsense", None),
        ("huge-size", "DCIM/100APPLE/IMG_0404.JPG"),  # no such file
        ("huge-size", "DCIM/100APPLE"),  # a folder
        ("io-error", "../phone/Media/DCIM/100APPLE/IMG_0001.JPG"),
        ("io-error-mid", "DCIM/outside.JPG"),
        ("ghost", JPG),  # a real file is no ghost
        ("ghost", "DCIM/999APPLE/IMG_0001.JPG"),  # no such folder
        ("ghost", "/"),
    ]:
        with pytest.raises(ValueError, match=r"fault|media root|ghost|exists"):
            apply_fault(faults, name, root, path)
    assert faults == Faults()
    assert apply_fault(faults, "huge-size", root, "/DCIM/100APPLE/./IMG_0002.HEIC") == HEIC
    assert apply_fault(faults, "ghost", root, "DCIM/IMG_7777.JPG") == "DCIM/IMG_7777.JPG"
    assert apply_fault(faults, "drop-link", root, MOV) == MOV
    assert apply_fault(faults, "drop-link", root) == "DCIM/101APPLE/IMG_0005.JPG"  # over 4 KB
    assert faults.drop_link_times is None
    with pytest.raises(ValueError, match="drop-link"):
        apply_fault(faults, "drop-link-once", root)
    crowded = Faults()
    for _ in range(13):  # the 13 files under DCIM
        apply_fault(crowded, "io-error", root)
    with pytest.raises(ValueError, match="no file left"):
        apply_fault(crowded, "io-error", root)


def _read_as_a_host(afc: AfcService, path: str) -> Awaitable[tuple[Any, ...]]:
    """stat, then READ until empty: (listed size, bytes read, error type or None)."""

    async def read() -> tuple[Any, ...]:
        try:
            listed = (await afc.stat(path))["st_size"]
        except Exception as error:
            return None, 0, type(error).__name__
        try:
            return listed, len(await read_to_end(afc, path)), None
        except Exception as error:
            return listed, None, type(error).__name__

    return read()


@pytest.mark.parametrize(
    ("name", "listed", "got", "error"),
    [
        pytest.param("negative-size", -1, BIG, None, id="negative-size"),
        pytest.param("huge-size", PIB, BIG, None, id="huge-size"),
        pytest.param("future-time", None, 0, "ValueError", id="future-time"),
        pytest.param("past-time", BIG, BIG, None, id="past-time"),
        pytest.param("ghost", None, 0, "AfcFileNotFoundError", id="ghost"),
        pytest.param("short-content", BIG + 1000, BIG, None, id="short-content"),
        pytest.param("long-content", BIG - 1000, BIG, None, id="long-content"),
        pytest.param("io-error-mid", BIG, None, "AfcException", id="io-error-mid"),
        pytest.param("drop-link", BIG, None, "ConnectionTerminatedError", id="drop-link"),
        pytest.param("drop-link-once", BIG, None, "ConnectionTerminatedError", id="drop-link-once"),
        pytest.param("io-error", BIG, None, "AfcException", id="io-error"),
    ],
)
def test_each_named_fault_as_a_host_sees_it(
    sim: Simulator, phone: TinyPhone, tmp_path: Path, name: str, listed: Any, got: Any, error: Any
) -> None:
    path = apply_fault(sim.faults, name, phone.media_root, None if name == "ghost" else MOV)

    async def session() -> tuple[Any, ...]:
        async with await connect(sim, tmp_path) as lockdown, AfcService(lockdown) as afc:
            return await _read_as_a_host(afc, path)

    assert run(session()) == (listed, got, error)
    if name == "drop-link-once":
        assert run(session()) == (BIG, BIG, None)  # the second time it goes through


# --- the command line -------------------------------------------------------------------------


def _collect(stream: IO[str], lines: list[str]) -> None:
    for line in stream:
        lines.append(line.strip())


def _wait_for_faults(child: subprocess.Popen[str], lines: list[str], wanted: int) -> None:
    deadline = time.monotonic() + 60
    while sum(line.startswith("fault ") for line in list(lines)) < wanted:
        assert time.monotonic() < deadline and child.poll() is None, lines
        time.sleep(0.05)


@pytest.mark.slow
def test_simulator_serve_with_faults(tmp_path: Path) -> None:
    env = cli_env(HOME=str(tmp_path / "home"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    phone_dir = tmp_path / "phone"
    args = ["--listen", str(tmp_path / "usbmuxd.sock"), "--phone-dir", str(phone_dir)]
    faults = ["--fault", "huge-size", "--fault", "ghost"]
    child = subprocess.Popen(
        [sys.executable, "-m", "companion", "simulator", "serve", *args, *faults],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None and child.stderr is not None
    lines: list[str] = []
    reader = threading.Thread(target=_collect, args=(child.stderr, lines), daemon=True)
    reader.start()
    try:
        assert child.stdout.readline().startswith("USBMUXD_SOCKET_ADDRESS="), lines
        _wait_for_faults(child, lines, 2)
    finally:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        reader.join(timeout=5)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == 0, lines
    assert [line for line in lines if line.startswith("fault ")] == [
        "fault huge-size on DCIM/100APPLE/IMG_0001.JPG",
        "fault ghost on DCIM/100APPLE/IMG_9990.JPG",
    ]
    bad_path = ["--fault", "io-error:DCIM/100APPLE/IMG_9999.JPG"]
    refused = companion("simulator", "serve", *args, *bad_path, env=env)
    assert refused.returncode == 2, refused.stderr
    assert "IMG_9999.JPG" in refused.stderr and "hint:" in refused.stderr


@pytest.mark.slow
def test_simulator_serve_refuses_an_unknown_fault(tmp_path: Path) -> None:
    env = cli_env(HOME=str(tmp_path / "home"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    args = ["--phone-dir", str(tmp_path / "phone"), "--fault", "nonsense"]
    result = companion("simulator", "serve", *args, env=env)
    assert result.returncode == 2, result.stderr
    assert "nonsense" in result.stderr and "huge-size" in result.stderr
    assert not (tmp_path / "phone").exists()  # refused before a phone was made
    helped = companion("simulator", "serve", "--help", env=env)
    for name, fault in NAMED_FAULTS.items():
        assert name in helped.stdout and fault.description in helped.stdout
