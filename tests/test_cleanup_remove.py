"""The cleanup's executors against real folders, real vaults and the simulated iPhone.

Plans are built here by hand from ``plan.assess`` (the one readiness rule), so these tests hold
the executors to their promise whatever way a plan is made: every group is assessed again just
before it is acted on, and a group that is not ready is refused and left whole on its source.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest

from companion.backup import VaultStore, run_backup
from companion.cleanup.confirm import check
from companion.cleanup.plan import Decision, Group, Plan, Readiness, assess
from companion.cleanup.remove import (
    DELETED,
    IN_PHOTOS,
    QUARANTINED,
    DeleteExecutor,
    DryRunExecutor,
    Executor,
    InPhotosExecutor,
    QuarantineExecutor,
    executor_for,
)
from companion.cleanup.report import CleanupReport
from companion.connectors import Connector, RemovalState
from companion.connectors.folder import FolderConnector
from companion.connectors.usb.connector import UsbConnector
from companion.connectors.usb.photosdb import PhotoRecord, read_library
from companion.connectors.usb.removals import judge
from companion.errors import DeviceDisconnected, ExitCode, UnsafeDelete, UsageError
from companion.model import Asset, AssetKind, DetectorRun, EventKind, Finding, ScanRecord
from companion.simulator.photos_app import delete_in_photos, perform, purge
from companion.vault import Vault
from companion.vault.verify import VerifyMode, verify
from tests.support import PASSPHRASE, cli_env, digests, make_roll, new_vault, tree
from tests.usb_support import phone_copy, usb

LIVE = ("DCIM/100APPLE/IMG_0005.HEIC", "DCIM/100APPLE/IMG_0005.MOV")
EDITED = ("DCIM/100APPLE/IMG_0007.JPG", "DCIM/100APPLE/IMG_E0007.JPG", "DCIM/100APPLE/IMG_0007.AAE")
SINGLE = ("DCIM/100APPLE/IMG_0006.JPG",)
FINDING = Finding("card", "test", 1.0, "a payment card")


def backed_up(vault: Vault, connector: Connector, *, verified: bool = True) -> dict[str, Asset]:
    """Back ``connector`` up into ``vault`` (and check every object in full): its listing."""
    run_backup(connector, VaultStore(vault))
    if verified:
        verify(vault, VerifyMode.FULL)
        vault.flush()
    return {a.path: a for a in connector.list_assets()}


def group(vault: Vault, listed: dict[str, Asset], paths: Sequence[str]) -> Group:
    """A plan's group made by hand: the files at ``paths``, primary first, each assessed."""
    members = tuple(assess(vault, listed[path]) for path in paths)
    return Group(vault.asset_id(listed[paths[0]]), listed[paths[0]], members, (FINDING,))


def plan(source: str, *groups: Group) -> Plan:
    return Plan(source, datetime.now(UTC), groups)


def run(
    executor: Executor,
    vault: Vault,
    connector: Connector,
    groups: Sequence[Group],
    chosen: Sequence[Group],
) -> CleanupReport:
    """Execute the plan of ``groups`` with ``chosen`` picked, listing the source afresh."""
    decision = Decision(frozenset(g.key for g in chosen))
    return executor.execute(
        vault, plan(connector.source, *groups), decision, connector, connector.list_assets
    )


def events(vault: Vault, source: str) -> list[tuple[EventKind, str | None, str | None]]:
    return [(e.kind, e.asset_id, e.detail) for e in vault.removal_events(source)]


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[tuple[Vault, FolderConnector, dict[str, Asset]]]:
    """A camera import backed up and fully verified: the vault, the folder, its listing."""
    connector = FolderConnector(str(make_roll(tmp_path / "roll")))
    with new_vault(tmp_path / "vault") as vault:
        yield vault, connector, backed_up(vault, connector)


Folder = tuple[Vault, FolderConnector, dict[str, Asset]]


def test_quarantine_moves_every_file_of_the_chosen_groups_only(
    folder: Folder, tmp_path: Path
) -> None:
    vault, connector, listed = folder
    root, quarantine = tmp_path / "roll", tmp_path / "quarantine"
    before = digests(root)
    live, edited, single = (group(vault, listed, p) for p in (LIVE, EDITED, SINGLE))
    assert live.ready and edited.ready and single.ready
    report = run(
        QuarantineExecutor(quarantine), vault, connector, [live, edited, single], [live, edited]
    )

    moved = set(LIVE + EDITED)
    assert digests(quarantine) == {path: before[path] for path in moved}
    assert digests(root) == {path: d for path, d in before.items() if path not in moved}
    assert [r.name for r in report.removed] == ["IMG_0005.HEIC", "IMG_0007.JPG"]
    assert report.removed[0].detail == f"{QUARANTINED}: {quarantine / LIVE[0]}"
    assert report.freed_bytes == live.size + edited.size
    assert not report.refused and not report.still_present and report.error() is None
    kinds = [kind for kind, _asset, _detail in events(vault, connector.source)]
    assert (
        kinds
        == [EventKind.REMOVAL_PLANNED] * 2
        + [EventKind.REMOVED] * 2
        + [EventKind.REMOVAL_PLANNED] * 3
        + [EventKind.REMOVED] * 3
    )
    assert {asset for _k, asset, _d in events(vault, connector.source)} == {
        vault.asset_id(listed[path]) for path in moved
    }


def test_quarantine_never_overwrites(folder: Folder, tmp_path: Path) -> None:
    vault, connector, listed = folder
    quarantine = tmp_path / "quarantine"
    taken = quarantine / "DCIM" / "100APPLE"
    taken.mkdir(parents=True)
    (taken / "IMG_0006.JPG").write_bytes(b"an earlier one")
    (taken / "IMG_0006 (2).JPG").write_bytes(b"and another")
    original = (tmp_path / "roll" / SINGLE[0]).read_bytes()
    single = group(vault, listed, SINGLE)

    report = run(QuarantineExecutor(quarantine), vault, connector, [single], [single])

    assert (taken / "IMG_0006.JPG").read_bytes() == b"an earlier one"
    assert (taken / "IMG_0006 (2).JPG").read_bytes() == b"and another"
    assert (taken / "IMG_0006 (3).JPG").read_bytes() == original
    assert report.removed[0].detail.endswith("IMG_0006 (3).JPG")


@pytest.mark.parametrize("failure", [errno.EXDEV, errno.EPERM])
def test_quarantine_without_a_hard_link(folder: Folder, tmp_path: Path, failure: int) -> None:
    """Another disk (EXDEV: copied, synced, compared, then unlinked) or one without hard links
    (a check, then a rename): the file arrives whole, under a free name, and leaves the source."""
    vault, connector, listed = folder
    quarantine = tmp_path / "quarantine"
    (quarantine / "DCIM" / "100APPLE").mkdir(parents=True)
    (quarantine / EDITED[1]).write_bytes(b"taken")
    before = digests(tmp_path / "roll")
    edited = group(vault, listed, EDITED)
    refusal = OSError(failure, os.strerror(failure))
    with mock.patch("companion.connectors.quarantine.os.link", side_effect=refusal):
        report = run(QuarantineExecutor(quarantine), vault, connector, [edited], [edited])
    assert report.removed and not report.still_present
    arrived = digests(quarantine)
    assert arrived.pop(EDITED[1]) != before[EDITED[1]]  # the file that was there stays
    renamed = "DCIM/100APPLE/IMG_E0007 (2).JPG"
    assert arrived == {EDITED[0]: before[EDITED[0]], renamed: before[EDITED[1]]} | {
        EDITED[2]: before[EDITED[2]]
    }
    assert not any((tmp_path / "roll" / path).exists() for path in EDITED)
    moved = (quarantine / EDITED[0]).stat().st_mtime_ns
    assert moved == listed[EDITED[0]].mtime_ns  # the date travels with the file


def test_delete_removes_the_files_and_records_it(folder: Folder, tmp_path: Path) -> None:
    vault, connector, listed = folder
    live = group(vault, listed, LIVE)
    report = run(DeleteExecutor(), vault, connector, [live], [live])
    assert not any((tmp_path / "roll" / path).exists() for path in LIVE)
    assert report.freed_bytes == live.size and report.method == DELETED
    removed = [d for k, _a, d in events(vault, connector.source) if k is EventKind.REMOVED]
    assert removed == [DELETED, DELETED]


def test_a_file_changed_after_the_plan_is_refused_and_left_in_place(
    folder: Folder, tmp_path: Path
) -> None:
    """A group stays whole when one of its files changed since the plan: refused (exit 14), a
    ``removal_refused`` event for each of its files; the other chosen groups still go."""
    vault, connector, listed = folder
    root, quarantine = tmp_path / "roll", tmp_path / "quarantine"
    edited, single = group(vault, listed, EDITED), group(vault, listed, SINGLE)
    assert edited.ready
    touched = root / EDITED[1]
    stamp = touched.stat().st_mtime_ns + 5_000_000_000
    os.utime(touched, ns=(stamp, stamp))
    before = tree(root)

    executor = QuarantineExecutor(quarantine)
    report = run(executor, vault, connector, [edited, single], [edited, single])

    assert [r.name for r in report.refused] == ["IMG_0007.JPG"]
    assert report.refused[0].detail == f"IMG_E0007.JPG: {Readiness.CHANGED.value}"
    assert [r.name for r in report.removed] == ["IMG_0006.JPG"]
    assert tree(root) == {p: s for p, s in before.items() if p != SINGLE[0]}
    assert not any((quarantine / path).exists() for path in EDITED)
    error = report.error()
    assert isinstance(error, UnsafeDelete) and error.exit_code == ExitCode.UNSAFE_DELETE == 14
    refused = [
        (a, d) for k, a, d in events(vault, connector.source) if k is EventKind.REMOVAL_REFUSED
    ]
    assert {a for a, _d in refused} == {vault.asset_id(listed[path]) for path in EDITED}
    assert all(d == report.refused[0].detail for _a, d in refused)


def test_an_unverified_group_never_reaches_the_source(tmp_path: Path) -> None:
    """Chosen against the rules (it was never verified): refused, whatever the decision says."""
    connector = FolderConnector(str(make_roll(tmp_path / "roll")))
    with new_vault(tmp_path / "vault") as vault:
        listed = backed_up(vault, connector, verified=False)
        live = group(vault, listed, LIVE)
        assert live.readiness is Readiness.NOT_VERIFIED
        before = tree(tmp_path / "roll")
        report = run(DeleteExecutor(), vault, connector, [live], [live])
        assert tree(tmp_path / "roll") == before
        assert report.refused and not report.removed and report.freed_bytes == 0


def test_an_edit_made_after_the_plan_joins_its_group(folder: Folder, tmp_path: Path) -> None:
    """Deleting the original in Photos would take a new edit too: the new file is assessed with
    the group, and the vault does not hold it, so the group is refused."""
    vault, connector, listed = folder
    single = group(vault, listed, SINGLE)
    (tmp_path / "roll" / "DCIM/100APPLE/IMG_E0006.JPG").write_bytes(b"\xff\xd8\xff an edit")
    report = run(DeleteExecutor(), vault, connector, [single], [single])
    assert report.refused[0].detail == f"IMG_E0006.JPG: {Readiness.NOT_BACKED_UP.value}"
    assert (tmp_path / "roll" / SINGLE[0]).exists()


def test_dry_run_changes_and_records_nothing(folder: Folder, tmp_path: Path) -> None:
    vault, connector, listed = folder
    root, quarantine = tmp_path / "roll", tmp_path / "quarantine"
    live, edited = group(vault, listed, LIVE), group(vault, listed, EDITED)
    os.utime(root / EDITED[2], ns=(1, 1))  # changed since the plan: a refusal, not recorded
    files, segments = tree(root), vault.catalogue.segment_names()
    dry = DryRunExecutor(QuarantineExecutor(quarantine))

    report = run(dry, vault, connector, [live, edited], [live, edited])

    assert tree(root) == files and not quarantine.exists()
    assert vault.catalogue.segment_names() == segments and events(vault, connector.source) == []
    assert report.dry_run and not report.removed
    assert [r.name for r in report.would_remove] == ["IMG_0005.HEIC"]
    assert report.would_remove[0].detail == QuarantineExecutor(quarantine).describe(live)
    assert report.freed_bytes == live.size and [r.name for r in report.refused] == ["IMG_0007.JPG"]
    assert dry.describe(live).startswith("Dry run")


def test_a_mounted_phone_is_refused_before_anything(tmp_path: Path) -> None:
    """``PhotoData/`` beside ``DCIM/``: removing files there is deleting behind Photos' back.
    Refused whether the folder given is the media root or its DCIM, in a dry run too."""
    media = make_roll(tmp_path / "media")
    (media / "PhotoData").mkdir()
    for root in (media, media / "DCIM"):
        connector = FolderConnector(str(root))
        with new_vault(tmp_path / f"vault-{root.name}") as vault:
            listed = backed_up(vault, connector)
            live = group(vault, listed, [p for p in listed if p.endswith("IMG_0005.HEIC")])
            files = tree(media)
            for executor in (QuarantineExecutor(tmp_path / "q"), DeleteExecutor()):
                with pytest.raises(UsageError, match="mounted iPhone") as refused:
                    DryRunExecutor(executor).prepare(connector)
                assert "Photos app" in refused.value.hint
                with pytest.raises(UsageError, match="mounted iPhone"):
                    run(executor, vault, connector, [live], [live])
            assert tree(media) == files and events(vault, connector.source) == []


def test_a_quarantine_inside_the_source_is_refused(folder: Folder, tmp_path: Path) -> None:
    _vault, connector, _listed = folder
    with pytest.raises(UsageError, match="inside the source"):
        QuarantineExecutor(tmp_path / "roll" / "aside").prepare(connector)


def test_removal_events_survive_a_rebuilt_index(folder: Folder, tmp_path: Path) -> None:
    """The new event kinds are stored by value and kept by the index, also when it is rebuilt
    from the catalogue; each source sees only its own."""
    vault, connector, listed = folder
    single = group(vault, listed, SINGLE)
    run(DeleteExecutor(), vault, connector, [single], [single])
    written = events(vault, connector.source)
    assert [kind for kind, _a, _d in written] == [EventKind.REMOVAL_PLANNED, EventKind.REMOVED]
    (tmp_path / "vault" / "cache" / "index.age").unlink(missing_ok=True)
    with Vault.open(tmp_path / "vault", PASSPHRASE) as reader:  # rebuilt from the segments
        assert events(reader, connector.source) == written
        assert reader.removal_events("folder:/elsewhere") == []


# -- a phone on a cable: the person deletes in Photos, ``check`` confirms -------------------


EXTRA = "DCIM/100APPLE/IMG_0990.JPG"  # a file the library does not know


@pytest.mark.slow
def test_in_photos_then_check(tmp_path: Path) -> None:
    phone = phone_copy(tmp_path)
    (phone.media_root / EXTRA).write_bytes(b"\xff\xd8\xff" + bytes(2000))
    with usb(phone, tmp_path) as (simulator, connector), new_vault(tmp_path / "vault") as vault:
        listed = backed_up(vault, connector)
        source = connector.source
        planted = sorted(phone.planted)[0]
        live = next(a for a in listed.values() if a.live_group and a.kind is AssetKind.PHOTO)
        movie = next(
            p for p, a in listed.items() if a.live_group == live.live_group and p != live.path
        )
        untouched = next(
            p
            for p, a in listed.items()
            if p not in (planted, live.path, movie, EXTRA) and p.startswith("DCIM/") and a.uid
        )
        stored = vault.lookup(listed[planted])
        assert stored is not None
        vault.record_scan(
            ScanRecord(stored.object_id, vault.now(), (DetectorRun("test", "1", (FINDING,)),))
        )
        groups = [
            group(vault, listed, paths)
            for paths in ([planted], [live.path, movie], [untouched], [EXTRA])
        ]
        assert all(g.ready for g in groups)
        report = run(InPhotosExecutor(), vault, connector, groups, groups)

        assert [r.name for r in report.by_hand] == [g.primary.name for g in groups]
        assert "taken on" in report.by_hand[0].detail and not report.removed
        planned = [(k, d) for k, _a, d in events(vault, source)]
        assert planned == [(EventKind.REMOVAL_PLANNED, IN_PHOTOS)] * 5

        # The person deletes two photos in Photos and removes the stray file.
        when = datetime.now(UTC) - timedelta(days=3)
        delete_in_photos(phone.media_root, [planted, live.path], when=when)
        (phone.media_root / EXTRA).unlink()
        found = {g.name: g for g in check(vault, connector).groups}

        purge_day = (when + timedelta(days=30)).astimezone().date()
        trashed = found[listed[planted].name], found[live.name]
        assert all(g.state is RemovalState.TRASHED and g.purge_on == purge_day for g in trashed)
        assert found[listed[untouched].name].state is RemovalState.PRESENT
        assert found["IMG_0990.JPG"].state is RemovalState.GONE
        confirmed = [d for k, _a, d in events(vault, source) if k is EventKind.REMOVAL_CONFIRMED]
        assert sorted(confirmed) == ["gone"] + ["in Recently Deleted"] * 3

        check(vault, connector)  # nothing new: nothing recorded twice
        assert len(events(vault, source)) == 5 + 4

        purge(phone.media_root, [planted])  # Recently Deleted emptied
        again = {g.name: g for g in check(vault, connector).groups}
        assert again[listed[planted].name].state is RemovalState.GONE
        assert not (phone.media_root / planted).exists()
        assert events(vault, source)[-1][2] == "gone"

        simulator.unplug()
        with pytest.raises(DeviceDisconnected) as lost:
            check(vault, connector)
        assert lost.value.exit_code == ExitCode.SOURCE_UNAVAILABLE == 10


# -- the simulated owner --------------------------------------------------------------------


def _library(media_root: Path) -> dict[str, PhotoRecord]:
    """The phone's library as a reader sees it (its WAL replayed), by path."""
    data = media_root / "PhotoData"
    main, wal = (data / "Photos.sqlite").read_bytes(), (data / "Photos.sqlite-wal").read_bytes()
    return read_library(main, wal)


def test_deleting_in_photos_writes_the_wal_as_the_phone_does(tmp_path: Path) -> None:
    phone = phone_copy(tmp_path)
    data = phone.media_root / "PhotoData"
    main = (data / "Photos.sqlite").read_bytes()
    wal = (data / "Photos.sqlite-wal").read_bytes()
    listed = sorted(read_library(main, wal).items())
    path = next(p for p, row in listed if p.startswith("DCIM/") and not row.trashed)
    when = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)

    delete_in_photos(phone.media_root, [path], when=when)

    assert (data / "Photos.sqlite").read_bytes() == main  # not checkpointed
    grown = (data / "Photos.sqlite-wal").read_bytes()
    assert len(grown) > len(wal) and grown[:32] == wal[:32]  # appended, same salts
    record = read_library((data / "Photos.sqlite").read_bytes(), grown)[path]
    assert record.trashed and record.trashed_at == when
    assert read_library(main)[path].trashed is False  # the change is in the WAL only
    (phone.media_root / path).stat()  # the file stays until Recently Deleted is emptied


def test_the_owner_types_commands(tmp_path: Path) -> None:
    phone = phone_copy(tmp_path)
    paths = sorted(p for p in _library(phone.media_root) if p.startswith("DCIM/"))
    before = _library(phone.media_root)
    with pytest.raises(ValueError, match="not a command"):
        perform(phone.media_root, "format the phone", now=datetime.now(UTC))
    with pytest.raises(ValueError, match="no photo"):
        perform(
            phone.media_root, f"delete {paths[0]} DCIM/100APPLE/NOPE.JPG", now=datetime.now(UTC)
        )
    assert _library(phone.media_root) == before  # nothing changed

    said = perform(phone.media_root, f"delete {paths[0]}", now=datetime(2025, 1, 1, tzinfo=UTC))
    assert said.startswith("deleted in Photos") and _library(phone.media_root)[paths[0]].trashed
    said = perform(phone.media_root, f"purge '{paths[1]}'", now=datetime.now(UTC))
    assert said.startswith("gone") and paths[1] not in _library(phone.media_root)
    assert not (phone.media_root / paths[1]).exists()


def _row(path: str, uid: str, **flags: object) -> PhotoRecord:
    directory, filename = path.rsplit("/", 1)
    values: dict[str, object] = dict.fromkeys(
        ("video", "live", "screenshot", "favourite", "hidden", "trashed", "adjusted", "cloud_only"),
        False,
    )
    values |= {"captured_at": None, "original_name": None, "original_size": None, **flags}
    return PhotoRecord(directory, filename, uid, **values)  # type: ignore[arg-type]


def test_what_the_phone_shows_by_path_uid_and_folder() -> None:
    """A row by ``uid`` first (a path can be another photo's by now), else the row a file
    belongs to (its own, its Live Photo's, its original's); no row: the folder decides."""
    trashed_at = datetime(2025, 3, 1, 12, tzinfo=UTC)
    rows = {
        r.path: r
        for r in (
            _row(
                "DCIM/100APPLE/IMG_0001.HEIC", "A", live=True, trashed=True, trashed_at=trashed_at
            ),
            _row("DCIM/100APPLE/IMG_0002.JPG", "B", adjusted=True),
            _row("DCIM/100APPLE/IMG_0003.JPG", "SOMEONE ELSE"),
        )
    }
    folder = frozenset({"IMG_0001.HEIC", "IMG_0001.MOV", "IMG_0005.JPG"})

    def asset(path: str, uid: str | None = None) -> Asset:
        return Asset("usb:X", path, 1, 1, AssetKind.PHOTO, uid=uid)

    wanted = [
        asset("DCIM/100APPLE/IMG_0001.HEIC", "A"),
        asset("DCIM/100APPLE/IMG_0001.MOV"),
        asset("PhotoData/Mutations/DCIM/100APPLE/IMG_0002/Adjustments/FullSizeRender.jpg"),
        asset("DCIM/101APPLE/IMG_0009.JPG", "B"),  # moved: found by its uid
        asset("DCIM/100APPLE/IMG_0003.JPG", "C"),  # its path holds another photo now
        asset("DCIM/100APPLE/IMG_0005.JPG"),  # no row, still in its folder
    ]
    found = judge(wanted, rows, {"DCIM/100APPLE": folder})
    purge_day = (trashed_at + timedelta(days=30)).astimezone().date()
    assert [(r.state, r.purge_on) for r in found] == [
        (RemovalState.TRASHED, purge_day),
        (RemovalState.TRASHED, purge_day),
        (RemovalState.PRESENT, None),
        (RemovalState.PRESENT, None),
        (RemovalState.GONE, None),
        (RemovalState.PRESENT, None),
    ]


def test_the_executor_follows_what_the_source_can_do(tmp_path: Path) -> None:
    folder = FolderConnector(str(tmp_path))
    quarantine = tmp_path.parent / "aside"
    chosen = executor_for(folder, quarantine=quarantine, delete=False, dry_run=False)
    assert isinstance(chosen, QuarantineExecutor) and chosen.quarantine == quarantine
    assert isinstance(
        executor_for(folder, quarantine=None, delete=True, dry_run=False), DeleteExecutor
    )
    dry = executor_for(folder, quarantine=None, delete=True, dry_run=True)
    assert isinstance(dry, DryRunExecutor) and dry.method == DELETED
    for quarantine_, delete in ((None, False), (quarantine, True)):
        with pytest.raises(UsageError, match="say what becomes"):
            executor_for(folder, quarantine=quarantine_, delete=delete, dry_run=False)
    phone = UsbConnector(None)  # not connected: choosing reads no device
    assert isinstance(
        executor_for(phone, quarantine=None, delete=False, dry_run=False), InPhotosExecutor
    )
    with pytest.raises(UsageError, match="never written"):
        executor_for(phone, quarantine=quarantine, delete=False, dry_run=False)


@pytest.mark.slow
def test_serve_takes_the_owners_commands_on_a_private_copy(tmp_path: Path) -> None:
    """`simulator serve` reads the owner's commands on stdin; without --phone-dir they change a
    copy of the cached phone, which stays as it was built."""
    env = cli_env(HOME=str(tmp_path / "home"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    args = ["simulator", "serve", "--listen", str(tmp_path / "usbmuxd.sock")]
    child = subprocess.Popen(
        [sys.executable, "-m", "companion", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    try:
        assert child.stdout.readline().startswith("USBMUXD_SOCKET_ADDRESS=")
        (cached,) = (tmp_path / "cache" / "companion" / "simulator").glob("phone-*/Media")
        path = next(p for p in sorted(_library(cached)) if p.startswith("DCIM/"))
        child.stdin.write(f"purge {path}\nnonsense\n")
        child.stdin.flush()
        said: list[str] = []
        reader = threading.Thread(target=lambda: said.extend(child.stderr or ()), daemon=True)
        reader.start()
        deadline = time.monotonic() + 60
        while not any(line.startswith("error: not a command") for line in list(said)):
            assert time.monotonic() < deadline and child.poll() is None, said
            time.sleep(0.05)
        assert f"gone from the phone: {path}\n" in said, said
    finally:
        child.send_signal(signal.SIGINT)
        child.wait(timeout=30)
    assert child.returncode == 0
    assert path in _library(cached) and (cached / path).exists()
    assert not list(cached.parent.parent.glob(".serving-*"))
