"""Checking the catalogue itself, and repairing it from the objects.

``check_catalogue`` decrypts and authenticates every segment, every time (the index cache may
still hold a segment's records after the segment itself was damaged: only reading it tells), and
adds the numbers missing and what this computer's high-water mark says (``health``).

``repair`` is what is left to do when a segment is lost for good. The objects it described are
still on disk, and each one can be decrypted, hashed and measured again; what cannot be re-derived
is where it came from. So, as borg's ``check --repair`` does with orphaned chunks, every object no
readable record references comes back as an asset of the source ``recovered`` (its path made by
``describe``, which may read the capture time in its first bytes). Damaged segments are moved to
``catalogue/damaged/`` (never deleted), the missing numbers are filled with new segments that
carry the recovered records and a ``repaired`` event, and the high-water mark is reset: the
catalogue is whole again, and says what happened.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from companion.errors import IntegrityError
from companion.model import Asset, EventKind, StoredAsset, VaultEvent
from companion.vault.catalogue import Record, encode_asset, encode_event, number, segment_name
from companion.vault.health import SegmentProblem, Trouble, gaps
from companion.vault.vault import Vault

HEAD_BYTES = 256 << 10  # what ``describe`` sees of each recovered object (EXIF lives early)


@dataclass(frozen=True, slots=True)
class CatalogueCheck:
    segments: int  # segments read
    problems: tuple[SegmentProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_catalogue(vault: Vault) -> CatalogueCheck:
    """Read every segment on disk (decrypt, authenticate, parse): what is damaged, what is
    missing, and what the vault's open found against this computer's high-water mark."""
    names = vault.catalogue.segment_names()
    problems: dict[tuple[str, Trouble], SegmentProblem] = {}
    for name in names:
        try:
            vault.catalogue.read(name)
        except IntegrityError as exc:
            problems[name, Trouble.DAMAGED] = SegmentProblem(name, Trouble.DAMAGED, _why(exc))
        except OSError as exc:
            reason = f"cannot be read: {exc.strerror or exc}"
            problems[name, Trouble.DAMAGED] = SegmentProblem(name, Trouble.DAMAGED, reason)
    for problem in [*gaps(names), *vault.catalogue_problems]:
        problems.setdefault((problem.segment, problem.trouble), problem)
    ordered = sorted(problems.values(), key=lambda p: (p.segment, p.trouble.value))
    return CatalogueCheck(len(names), tuple(ordered))


def _why(exc: IntegrityError) -> str:
    if "not written with this vault's key" in exc.message:
        return "its MAC does not match: it was changed or not written by this vault's owner"
    if "cannot be decrypted" in exc.message or "age" in exc.message:
        return "cannot be decrypted: damaged, truncated or empty"
    return exc.message


@dataclass(frozen=True, slots=True)
class Orphan:
    """An object no readable record references, decrypted and measured again."""

    object_id: str
    sha256: str
    size: int
    stored_size: int
    head: bytes  # its first HEAD_BYTES of plaintext


Describe = Callable[[Orphan], Asset]  # the asset a recovered object is recorded as


@dataclass
class RepairReport:
    set_aside: list[str] = field(default_factory=list)  # segments moved to catalogue/damaged/
    filled: list[str] = field(default_factory=list)  # segment numbers written anew
    recovered: list[str] = field(default_factory=list)  # paths given to recovered objects
    unreadable: list[str] = field(default_factory=list)  # orphan objects that do not decrypt
    remaining: tuple[SegmentProblem, ...] = ()  # what the check finds after the repair


class _HeadAndHash:
    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.count = 0
        self.head = bytearray()

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.count += len(data)
        if len(self.head) < HEAD_BYTES:
            self.head += data[: HEAD_BYTES - len(self.head)]
        return len(data)


def repair(vault: Vault, describe: Describe) -> RepairReport:
    """Make the catalogue whole again (see the module's text). Needs write access.

    A whole catalogue is left alone: objects no record names are then what an interrupted
    backup left, and its next run records them under their own paths (vault-format.md,
    section 8); recording them under ``recovered/`` too would list each photo twice.
    """
    report = RepairReport()
    found = check_catalogue(vault)
    if found.ok:
        return report
    for problem in found.problems:
        if problem.trouble is Trouble.DAMAGED:
            vault.catalogue.set_aside(problem.segment)
            report.set_aside.append(problem.segment)
    vault.reload_index()  # now from the readable segments only
    records = [*_recovered(vault, describe, report)]
    missing = [number(p.segment) for p in gaps(vault.catalogue.segment_names())]
    holes = sorted({*missing, *(number(name) for name in report.set_aside)})
    highest = max((number(n) for n in vault.catalogue.segment_names()), default=0)
    holes = [seq for seq in holes if seq < highest]  # a lost newest number is just the next
    event = encode_event(
        VaultEvent(
            EventKind.REPAIRED,
            vault.now(),
            detail=f"{len(report.set_aside)} segment(s) set aside, "
            f"{len(report.recovered)} object(s) recovered",
        )
    )
    if holes:
        for index, seq in enumerate(holes):
            body: list[Record] = [*records, event] if index == 0 else [event]
            vault.catalogue.publish(body, seq=seq)
            report.filled.append(segment_name(seq))
    else:
        vault.catalogue.publish([*records, event])
    names = vault.catalogue.segment_names()
    vault.high_water.reset(vault.catalogue.read_sealed(names[-1])[0] if names else None)
    vault.reload_index()
    report.remaining = check_catalogue(vault).problems
    return report


def _recovered(vault: Vault, describe: Describe, report: RepairReport) -> list[Record]:
    referenced = {row[0] for row in vault.index.objects()}
    records: list[Record] = []
    for object_id in sorted(vault.objects.all_ids() - referenced):
        sink = _HeadAndHash()
        try:
            vault.objects.decrypt_to(object_id, sink, vault.identity, f"object {object_id}")
        except IntegrityError:
            report.unreadable.append(object_id)
            with contextlib.suppress(IntegrityError):
                vault.objects.quarantine(object_id)
            continue
        stored_size = vault.objects.stored_size(object_id) or 0
        orphan = Orphan(object_id, sink.sha.hexdigest(), sink.count, stored_size, bytes(sink.head))
        asset = describe(orphan)
        stored = StoredAsset(
            asset_id=vault.asset_id(asset),
            asset=asset,
            object_id=object_id,
            sha256=orphan.sha256,
            stored_size=stored_size,
            recorded_at=vault.now(),
        )
        records.append(encode_asset(stored))
        report.recovered.append(asset.path)
    return records
