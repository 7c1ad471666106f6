"""What an iCloud Photos library holds besides the pictures themselves: the person's albums, the
iCloud Shared Photo Libraries they take part in, and backups narrowed to some albums. Against
the simulated iCloud over HTTPS, through the unmodified pyicloud; nothing of ours is mocked."""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from companion.backup import VaultStore, run_backup
from companion.demo.icloud import back_up_from_icloud
from companion.errors import DeviceError, SourceUnavailable, UsageError
from companion.model import Asset, AssetKind
from companion.simulator.icloud import SimulatedICloud
from companion.simulator.media import MediaItem, generate_camera_roll
from companion.vault import Vault, cloudonly
from tests.icloud_support import Person, camera_roll, connector
from tests.support import PASSPHRASE, cli_env, companion, new_vault
from tests.usb_support import phone_copy, usb

TRIP = ["DCIM/100APPLE/IMG_0001.JPG", "DCIM/100APPLE/IMG_0005.HEIC"]
FAMILY = ["DCIM/100APPLE/IMG_0005.HEIC", "DCIM/100APPLE/IMG_0006.JPG"]


def _shared_roll() -> list[MediaItem]:
    return generate_camera_roll(31, 24, image_size=(160, 120))[:8]


def test_each_file_carries_the_albums_holding_its_picture(tmp_path: Path) -> None:
    albums = {"Trip to Lyon": TRIP, "Famille": FAMILY}
    with SimulatedICloud(camera_roll(), two_factor=False, albums=albums) as icloud:
        found = connector(icloud, tmp_path, Person(icloud.password))
        listed = list(found.list_assets())
        record = {a.path: a.asset_name for a in icloud.assets}
    by_uid = {a.uid: a for a in listed if a.uid}
    assert by_uid[record[TRIP[0]]].albums == ("Trip to Lyon",)
    assert by_uid[record[FAMILY[1]]].albums == ("Famille",)
    both = by_uid[record[TRIP[1]]]
    assert both.albums == ("Famille", "Trip to Lyon")
    movie = next(a for a in listed if a.live_group == both.live_group and a is not both)
    assert movie.albums == both.albums  # the Live Photo's movie is in the albums of its picture
    assert by_uid[record["DCIM/100APPLE/IMG_0002.HEIC"]].albums == ()


def test_a_backup_narrowed_to_albums_walks_only_them(tmp_path: Path) -> None:
    albums = {"Trip to Lyon": TRIP, "Famille": FAMILY}
    with SimulatedICloud(camera_roll(), two_factor=False, albums=albums) as icloud:
        narrowed = connector(icloud, tmp_path, Person(icloud.password), albums=("trip to lyon",))
        listed = list(narrowed.list_assets())
        library_pages = icloud.stats.requests["records/query"]
        record = {a.asset_name: a.path for a in icloud.assets}
        with pytest.raises(UsageError) as refused:
            list(connector(icloud, tmp_path, albums=("Holidays",)).list_assets())
    assert {record[a.uid] for a in listed if a.uid} == set(TRIP)
    assert any(a.live_group for a in listed if a.uid is None)  # the Live Photo's movie too
    # indexing check, album list, two album walks (names), one album walk (pictures): no
    # page of the whole library.
    assert library_pages == 1 + 1 + 2 * 2 + 2
    assert "Holidays" in refused.value.message
    assert "Famille" in (refused.value.hint or "") and "Trip to Lyon" in (refused.value.hint or "")


def test_a_shared_library_is_listed_under_its_own_folder_and_backed_up(tmp_path: Path) -> None:
    with SimulatedICloud(camera_roll(), two_factor=False, shared_library=_shared_roll()) as icloud:
        found = connector(icloud, tmp_path, Person(icloud.password))
        listed = list(found.list_assets())
        shared = {a.asset_name for a in icloud.shared_assets}
        own = {a.asset_name for a in icloud.assets}
        vault = new_vault(tmp_path / "vault")
        report = run_backup(found, VaultStore(vault))
        own_only = list(connector(icloud, tmp_path, shared=False).list_assets())
    from_shared = [a for a in listed if a.path.startswith("Shared Library/")]
    assert {a.uid for a in from_shared if a.uid} == shared
    assert {a.uid for a in listed if a.uid and not a.path.startswith("Shared Library/")} == own
    assert not report.failed
    assert {s.asset.path for s in vault.assets()} >= {a.path for a in from_shared}
    assert {a.uid for a in own_only if a.uid} == own


def test_a_shared_library_picture_is_never_moved_to_recently_deleted(tmp_path: Path) -> None:
    with SimulatedICloud(camera_roll(), two_factor=False, shared_library=_shared_roll()) as icloud:
        found = connector(icloud, tmp_path, Person(icloud.password))
        listed = list(found.list_assets())
        picture = next(a for a in listed if a.uid and a.path.startswith("Shared Library/"))
        with pytest.raises(SourceUnavailable) as refused:
            found.remove([picture], quarantine=None)
        modified = icloud.stats.requests["records/modify"]
        still = {a.asset_name: a.deleted_at for a in icloud.shared_assets}
    assert "Shared Library" in refused.value.message
    assert modified == 0 and still[picture.uid] is None


def test_album_on_the_command_line(tmp_path: Path) -> None:
    state = tmp_path / "state"
    new_vault(tmp_path / "vault").close()
    vault = ("--vault", str(tmp_path / "vault"))
    with SimulatedICloud(camera_roll(), two_factor=False, albums={"Trip to Lyon": TRIP}) as icloud:
        env = cli_env(
            COMPANION_STATE_DIR=str(state),
            COMPANION_ICLOUD_SIMULATOR=json.dumps(icloud.connection_info()),
        )
        list(connector(icloud, state / "icloud", Person(icloud.password)).list_assets())
        done = companion("backup", "--from", "icloud", "--album", "Trip to Lyon", *vault, env=env)
        listed = companion("ls", *vault, "--json", env=env)
        usb = companion("backup", "--from", "usb", "--album", "Trip to Lyon", *vault, env=env)
    assert done.returncode == 0, done.stderr
    names = {entry["original_name"] for entry in json.loads(listed.stdout)}
    assert {"IMG_0001.JPG", "IMG_0005.HEIC", "IMG_0005.MOV"} == names
    assert all(entry["albums"] == ["Trip to Lyon"] for entry in json.loads(listed.stdout))
    assert usb.returncode == 2 and "--from icloud" in usb.stderr


def test_status_matches_a_phones_previews_with_what_icloud_gave(tmp_path: Path) -> None:
    phone = phone_copy(tmp_path, cloud_only=2)
    root = tmp_path / "vault"
    new_vault(root).close()
    with (
        usb(phone, tmp_path) as (_simulator, from_usb),
        Vault.open(root, PASSPHRASE, write=True) as vault,
    ):
        first = run_backup(from_usb, VaultStore(vault))
        again = run_backup(from_usb, VaultStore(vault))  # the previews are noted once
    before = companion("status", "--vault", str(root), "--json", env=cli_env())
    said = companion("status", "--vault", str(root), env=cli_env())
    with Vault.open(root, PASSPHRASE, write=True) as vault:
        step = back_up_from_icloud(vault, phone.media_root, tmp_path / "sessions", lambda _: None)
    after = companion("status", "--vault", str(root), "--json", env=cli_env())
    assert len(first.failed) == len(again.failed) == 2
    (waiting,) = json.loads(before.stdout)["cloud_only"]
    assert waiting["source"] == first.source and waiting["recorded"] == 2
    assert waiting["missing"] == 2 and "companion backup --from icloud" in said.stdout
    assert not step.backup.failed and step.backup.new >= 2
    (found,) = json.loads(after.stdout)["cloud_only"]
    assert found["recorded"] == 2 and found["missing"] == 0
    # the phone's library knows each picture's iCloud identity, the simulated iCloud holds it
    assert found["from_icloud_by_identifier"] == 2


def test_the_demo_with_icloud(tmp_path: Path) -> None:
    done = companion("demo", "--dir", str(tmp_path / "tour"), "--icloud", "--json", timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert "icloud" in report["timings"]
    assert len(report["first_backup"]["failed"]) == 3  # previews only on the simulated iPhone
    (previews,) = report["icloud"]["previews"]
    assert previews["recorded"] == 3 and previews["missing"] == 0
    assert report["icloud"]["backup"]["new"] >= 3 and not report["icloud"]["backup"]["failed"]
    assert not [p for p in (tmp_path / "tour").rglob("*.session") if p.stat().st_mode & 0o077]


def test_an_edited_video_is_backed_up_with_its_render(tmp_path: Path) -> None:
    roll = list(camera_roll())
    video = next(item for item in roll if item.kind == "video" and not item.live_group)
    stem = video.path.rsplit("/", 1)[0] + "/" + video.path.rsplit("/", 1)[1].replace("_", "_E", 1)
    render = dataclasses.replace(
        video, path=stem, data=video.data + b"-trimmed", edited_of=video.path
    )
    with SimulatedICloud([*roll, render], two_factor=False) as icloud:
        found = connector(icloud, tmp_path, Person(icloud.password))
        listed = list(found.list_assets())
        vault = new_vault(tmp_path / "vault")
        report = run_backup(found, VaultStore(vault))
        record = next(a.asset_name for a in icloud.assets if a.path == video.path)
    original = next(a for a in listed if a.uid == record)
    edit = next(a for a in listed if a.edited_of == original.path)
    assert edit.kind.value == "video" and edit.path.endswith(".MOV") and "_E" in edit.path
    assert not report.failed
    stored = next(s for s in vault.assets() if s.asset.path == edit.path)
    assert vault.plaintext(stored) == render.data


def test_an_apple_id_with_security_keys_is_refused_with_a_hint(tmp_path: Path) -> None:
    with SimulatedICloud(camera_roll(), security_keys=["YubiKey 5C"]) as icloud:
        person = Person(icloud.password, [icloud.code])
        found = connector(icloud, tmp_path, person)
        with pytest.raises(DeviceError) as refused:
            found.info()
    assert "security key" in refused.value.message and refused.value.hint
    assert [secret for _question, secret in person.asked] == [True]  # no code was asked


def test_previews_match_by_identifier_else_by_name_and_capture_second(tmp_path: Path) -> None:
    taken = datetime(2024, 5, 1, 12, 30, 15, 400000, tzinfo=timezone(timedelta(hours=2)))
    phone = "usb:00008110-TEST"
    previews = [
        Asset(phone, "DCIM/100APPLE/IMG_0001.HEIC", 10, 0, AssetKind.PHOTO, taken, cloud_id="A1"),
        Asset(phone, "DCIM/100APPLE/IMG_0002.HEIC", 10, 0, AssetKind.PHOTO, taken),  # no identity
        Asset(phone, "DCIM/100APPLE/IMG_0003.HEIC", 10, 0, AssetKind.PHOTO, taken),
    ]
    later = taken.astimezone(UTC) + timedelta(milliseconds=300)  # the same second, in UTC
    cloud = [
        Asset(
            "icloud:x@example.com",
            "2024/05/IMG_0001_A1.HEIC",
            3,
            0,
            AssetKind.PHOTO,
            later,
            uid="A1",
            original_name="IMG_9999.HEIC",
            cloud_id="A1",
        ),
        Asset(
            "icloud:x@example.com",
            "2024/05/IMG_0002_B2.HEIC",
            3,
            0,
            AssetKind.PHOTO,
            later,
            uid="B2",
            original_name="img_0002.heic",
            cloud_id="B2",
        ),
    ]
    with new_vault(tmp_path / "vault") as vault:
        assert cloudonly.note(vault, previews) == 3
        vault.flush()  # as a backup does at its end
        assert cloudonly.note(vault, previews) == 0  # the next run notes none again
        for asset in cloud:
            vault.put(asset, io.BytesIO(b"abc"))
        vault.flush()
        (found,) = cloudonly.summarize(vault, list(vault.assets()))
    assert (found.recorded, found.from_icloud_by_identifier) == (3, 1)
    assert (found.from_icloud_by_name_and_time, found.missing, found.from_source) == (1, 1, 0)
