"""The USB connector against the simulated iPhone: the shared contract, the Photos library, and
every fault a real phone and cable can produce. Nothing of ours is mocked: the connector talks
usbmuxd, lockdown (with TLS) and AFC through the unmodified pymobiledevice3."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from companion.backup import VaultStore, run_backup
from companion.connectors.usb import UsbOptions
from companion.connectors.usb.connector import UsbConnector
from companion.connectors.usb.devices import list_devices
from companion.connectors.usb.iphone import choose_device
from companion.connectors.usb.session import AFC_CHUNK, READ_AHEAD_BUDGET
from companion.errors import (
    DeviceDisconnected,
    DeviceLocked,
    DeviceNotFound,
    SourceUnavailable,
    TrustDenied,
    TrustTimeout,
    UsageError,
)
from companion.model import AssetKind
from companion.simulator import Faults, Simulator
from companion.simulator.quicktime import make_quicktime
from companion.vault.restore import restore
from companion.vault.verify import VerifyMode, verify
from tests.connector_contract import ConnectorContract, Source
from tests.support import cli_env, companion, digests, new_vault
from tests.usb_support import IOS_VERSIONS, media_files, phone_copy, usb

BIG = "DCIM/100APPLE/IMG_0990.MOV"  # larger than two AFC reads, not in the library


class TestUsbContract(ConnectorContract):
    ios: str | None = None  # the default release

    @pytest.fixture(autouse=True)
    def _close(self) -> object:
        yield
        self.simulator.stop()
        self.connector.close()

    def make_connector(self, tmp_path: Path) -> Source:
        phone = phone_copy(tmp_path, ios=self.ios)
        self.root = phone.media_root
        (self.root / BIG).write_bytes(bytes(range(256)) * (36 * 1024 + 5))
        self.simulator = Simulator(phone).start()
        from companion.connectors import ConnectOptions

        options = ConnectOptions(
            include_trashed=True,  # then every file of the phone is listed
            per_connector=(
                UsbOptions(
                    usbmux_address=self.simulator.address, pair_records=tmp_path / "pairing"
                ),
            ),
        )
        self.connector = UsbConnector(None, options)
        return self.connector, media_files(self.root)

    def rewrite(self, path: str, data: bytes) -> None:
        (self.root / path).write_bytes(data)

    def remove(self, path: str) -> None:
        (self.root / path).unlink()


class TestUsbContractIos16(TestUsbContract):
    ios = "16.7.8"


class TestUsbContractIos176(TestUsbContract):
    ios = "17.6.1"  # another album entity than 17.0-17.5


class TestUsbContractIos18(TestUsbContract):
    ios = "18.1"  # edits in ZADJUSTMENTSSTATE, stable hashes


def test_listing_follows_the_photos_library(tmp_path: Path) -> None:
    phone = phone_copy(tmp_path)
    with usb(phone, tmp_path) as (_, connector):
        roll = connector.roll()
    assets = {a.path: a for a in roll.assets}
    assert roll.trashed >= 1  # Recently Deleted is skipped by default...
    assert len(assets) < len(media_files(phone.media_root))  # ...so fewer files than the phone
    lives = [a for a in assets.values() if a.live_group]
    assert lives and all(sum(b.live_group == a.live_group for b in lives) == 2 for a in lives), (
        "each Live Photo is a photo and a video"
    )
    assert any(a.kind is AssetKind.VIDEO and a.live_group for a in lives)
    edits = [a for a in assets.values() if a.edited_of]
    assert edits and all(e.path.startswith("PhotoData/Mutations/") for e in edits)
    assert all(e.edited_of in assets for e in edits)
    assert any(a.hidden for a in assets.values())
    assert any(a.favourite for a in assets.values())
    assert any(a.albums for a in assets.values())
    assert any(a.screenshot for a in assets.values())
    primaries = [a for a in assets.values() if not a.path.startswith("PhotoData/Mut") and a.uid]
    icloud = [a for a in primaries if a.path.startswith("PhotoData/CPLAssets/group")]
    assert icloud, "photos kept by iCloud Photos are backed up like the camera's"
    assert any(e.edited_of in {a.path for a in icloud} for e in edits)
    # Every photo and video has its row, including the newest, whose rows are only in the WAL.
    assert len(primaries) == phone.assets - roll.trashed
    assert all(a.captured_at is not None and a.captured_at.tzinfo for a in primaries)


def test_device_facts_and_installed_apps(tmp_path: Path) -> None:
    phone = phone_copy(tmp_path)
    with usb(phone, tmp_path) as (simulator, connector):
        info = connector.info()
        apps = {a.bundle_id: a for a in connector.list_apps()}
        everything = connector.list_apps(include_system=True)
        devices = list_devices(connector._usb)
    assert info.identifier == simulator.udid == phone.device["UniqueDeviceID"]
    assert info.os_version == phone.device["ProductVersion"]
    assert info.name == phone.device["DeviceName"]
    assert info.product_type == phone.device["ProductType"] == "iPhone15,2"
    assert info.model == "iPhone 14 Pro"  # the name people know, not the identifier
    assert apps["com.facebook.Facebook"].photo_usage
    assert any(a.photo_add_usage and not a.photo_usage for a in apps.values())
    assert any(not a.photo_usage and not a.photo_add_usage for a in apps.values())
    assert not any(a.system for a in apps.values())
    assert any(a.system for a in everything)
    assert [d.identifier for d in devices] == [simulator.udid]
    assert devices[0].trusted is True


@pytest.mark.slow
@pytest.mark.parametrize("ios", IOS_VERSIONS)
def test_backup_over_usb_restores_byte_identical_and_reruns_read_nothing(
    tmp_path: Path, ios: str
) -> None:
    phone = phone_copy(tmp_path, ios=ios)
    with usb(phone, tmp_path) as (simulator, connector), new_vault(tmp_path / "vault") as vault:
        listed = len(list(connector.list_assets()))
        first = run_backup(connector, VaultStore(vault))
        served = simulator.stats.afc_bytes_served
        second = run_backup(connector, VaultStore(vault))
        library = sum(
            (phone.media_root / "PhotoData" / name).stat().st_size
            for name in ("Photos.sqlite", "Photos.sqlite-wal")
        )
        # The re-run read the library again, and not one photo.
        assert simulator.stats.afc_bytes_served - served <= library
        restore(vault, tmp_path / "restored")
    assert not first.failed and first.new + first.deduplicated == listed
    assert second.new == 0 and second.skipped == listed
    restored = digests(tmp_path / "restored")
    originals = digests(phone.media_root)
    assert restored and all(originals[p] == d for p, d in restored.items())


def test_locked_phone_is_a_clear_error_then_works_once_unlocked(tmp_path: Path) -> None:
    phone = phone_copy(tmp_path)
    with usb(phone, tmp_path, Faults(locked=True)) as (simulator, connector):
        with pytest.raises(DeviceLocked) as caught:
            connector.info()
        assert caught.value.exit_code == 10 and "Unlock" in caught.value.hint
        simulator.unlock()
        connector.close()
        with UsbConnector(None, connector._options) as again:
            assert again.info().identifier == simulator.udid


@pytest.mark.slow
def test_trust_denied_and_trust_never_tapped(tmp_path: Path) -> None:
    phone = phone_copy(tmp_path)
    with usb(phone, tmp_path, Faults(trust="deny")) as (_, connector), pytest.raises(TrustDenied):
        connector.info()
    heard: list[str] = []
    with usb(phone, tmp_path / "b", Faults(trust="pending"), notify=heard.append) as (_, slow):
        slow._usb = dataclasses.replace(slow._usb, trust_timeout=1.5)
        with pytest.raises(TrustTimeout):
            slow.info()
    assert any("tap Trust" in line for line in heard)


@pytest.mark.slow
def test_trust_tapped_while_waiting(tmp_path: Path) -> None:
    phone = phone_copy(tmp_path)
    heard: list[str] = []
    with usb(phone, tmp_path, Faults(trust="pending"), notify=heard.append) as (sim, connector):
        tapper = threading.Timer(1.0, sim.tap_trust)
        tapper.start()
        try:
            assert connector.info().identifier == sim.udid
        finally:
            tapper.cancel()
    assert any("tap Trust" in line for line in heard)


def test_no_phone_and_no_usbmuxd_are_device_not_found(tmp_path: Path) -> None:
    phone = phone_copy(tmp_path)
    with usb(phone, tmp_path) as (simulator, connector):
        simulator.unplug()
        with pytest.raises(DeviceNotFound, match="no iPhone"):
            connector.info()
    from companion.connectors import ConnectOptions

    nowhere = ConnectOptions(per_connector=(UsbOptions(str(tmp_path / "no-such-socket")),))
    with pytest.raises(DeviceNotFound, match="usbmuxd") as caught:
        UsbConnector(None, nowhere).info()
    assert "usbmuxd" in caught.value.hint


@pytest.mark.slow
def test_cable_pulled_mid_file_records_nothing_partial_and_the_rerun_completes(
    tmp_path: Path,
) -> None:
    phone = phone_copy(tmp_path)
    (phone.media_root / BIG).write_bytes(bytes(range(251)) * 40_000)  # ~10 MB: cut inside it
    faults = Faults(cut_after_bytes=2_000_000 + 7 * 1024 * 1024 // 2)
    with usb(phone, tmp_path, faults) as (simulator, connector), new_vault(tmp_path / "v") as vault:
        with pytest.raises(DeviceDisconnected) as caught:
            run_backup(connector, VaultStore(vault))
        assert caught.value.exit_code == 10 and "resumes" in caught.value.hint
        vault.flush()
        kept = len(list(vault.assets()))
        assert kept > 0, "files finished before the cut are kept"
        assert not verify(vault, VerifyMode.FULL).damaged
        simulator.faults.cut_after_bytes = None
        simulator.plug()
        report = run_backup(connector, VaultStore(vault))  # the same connector reconnects
        assert not report.failed and report.new > 0
        assert report.skipped >= kept
        restore(vault, tmp_path / "restored")
    restored = digests(tmp_path / "restored")
    originals = digests(phone.media_root)
    assert BIG in restored and all(originals[p] == d for p, d in restored.items())


def test_an_unreadable_file_fails_alone(tmp_path: Path) -> None:
    phone = phone_copy(tmp_path)
    victim = sorted(p for p in media_files(phone.media_root) if p.endswith(".JPG"))[0]
    faults = Faults(io_error_paths=frozenset({victim}))
    with usb(phone, tmp_path, faults) as (_, connector), new_vault(tmp_path / "v") as vault:
        report = run_backup(connector, VaultStore(vault))
    assert list(report.failed) == [victim]
    assert report.new > 0


@pytest.mark.slow
def test_cloud_only_photos_are_named_not_stored_empty(tmp_path: Path) -> None:
    phone = phone_copy(tmp_path, cloud_only=2)
    assert len(phone.cloud_only) == 2
    # Optimize iPhone Storage left thumbnails only: the library alone says what is missing.
    assert not any((phone.media_root / path).exists() for path in phone.cloud_only)
    with usb(phone, tmp_path) as (_, connector), new_vault(tmp_path / "v") as vault:
        report = run_backup(connector, VaultStore(vault))
        with pytest.raises(SourceUnavailable, match="only in iCloud"):
            connector.open(next(a for a in connector.list_assets() if a.path in phone.cloud_only))
    assert set(report.failed) == set(phone.cloud_only)
    assert all("only in iCloud" in reason for reason in report.failed.values())


def test_an_unreadable_library_falls_back_to_dcim_and_says_so(tmp_path: Path) -> None:
    phone = phone_copy(tmp_path)
    for name in ("Photos.sqlite", "Photos.sqlite-wal"):
        path = phone.media_root / "PhotoData" / name
        path.write_bytes(b"\x00garbage" * 512)
    heard: list[str] = []
    with usb(phone, tmp_path, notify=heard.append) as (_, connector):
        assets = list(connector.list_assets())
        note = connector.library_note
    originals = [p for p in media_files(phone.media_root) if not p.startswith("PhotoData/Mut")]
    assert sorted(a.path for a in assets) == sorted(originals)
    assert note and heard == [note] and "DCIM" in note


def test_choosing_among_connected_phones() -> None:
    one = [("00008120-000A", "USB"), ("00008120-000A", "Network")]  # one phone, two links
    assert choose_device(one, None) == "00008120-000A"
    assert choose_device(one, "00008120000A") == "00008120-000A"  # dashes do not matter
    with pytest.raises(DeviceNotFound, match="no iPhone is connected"):
        choose_device([], None)
    with pytest.raises(DeviceNotFound, match="00008120-000B"):
        choose_device(one, "00008120-000B")
    two = [*one, ("00008030-0001", "USB")]
    with pytest.raises(UsageError, match="2 iPhones") as caught:
        choose_device(two, None)  # never guess which phone to copy
    assert "usb:UDID" in caught.value.hint and "00008030-0001" in caught.value.hint


def test_probe_reads_capture_times_from_headers_when_the_library_is_gone(tmp_path: Path) -> None:
    phone = phone_copy(tmp_path)
    for name in ("Photos.sqlite", "Photos.sqlite-wal"):
        (phone.media_root / "PhotoData" / name).unlink()
    when = datetime(2024, 5, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    (phone.media_root / BIG).write_bytes(make_quicktime(when, bytes(12 * 1024 * 1024)))
    with usb(phone, tmp_path) as (simulator, connector):
        assets = list(connector.list_assets())
        probed = [connector.probe(a) for a in assets]
        served = simulator.stats.afc_bytes_served
        movie = connector.probe(next(a for a in assets if a.path == BIG))
        movie_bytes = simulator.stats.afc_bytes_served - served
    assert all(a.captured_at is None for a in assets)
    media = [p for p in probed if p.kind in (AssetKind.PHOTO, AssetKind.VIDEO)]
    assert media and all(p.captured_at and p.captured_at.tzinfo for p in media)
    assert any(p.screenshot for p in probed)
    assert movie.captured_at == when
    assert movie_bytes < 512 * 1024  # the movie's boxes, not its 12 MB of frames


@pytest.mark.slow
def test_read_ahead_stays_within_its_budget_and_survives_any_order(tmp_path: Path) -> None:
    phone = phone_copy(tmp_path)
    big = [f"DCIM/100APPLE/IMG_09{i}0.MOV" for i in range(3)]
    for i, path in enumerate(big):
        (phone.media_root / path).write_bytes(bytes([i]) * (9 * 1024 * 1024 + i))
    files = media_files(phone.media_root)
    with usb(phone, tmp_path) as (simulator, connector):
        assets = {a.path: a for a in connector.list_assets()}
        order = [assets[p] for p in big] + [a for p, a in assets.items() if p not in big]
        before = simulator.stats.afc_bytes_served
        connector.read_ahead(order)
        time.sleep(0.5)  # let it fill its budget, no more
        assert simulator.stats.afc_bytes_served - before <= READ_AHEAD_BUDGET + AFC_CHUNK
        # Out of order: the second big file first (the first is dropped), then the first
        # (no longer ahead: read on its own), then one stream closed half-way, then the rest.
        for path in (big[1], big[0]):
            with connector.open(assets[path]) as stream:
                assert stream.read() == files[path]
        with connector.open(assets[big[2]]) as stream:
            assert stream.read(1000) == files[big[2]][:1000]
        for asset in order[3:]:
            with connector.open(asset) as stream:
                assert stream.read() == files[asset.path], asset.path


def test_devices_tells_untrusted_trusted_and_locked_apart(tmp_path: Path) -> None:
    phone = phone_copy(tmp_path)
    with usb(phone, tmp_path) as (simulator, connector):
        options = connector._usb

        def shown() -> tuple[str, dict[str, object]]:
            """`companion devices` as a person and a script see it: its line and its JSON."""
            args = ("devices", "--usbmux", simulator.address)
            env = cli_env(HOME=str(tmp_path / "home"))  # pair records found through usbmuxd
            text, data = companion(*args, env=env), companion(*args, "--json", env=env)
            assert text.returncode == data.returncode == 0, text.stderr + data.stderr
            [device] = json.loads(data.stdout)
            return text.stdout.strip(), device

        [before] = list_devices(options)  # never paired: only what a phone tells anyone
        assert before.trusted is False and before.os_version == phone.device["ProductVersion"]
        assert before.locked is False
        line, device = shown()
        assert line.endswith("(does not trust this computer yet)")
        assert (device["trusted"], device["locked"]) == (False, False)
        simulator.faults.locked = True  # it says so to anyone, trusted or not
        [untrusted] = list_devices(options)
        assert (untrusted.trusted, untrusted.locked) == (False, True)
        line, device = shown()
        assert line.endswith(
            "(does not trust this computer yet; locked: unlock it to answer Trust)"
        )
        assert (device["trusted"], device["locked"]) == (False, True)
        simulator.faults.locked = False
        connector.info()  # pairs
        [paired] = list_devices(options)
        assert paired.trusted is True and paired.name == phone.device["DeviceName"]
        assert paired.locked is False
        line, device = shown()
        assert line.endswith("(trusts this computer)") and phone.device["DeviceName"] in line
        assert (device["trusted"], device["locked"]) == (True, False)
        simulator.faults.locked = True  # it refuses a session: trusted, and locked
        [locked] = list_devices(options)
        assert locked.locked is True and locked.identifier == simulator.udid
        assert locked.trusted is True
        line, device = shown()
        assert line.endswith("(trusts this computer; locked: unlock it to back it up)")
        assert (device["trusted"], device["locked"]) == (True, True)


@pytest.mark.slow
@pytest.mark.parametrize("cut", [30_000, 300_000, 900_000])
def test_cable_pulled_while_headers_are_probed_stops_the_run(tmp_path: Path, cut: int) -> None:
    phone = phone_copy(tmp_path)
    for name in ("Photos.sqlite", "Photos.sqlite-wal"):  # so every file's header is probed
        (phone.media_root / "PhotoData" / name).unlink()
    with (
        usb(phone, tmp_path, Faults(cut_after_bytes=cut)) as (_, connector),
        new_vault(tmp_path / "v") as vault,
        pytest.raises(DeviceDisconnected),  # not a per-file failure, nor "no iPhone" later
    ):
        run_backup(connector, VaultStore(vault))


@pytest.mark.slow
def test_hostile_names_from_the_phone_never_escape_on_restore(tmp_path: Path) -> None:
    phone = phone_copy(tmp_path)
    folder = phone.media_root / "DCIM" / "100APPLE"
    odd = ["new\nline.JPG", "tab\there.JPG", "back\\slash.JPG", " lead.JPG", "é\u0301.JPG"]
    for i, name in enumerate(odd):
        (folder / name).write_bytes(b"odd photo %d" % i)
    (phone.media_root / "DCIM" / ".hidden").mkdir()
    (phone.media_root / "DCIM" / ".hidden" / "x.JPG").write_bytes(b"hidden")
    with usb(phone, tmp_path) as (_, connector), new_vault(tmp_path / "v") as vault:
        paths = {a.path for a in connector.list_assets()}
        report = run_backup(connector, VaultStore(vault))
        restore(vault, tmp_path / "restored")
    assert not report.failed
    assert "DCIM/100APPLE/back\\slash.JPG" not in paths  # a separator in a name: skipped
    assert not any(".hidden" in p for p in paths)
    assert {"DCIM/100APPLE/new\nline.JPG", "DCIM/100APPLE/tab\there.JPG"} <= paths
    restored = [p for p in (tmp_path / "restored").rglob("*") if p.is_file()]
    assert all(p.resolve().is_relative_to((tmp_path / "restored").resolve()) for p in restored)
    contents = {p.read_bytes() for p in restored}
    assert {b"odd photo 0", b"odd photo 1", b"odd photo 3", b"odd photo 4"} <= contents
