"""The cleanup plan on real vaults: which flagged library items could leave the source, and why
the others cannot yet.

Sources are folders of small files named as a camera import names them (a Live Photo's HEIC and
MOV, an ``IMG_E`` edit and its ``.AAE``), backed up with the real backup and checked with the real
verify; scan results are recorded as the scan records them. Nothing is mocked.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.backup import VaultStore, run_backup
from companion.cleanup.plan import Plan, Readiness, assess, make_plan
from companion.connectors import connect
from companion.connectors.usb.photosdb import PhotoRecord
from companion.connectors.usb.roll import FileStat, assemble
from companion.model import Asset, AssetKind, DetectorRun, Finding, ScanRecord, library_items
from companion.usecases.check import check
from companion.vault import Vault, VaultRef
from companion.vault.verify import VerifyMode, VerifyReport, plan_size, verify
from tests.support import PASSPHRASE, new_vault

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ROLL = "DCIM/100APPLE"
LIVE = (f"{ROLL}/IMG_0001.HEIC", f"{ROLL}/IMG_0001.MOV")
EDIT = (f"{ROLL}/IMG_0002.JPG", f"{ROLL}/IMG_E0002.JPG", f"{ROLL}/IMG_0002.AAE")
SINGLE = (f"{ROLL}/IMG_0003.JPG",)
PLAIN = f"{ROLL}/IMG_0004.JPG"  # never flagged
ITEMS = (LIVE, EDIT, SINGLE)
FILES = (*LIVE, *EDIT, *SINGLE)
_HEADS = {
    "JPG": b"\xff\xd8\xff\xe0",
    "HEIC": b"\x00\x00\x00\x18ftypheic",
    "MOV": b"\x00\x00\x00\x14ftypqt  ",
    "AAE": b"<?xml version='1.0'?>",
}


def _card(detector: str = "text") -> Finding:
    return Finding("payment_card", detector, 0.9, "card number 4539 •••• •••• 6467")


class Folder:
    """A folder source of small files whose first bytes say what they are; every write gets
    its own modification time, so a rewrite is always a change."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True)
        self._tick = 1_700_000_000

    def write(self, path: str, version: int = 0) -> None:
        target = self.root.joinpath(*path.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        head = _HEADS[path.rsplit(".", 1)[1]]
        target.write_bytes(head + f"{path} v{version} ".encode() * (8 + version))
        self.touch(path)

    def touch(self, path: str) -> None:
        self._tick += 60
        stamp = self._tick * 1_000_000_000
        os.utime(self.root.joinpath(*path.split("/")), ns=(stamp, stamp))

    def remove(self, path: str) -> None:
        self.root.joinpath(*path.split("/")).unlink()

    def listed(self) -> list[Asset]:
        return list(connect(f"folder:{self.root}").list_assets())

    def source(self) -> str:
        return connect(f"folder:{self.root}").source

    def back_up(self, vault: Vault) -> None:
        assert not run_backup(connect(f"folder:{self.root}"), VaultStore(vault)).failed

    def plan(self, vault: Vault) -> Plan:
        return make_plan(vault, self.listed(), source=self.source(), now=NOW)


def _object(vault: Vault, folder: Folder, path: str) -> str:
    stored = vault.lookup(next(a for a in folder.listed() if a.path == path))
    assert stored is not None
    return stored.object_id


def _flag(vault: Vault, object_id: str, *findings: Finding) -> None:
    runs = (DetectorRun("text", "1", findings or (_card(),)),)
    vault.record_scan(ScanRecord(object_id, NOW, runs))
    vault.flush()


def _verify(vault: Vault, objects: set[str] | None = None) -> VerifyReport:
    report = verify(vault, VerifyMode.FULL, objects=objects)
    vault.flush()
    return report


def _damage(vault: Vault, object_id: str) -> None:
    path = vault.objects.path(object_id)
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0x10
    path.write_bytes(bytes(blob))


@pytest.fixture
def roll(tmp_path: Path) -> Iterator[tuple[Vault, Folder]]:
    """Every file of the three items and a plain photo, backed up; nothing verified or flagged."""
    folder = Folder(tmp_path / "roll")
    for path in (*FILES, PLAIN):
        folder.write(path)
    with new_vault(tmp_path / "vault") as vault:
        folder.back_up(vault)
        yield vault, folder


def test_groups_hold_a_whole_library_item_primary_first(roll: tuple[Vault, Folder]) -> None:
    vault, folder = roll
    _verify(vault)
    # A Live Photo is flagged through its movie, an edit through its render; context is dropped
    # and a finding on two files of one item is given once.
    _flag(vault, _object(vault, folder, LIVE[1]), _card())
    _flag(vault, _object(vault, folder, LIVE[0]), _card(), Finding("faces", "f", 1.0, "two"))
    _flag(vault, _object(vault, folder, EDIT[1]), Finding("credentials", "text", 0.8, "pw"))
    plan = folder.plan(vault)
    assert [[m.asset.path for m in g.members] for g in plan.groups] == [list(EDIT), list(LIVE)]
    edit, live = plan.groups
    assert live.primary.path == LIVE[0] and edit.primary.path == EDIT[0]
    assert live.key == vault.asset_id(live.primary)
    assert live.findings == (_card(),) and live.categories == ("payment_card",)
    assert edit.categories == ("credentials",)
    assert plan.ready() == plan.groups and all(g.why_not() == "" for g in plan.groups)
    assert plan.source == folder.source() and plan.made_at == NOW
    assert plan.objects() == {_object(vault, folder, p) for p in LIVE + EDIT}
    assert plan.by_category() == {"credentials": (edit,), "payment_card": (live,)}
    for group in plan.groups:  # the plan and the executors' re-check are one rule
        assert all(assess(vault, m.asset) == m for m in group.members)


def test_groups_are_ordered_by_category_then_time_then_path(
    roll: tuple[Vault, Folder],
) -> None:
    vault, folder = roll
    for path in (EDIT[0], SINGLE[0], LIVE[0]):
        _flag(vault, _object(vault, folder, path))
    folder.touch(EDIT[0])  # the edit's original is now the newest file: it comes last
    plan = folder.plan(vault)
    assert [g.primary.path for g in plan.groups] == [LIVE[0], SINGLE[0], EDIT[0]]
    assert plan.group(plan.groups[1].key) is plan.groups[1]


def test_a_phones_edited_live_photo_is_one_group(tmp_path: Path) -> None:
    edit = f"PhotoData/Mutations/{ROLL}/IMG_0010/Adjustments"
    files = {
        f"{ROLL}/IMG_0010.HEIC": FileStat(30, 1),
        f"{ROLL}/IMG_0010.MOV": FileStat(31, 1),
        f"{edit}/FullSizeRender.heic": FileStat(32, 2),
        f"{edit}/FullSizeRender.mov": FileStat(33, 2),
        f"{edit}/Adjustments.plist": FileStat(34, 2),
        f"{ROLL}/IMG_0011.JPG": FileStat(35, 3),
    }
    row = PhotoRecord(
        directory=ROLL,
        filename="IMG_0010.HEIC",
        uid="U",
        video=False,
        live=True,
        screenshot=False,
        favourite=False,
        hidden=False,
        trashed=False,
        adjusted=True,
        captured_at=NOW,
        original_name=None,
        original_size=30,
        cloud_only=False,
    )
    listed = assemble("usb:PHONE", files, {row.path: row}).assets
    with new_vault(tmp_path / "vault") as vault:
        for asset in listed:
            vault.put(asset, io.BytesIO(asset.path.encode()[: asset.size].ljust(asset.size)))
        vault.flush()
        # Only the edited movie is flagged: the whole item is the candidate, the photo first.
        _flag(vault, _stored(vault, listed, "FullSizeRender.mov"))
        plan = make_plan(vault, listed, source="usb:PHONE", now=NOW)
    (group,) = plan.groups
    assert [m.asset.path for m in group.members] == [
        f"{ROLL}/IMG_0010.HEIC",
        f"{ROLL}/IMG_0010.MOV",
        f"{edit}/FullSizeRender.heic",
        f"{edit}/FullSizeRender.mov",
        f"{edit}/Adjustments.plist",
    ]
    assert group.readiness is Readiness.NOT_VERIFIED
    assert group.size == 30 + 31 + 32 + 33 + 34


def test_library_items_link_transitively_and_keep_strangers_apart() -> None:
    def asset(path: str, kind: AssetKind, **links: str) -> Asset:
        return Asset("folder:/roll", path, 1, 1, kind, **links)  # type: ignore[arg-type]

    photo = asset("A.HEIC", AssetKind.PHOTO, live_group="A")
    movie = asset("A.MOV", AssetKind.VIDEO, live_group="A")
    # An edited Live Photo: each render is the edit of its own half.
    render = asset("E_A.HEIC", AssetKind.PHOTO, live_group="E_A", edited_of="A.HEIC")
    render_movie = asset("E_A.MOV", AssetKind.VIDEO, live_group="E_A", edited_of="A.MOV")
    recipe = asset("A.AAE", AssetKind.SIDECAR, sidecar_of="A.HEIC")
    single = asset("B.JPG", AssetKind.PHOTO)
    # Two files of an original no longer listed still belong together.
    lone_render = asset("R.JPG", AssetKind.PHOTO, edited_of="GONE.JPG")
    lone_recipe = asset("R.plist", AssetKind.SIDECAR, sidecar_of="GONE.JPG")
    shuffled = [render_movie, recipe, single, movie, photo, render, lone_recipe, lone_render]
    assert library_items(shuffled) == [
        (photo, movie, render, render_movie, recipe),
        (single,),
        (lone_render, lone_recipe),
    ]


def _stored(vault: Vault, listed: tuple[Asset, ...], suffix: str) -> str:
    stored = vault.lookup(next(a for a in listed if a.path.endswith(suffix)))
    assert stored is not None
    return stored.object_id


def _readiness(plan: Plan) -> dict[str, Readiness]:
    return {m.asset.path: m.readiness for g in plan.groups for m in g.members}


def test_a_group_is_ready_only_when_every_file_is_verified_after_its_record(
    roll: tuple[Vault, Folder],
) -> None:
    vault, folder = roll
    _flag(vault, _object(vault, folder, LIVE[0]))
    assert _readiness(folder.plan(vault)) == dict.fromkeys(LIVE, Readiness.NOT_VERIFIED)
    _verify(vault, {_object(vault, folder, LIVE[0])})
    (live,) = folder.plan(vault).groups
    assert [m.readiness for m in live.members] == [Readiness.READY, Readiness.NOT_VERIFIED]
    assert not live.ready and live.why_not() == "IMG_0001.MOV: not verified"
    _verify(vault, {_object(vault, folder, LIVE[1])})
    assert folder.plan(vault).groups[0].ready
    # The movie is touched and backed up again: a new record of the same object, which its
    # last check (older than the record) no longer vouches for.
    folder.touch(LIVE[1])
    folder.back_up(vault)
    assert _readiness(folder.plan(vault))[LIVE[1]] is Readiness.NOT_VERIFIED
    _verify(vault, {_object(vault, folder, LIVE[1])})
    assert folder.plan(vault).groups[0].ready


def test_a_file_changed_on_the_source_makes_its_group_changed(roll: tuple[Vault, Folder]) -> None:
    vault, folder = roll
    _verify(vault)
    _flag(vault, _object(vault, folder, EDIT[0]))
    folder.write(EDIT[1], version=1)  # the edit was redone after the backup: new size and time
    (edit,) = folder.plan(vault).groups
    assert [m.readiness for m in edit.members] == [
        Readiness.READY,
        Readiness.CHANGED,
        Readiness.READY,
    ]
    assert edit.readiness is Readiness.CHANGED and not folder.plan(vault).ready()
    folder.touch(EDIT[2])  # a new time alone is a change too
    assert _readiness(folder.plan(vault))[EDIT[2]] is Readiness.CHANGED


def test_a_damaged_or_missing_object_makes_its_group_damaged(roll: tuple[Vault, Folder]) -> None:
    vault, folder = roll
    _verify(vault)
    movie, single = _object(vault, folder, LIVE[1]), _object(vault, folder, SINGLE[0])
    _flag(vault, _object(vault, folder, LIVE[0]))
    _flag(vault, single)
    _damage(vault, movie)
    assert folder.plan(vault).ready() == folder.plan(vault).groups  # not yet found
    report = _verify(vault, {movie})
    assert [d.object_id for d in report.damaged] == [movie]
    vault.objects.path(single).unlink()  # gone from the vault's disk, no check needed
    readiness = _readiness(folder.plan(vault))
    assert readiness[LIVE[1]] is Readiness.DAMAGED and readiness[SINGLE[0]] is Readiness.DAMAGED
    assert readiness[LIVE[0]] is Readiness.READY
    assert not folder.plan(vault).ready()
    # A backup writes the movie afresh: held again, but not verified since.
    folder.back_up(vault)
    assert _readiness(folder.plan(vault))[LIVE[1]] is Readiness.NOT_VERIFIED


def test_files_not_backed_up_block_their_group_and_gone_files_are_no_candidates(
    roll: tuple[Vault, Folder],
) -> None:
    vault, folder = roll
    _verify(vault)
    _flag(vault, _object(vault, folder, LIVE[0]))
    _flag(vault, _object(vault, folder, SINGLE[0]))
    folder.write(f"{ROLL}/IMG_0001.JPG")  # a second still of the Live Photo, never backed up
    folder.remove(SINGLE[0])  # flagged and held, but no longer on the source
    (live,) = folder.plan(vault).groups
    assert [(m.asset.name, m.readiness, m.stored is None) for m in live.members] == [
        ("IMG_0001.HEIC", Readiness.READY, False),
        ("IMG_0001.JPG", Readiness.NOT_BACKED_UP, True),
        ("IMG_0001.MOV", Readiness.READY, False),
    ]
    assert live.readiness is Readiness.NOT_BACKED_UP


def test_plans_ignore_other_sources_and_unflagged_items(roll: tuple[Vault, Folder]) -> None:
    vault, folder = roll
    _verify(vault)
    _flag(vault, _object(vault, folder, PLAIN), Finding("screenshot", "flags", 1.0, "a shot"))
    assert folder.plan(vault).groups == ()
    _flag(vault, _object(vault, folder, SINGLE[0]))
    assert make_plan(vault, folder.listed(), source="folder:/elsewhere", now=NOW).groups == ()


def test_space_counts_whole_groups_once(roll: tuple[Vault, Folder]) -> None:
    vault, folder = roll
    for path in (LIVE[1], EDIT[2], SINGLE[0]):
        _flag(vault, _object(vault, folder, path))
    plan = folder.plan(vault)
    sizes = {a.path: a.size for a in folder.listed()}
    by_primary = {g.primary.path: g for g in plan.groups}
    live, edit = by_primary[LIVE[0]], by_primary[EDIT[0]]
    assert live.size == sizes[LIVE[0]] + sizes[LIVE[1]]
    assert plan.space({live.key}) == live.size
    assert plan.space({live.key, edit.key, "unknown"}) == sum(sizes[p] for p in LIVE + EDIT)
    assert plan.space(set()) == 0


def test_verify_checks_only_the_objects_asked_for(roll: tuple[Vault, Folder]) -> None:
    vault, folder = roll
    wanted = {_object(vault, folder, p) for p in LIVE}
    report = _verify(vault, {*wanted, "0" * 64})  # an id no record references is left out
    assert report.objects_checked == 2 and report.ok
    verified = {h.asset.path for h in vault.held(folder.listed()) if h.verified}
    assert verified == set(LIVE)
    rows, total = plan_size(vault, VerifyMode.FULL, objects=wanted)
    assert {r[0] for r in rows} == wanted and total == sum(r[2] for r in rows)
    assert verify(vault, VerifyMode.QUICK, objects=wanted).objects_checked == 2
    sample = verify(vault, VerifyMode.SAMPLE, sample_pct=1, objects=wanted)
    assert sample.objects_checked == 1
    assert verify(vault, VerifyMode.FULL, objects=set()).objects_checked == 0
    assert verify(vault, VerifyMode.QUICK).objects_checked == len(FILES) + 1


def test_check_passes_the_objects_through(tmp_path: Path) -> None:
    folder = Folder(tmp_path / "roll")
    for path in FILES:
        folder.write(path)
    with new_vault(tmp_path / "vault") as vault:
        folder.back_up(vault)
        wanted = {_object(vault, folder, EDIT[1])}
    ref = VaultRef(tmp_path / "vault", lambda: PASSPHRASE)
    assert check(ref, VerifyMode.FULL, jobs=1, objects=wanted).objects_checked == 1
    with ref.open() as vault:
        held = vault.held(folder.listed())
    assert [h.asset.path for h in held if h.verified] == [EDIT[1]]


# -- the property: nothing unverified is ever ready ------------------------------------------

# What happens to one file, in the order the test plays it out:
STATES = (
    "not backed up",  # written only after every backup
    "stored",  # backed up, never checked
    "verified",
    "verified, then changed",  # rewritten on the source after its check, not backed up again
    "verified, changed, backed up",  # its new record is newer than any check of its object
    "verified, touched, backed up",  # a new time only: the same object, a newer record
    "verified, changed, backed up, verified",
    "verified, then damaged",  # a byte flipped, found by a full check (object moved aside)
    "verified, then object lost",  # its object file removed from the vault's disk
    "gone",  # checked, then removed from the source: no longer listed
)


@dataclass
class Model:
    """What the test did, kept by the test: each file's last record (the backup step, the size
    and time it recorded, its object) and each object's last full check (step, ok)."""

    records: dict[str, tuple[int, int, int, str]]
    checks: dict[str, tuple[int, bool]]
    step: int = 0

    def safe(self, folder: Folder, vault: Vault, path: str) -> bool:
        record = self.records.get(path)
        if record is None:
            return False
        step, size, mtime_ns, object_id = record
        info = folder.root.joinpath(*path.split("/")).stat()
        check = self.checks.get(object_id)
        return (
            (info.st_size, info.st_mtime_ns) == (size, mtime_ns)
            and vault.objects.path(object_id).is_file()
            and check is not None
            and check[1]
            and check[0] > step
        )


def _back_up(vault: Vault, folder: Folder, model: Model) -> None:
    """Back up, and note what the backup must have recorded: every listed file whose size or
    time is not the one last recorded."""
    model.step += 1
    before = {a.path: (a.size, a.mtime_ns) for a in folder.listed()}
    folder.back_up(vault)
    for path, (size, mtime_ns) in before.items():
        last = model.records.get(path)
        if last is None or (last[1], last[2]) != (size, mtime_ns):
            model.records[path] = (model.step, size, mtime_ns, _object(vault, folder, path))


def _check(vault: Vault, model: Model, objects: set[str]) -> None:
    if not objects:
        return
    model.step += 1
    report = _verify(vault, objects)
    assert report.objects_checked == len(objects)
    damaged = {d.object_id for d in report.damaged}
    model.checks.update({o: (model.step, o not in damaged) for o in objects})


def _play(vault: Vault, folder: Folder, states: dict[str, str], flagged: set[str]) -> Model:
    model = Model({}, {})

    def objects(*wanted: str) -> set[str]:
        return {model.records[p][3] for p, s in states.items() if s in wanted}

    def paths(*wanted: str) -> list[str]:
        return [p for p, s in states.items() if s in wanted]

    for path in FILES:
        if states[path] != "not backed up":
            folder.write(path)
    _back_up(vault, folder, model)
    _check(vault, model, objects(*(s for s in STATES if s.startswith("verified")), "gone"))
    for path in paths("verified, changed, backed up", "verified, changed, backed up, verified"):
        folder.write(path, version=1)
    for path in paths("verified, touched, backed up"):
        folder.touch(path)
    _back_up(vault, folder, model)
    _check(vault, model, objects("verified, changed, backed up, verified"))
    for path in paths("verified, then changed"):
        folder.write(path, version=2)
    for object_id in objects("verified, then damaged"):
        _damage(vault, object_id)
    _check(vault, model, objects("verified, then damaged"))
    for object_id in objects("verified, then object lost"):
        vault.objects.path(object_id).unlink(missing_ok=True)
    for path in paths("not backed up"):
        folder.write(path)
    for path in paths("gone"):
        folder.remove(path)
    for object_id in {model.records[p][3] for p in flagged if p in model.records}:
        _flag(vault, object_id)
    return model


def _items(listed: set[str]) -> list[list[str]]:
    """The library items a folder's names make of ``listed``, primary first: an edit and its
    recipe are linked to their original by name, so without it each stands alone."""
    items: list[list[str]] = []
    for item in ITEMS:
        present = [p for p in item if p in listed]
        if present and present[0] == item[0]:
            items.append(present)
        else:
            items.extend([p] for p in present)
    return items


@settings(max_examples=25, deadline=None)
@given(
    states=st.fixed_dictionaries({path: st.sampled_from(STATES) for path in FILES}),
    flagged=st.sets(st.sampled_from(FILES), min_size=1),
)
def test_every_ready_group_is_held_unchanged_and_verified_whole(
    states: dict[str, str], flagged: set[str]
) -> None:
    with tempfile.TemporaryDirectory(prefix="companion-plan-") as work:
        folder = Folder(Path(work) / "roll")
        with new_vault(Path(work) / "vault") as vault:
            model = _play(vault, folder, states, flagged)
            plan = folder.plan(vault)
            expected = {
                item[0]: item
                for item in _items({a.path for a in folder.listed()})
                if any(p in flagged and p in model.records for p in item)
            }
            assert {g.primary.path: [m.asset.path for m in g.members] for g in plan.groups} == (
                expected
            )
            for group in plan.groups:
                assert group.key == vault.asset_id(group.primary)
                safe = [model.safe(folder, vault, m.asset.path) for m in group.members]
                # The property: a ready group's every file is held as the source has it now
                # and was checked whole after it was recorded. And the plan is not timid: a
                # group whose every file is so is ready.
                assert group.ready == all(safe), (states, group.why_not())
                for member, ok in zip(group.members, safe, strict=True):
                    assert (member.readiness is Readiness.READY) == ok
                    assert (member.stored is None) == (member.asset.path not in model.records)
