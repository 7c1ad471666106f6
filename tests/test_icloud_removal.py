"""The cleanup on iCloud Photos against the simulated iCloud: pictures moved to Recently Deleted
(a ``records/modify`` setting ``isDeleted``), spaced in time, each read again, and what became
of them read back. Nothing of ours is mocked: the connector talks HTTPS on 127.0.0.1 to a real
server through the unmodified pyicloud; the tests that measure the spacing really wait.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from companion.backup import VaultStore, run_backup
from companion.cleanup.plan import Decision, Group, Plan, Readiness, assess
from companion.cleanup.remove import DeleteExecutor, executor_for
from companion.cli.app import run
from companion.connectors import RemovalState
from companion.connectors.icloud.connector import IcloudConnector
from companion.connectors.icloud.removals import MIN_INTERVAL_S
from companion.errors import ExitCode, SourceChanged, UnsafeDelete, UsageError
from companion.model import Asset, DetectorRun, EventKind, Finding, ScanRecord
from companion.simulator.icloud import CloudAsset, Faults, SimulatedICloud
from companion.vault import Vault
from companion.vault.verify import VerifyMode, verify
from tests.icloud_support import Person, Sleeps, camera_roll, connector, expunge, rewrite
from tests.support import PASSPHRASE, WORK_FACTOR, new_vault

LIVE = "DCIM/100APPLE/IMG_0005.HEIC"  # a Live Photo: the picture and its movie
EDITED = "DCIM/100APPLE/IMG_0007.JPG"  # an edited picture: the original and its render
PHOTO = "DCIM/100APPLE/IMG_0001.JPG"
FINDING = Finding("payment_card", "text", 0.97, "a payment card")


@pytest.fixture
def icloud() -> Iterator[SimulatedICloud]:
    with SimulatedICloud(camera_roll(), two_factor=False) as server:
        yield server


def signed_in(
    icloud: SimulatedICloud, sessions: Path, sleep: object = time.sleep
) -> IcloudConnector:
    return connector(icloud, sessions, Person(icloud.password), sleep=sleep)


def picture(icloud: SimulatedICloud, media_path: str) -> CloudAsset:
    return next(a for a in icloud.assets if a.path == media_path)


def files_of(icloud: SimulatedICloud, listed: Sequence[Asset], media_path: str) -> list[Asset]:
    """The listed files of one picture (the original first, then its movie or its edit)."""
    record = picture(icloud, media_path).asset_name
    original = next(a for a in listed if a.uid == record)
    return [original] + [
        a
        for a in listed
        if a is not original
        and (a.edited_of == original.path or (a.live_group and a.live_group == original.live_group))
    ]


def test_two_pictures_go_to_recently_deleted_spaced_and_read_back(
    icloud: SimulatedICloud, tmp_path: Path
) -> None:
    source = signed_in(icloud, tmp_path / "sessions")
    listed = list(source.list_assets())
    live, edited = files_of(icloud, listed, LIVE), files_of(icloud, listed, EDITED)
    assert len(live) == 2 and len(edited) == 2

    removals = source.remove([*live, *edited], quarantine=None)

    purge = (datetime.now(UTC) + timedelta(days=30)).date()
    assert [r.asset for r in removals] == [*live, *edited]
    assert {r.state for r in removals} == {RemovalState.TRASHED}
    assert {r.purge_on for r in removals} <= {purge, purge - timedelta(days=1)}
    assert icloud.stats.requests["records/modify"] == 2  # one per picture, not per file
    moved = [picture(icloud, LIVE), picture(icloud, EDITED)]
    assert all(a.deleted_at is not None for a in moved)
    assert picture(icloud, PHOTO).deleted_at is None
    first, second = sorted(a.modified_at for a in moved if a.modified_at is not None)
    assert (second - first).total_seconds() >= MIN_INTERVAL_S * 0.95  # the server's clock

    # Read back by another connector that listed nothing: the movie and the edit are found
    # through their original, the untouched picture is still there.
    fresh = signed_in(icloud, tmp_path / "sessions")
    (photo,) = files_of(icloud, listed, PHOTO)
    states = fresh.removal_states([*live, *edited, photo])
    assert [s.state for s in states] == [RemovalState.TRASHED] * 4 + [RemovalState.PRESENT]
    assert not any(a.path in {f.path for f in [*live, *edited]} for a in fresh.list_assets())
    source.close()
    fresh.close()


def test_a_picture_removed_twice_or_gone_is_told_so(
    icloud: SimulatedICloud, tmp_path: Path
) -> None:
    source = signed_in(icloud, tmp_path / "sessions", Sleeps())
    listed = list(source.list_assets())
    live = files_of(icloud, listed, LIVE)
    (photo,) = files_of(icloud, listed, PHOTO)
    source.remove(live[:1], quarantine=None)
    (again,) = source.remove(live[1:], quarantine=None)  # the movie went with its picture
    assert again.state is RemovalState.TRASHED
    assert icloud.stats.requests["records/modify"] == 1
    expunge(icloud, picture(icloud, LIVE).asset_name)  # 30 days later
    states = source.removal_states([*live, photo])
    assert [s.state for s in states] == [RemovalState.GONE, RemovalState.GONE, RemovalState.PRESENT]
    source.close()


def test_a_record_changed_meanwhile_is_read_again_once(
    icloud: SimulatedICloud, tmp_path: Path
) -> None:
    """The person favourites the second picture on their phone while the cleanup waits its
    turn: the update is refused (CONFLICT), the record read again and the move tried again."""
    waits: list[float] = []

    def wait_while_a_phone_changes_it(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 1:
            with icloud.lock:
                other = picture(icloud, EDITED)
                other.favorite = True
                other.change_tag += 1
        time.sleep(seconds)

    source = signed_in(icloud, tmp_path / "sessions", wait_while_a_phone_changes_it)
    listed = list(source.list_assets())
    originals = [files_of(icloud, listed, LIVE)[0], files_of(icloud, listed, EDITED)[0]]
    removals = source.remove(originals, quarantine=None)
    assert [r.state for r in removals] == [RemovalState.TRASHED] * 2
    assert icloud.stats.requests["records/modify"] == 3  # the second one refused once
    assert waits and all(0 < w <= MIN_INTERVAL_S for w in waits)
    assert picture(icloud, EDITED).favorite and picture(icloud, EDITED).deleted_at is not None
    source.close()


def test_iclouds_slow_down_is_waited_out(tmp_path: Path) -> None:
    sleeps = Sleeps()
    with SimulatedICloud(
        camera_roll(), two_factor=False, faults=Faults(throttle={"modify": 1})
    ) as icloud:
        source = signed_in(icloud, tmp_path / "sessions", sleeps)
        (original, _movie) = files_of(icloud, list(source.list_assets()), LIVE)
        (removal,) = source.remove([original], quarantine=None)
        assert removal.state is RemovalState.TRASHED
        assert icloud.stats.requests["records/modify"] == 2
        assert 1 in sleeps.waits  # Retry-After
        source.close()


def test_a_changed_file_or_a_quarantine_is_left_alone(
    icloud: SimulatedICloud, tmp_path: Path
) -> None:
    source = signed_in(icloud, tmp_path / "sessions", Sleeps())
    listed = list(source.list_assets())
    with pytest.raises(UsageError, match="Recently Deleted"):
        source.remove(listed[:1], quarantine=tmp_path / "quarantine")
    _original, render = files_of(icloud, listed, EDITED)
    rewrite(icloud, picture(icloud, EDITED).asset_name, "edit", b"\xff\xd8\xff a new edit")
    with pytest.raises(SourceChanged):
        source.remove([render], quarantine=None)
    assert picture(icloud, EDITED).deleted_at is None
    assert icloud.stats.requests["records/modify"] == 0
    assert not (tmp_path / "quarantine").exists()
    source.close()


def _group(vault: Vault, listed: Sequence[Asset]) -> Group:
    """A plan's group made by hand from one picture's files, each assessed now."""
    members = tuple(assess(vault, asset) for asset in listed)
    return Group(vault.asset_id(listed[0]), listed[0], members, (FINDING,))


def test_the_cleanup_moves_only_verified_pictures(icloud: SimulatedICloud, tmp_path: Path) -> None:
    """An unverified picture is refused (exit 14) and stays; verified, it goes, each step an
    event in the vault."""
    source = signed_in(icloud, tmp_path / "sessions", Sleeps())
    executor = executor_for(source, quarantine=None, delete=True, dry_run=False)
    assert isinstance(executor, DeleteExecutor)
    with new_vault(tmp_path / "vault") as vault:
        run_backup(source, VaultStore(vault))
        live = files_of(icloud, list(source.list_assets()), LIVE)
        unverified = _group(vault, live)
        assert unverified.members[0].readiness is Readiness.NOT_VERIFIED
        plan = Plan(source.source, datetime.now(UTC), (unverified,))
        decision = Decision(frozenset({unverified.key}))
        report = executor.execute(vault, plan, decision, source, source.list_assets)
        error = report.error()
        assert isinstance(error, UnsafeDelete) and error.exit_code == ExitCode.UNSAFE_DELETE == 14
        assert picture(icloud, LIVE).deleted_at is None
        assert icloud.stats.requests["records/modify"] == 0

        assert verify(vault, VerifyMode.FULL).ok
        vault.flush()
        ready = _group(vault, live)
        plan = Plan(source.source, datetime.now(UTC), (ready,))
        report = executor.execute(vault, plan, decision, source, source.list_assets)
        assert report.error() is None and [r.name for r in report.removed] == [live[0].name]
        assert picture(icloud, LIVE).deleted_at is not None
        kinds = [e.kind for e in vault.removal_events(source.source)]
    assert kinds.count(EventKind.REMOVAL_REFUSED) == 2
    assert kinds.count(EventKind.REMOVAL_PLANNED) == 2 and kinds.count(EventKind.REMOVED) == 2
    source.close()


@pytest.fixture
def cli(icloud: SimulatedICloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A vault and the command line pointed at the simulated iCloud, signed in: the vault."""
    vault = tmp_path / "vault"
    monkeypatch.setenv("COMPANION_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("COMPANION_ICLOUD_SIMULATOR", json.dumps(icloud.connection_info()))
    monkeypatch.setenv("COMPANION_VAULT", str(vault))
    monkeypatch.setenv("COMPANION_PASSPHRASE", PASSPHRASE)
    monkeypatch.delenv("COMPANION_YES", raising=False)
    assert run(["vault", "init", "--kdf-work-factor", str(WORK_FACTOR)]) == 0
    signed_in(icloud, tmp_path / "state" / "icloud").info()  # 'companion icloud login'
    yield vault


def _flag(vault: Path, source: str, records: Sequence[str]) -> None:
    """A scan finding on the original of each picture named by its record, as a scan would."""
    with Vault.open(vault, PASSPHRASE, write=True) as opened:
        for stored in opened.assets():
            if stored.asset.source == source and stored.asset.uid in records:
                scan = DetectorRun("text", "1", (FINDING,))
                opened.record_scan(ScanRecord(stored.object_id, opened.now(), (scan,)))


def test_cleanup_from_icloud_end_to_end(
    icloud: SimulatedICloud,
    cli: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = f"icloud:{icloud.apple_id}"
    assert run(["backup", "--from", source]) == 0
    assert run(["verify", "--full"]) == 0
    _flag(cli, source, [picture(icloud, p).asset_name for p in (LIVE, EDITED, PHOTO)])
    # The third picture is edited on the phone after the backup: what iCloud holds now is
    # not what the vault verified, so it is not offered and stays.
    rewrite(icloud, picture(icloud, PHOTO).asset_name, "original", b"\xff\xd8\xff other")
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("all\nREMOVE\n"))
    code = run(["cleanup", "--from", source, "--no-browser", "--delete"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "2 items frees" in out
    assert picture(icloud, LIVE).deleted_at is not None
    assert picture(icloud, EDITED).deleted_at is not None
    assert picture(icloud, PHOTO).deleted_at is None
    assert icloud.stats.requests["records/modify"] == 2

    assert "will be moved to Recently Deleted" in err and "Not ready" in err
    assert "deleted from the folder" not in err

    with Vault.open(cli, PASSPHRASE) as opened:
        events = opened.removal_events(source)
        by_kind = {kind: [e for e in events if e.kind is kind] for kind in EventKind}
        moved_ids = {e.asset_id for e in by_kind[EventKind.REMOVED]}
        moved = [s.asset for s in opened.assets() if opened.asset_id(s.asset) in moved_ids]
    assert len(by_kind[EventKind.REMOVAL_PLANNED]) == 4  # two pictures, two files each
    assert len(by_kind[EventKind.REMOVED]) == 4 and not by_kind[EventKind.REMOVAL_REFUSED]
    confirmed = by_kind[EventKind.REMOVAL_CONFIRMED]
    assert {e.asset_id for e in confirmed} == moved_ids
    assert {e.detail for e in confirmed} == {RemovalState.TRASHED.value}
    assert {a.uid for a in moved if a.uid} == {
        picture(icloud, p).asset_name for p in (LIVE, EDITED)
    }

    # Read back as 'cleanup --check' does: each file in Recently Deleted, followed until purged.
    capsys.readouterr()
    assert run(["cleanup", "--from", source, "--check", "--json"]) == 0
    checked = json.loads(capsys.readouterr().out)
    assert "Nothing was planned" not in json.dumps(checked)
    assert len(checked["groups"]) == 2, checked
    checker = signed_in(icloud, tmp_path / "state" / "icloud", Sleeps())
    states = checker.removal_states(moved)
    assert {s.state for s in states} == {RemovalState.TRASHED}
    checker.close()
