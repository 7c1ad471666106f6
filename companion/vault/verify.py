"""Checking that the vault still holds what it promised.

Every mode first reads every catalogue segment (decrypt, authenticate: ``repair.check_catalogue``):
the catalogue is what says which photos exist, so it is checked as the photos are. Then quick
mode trusts the cryptography and checks the file system: every object referenced by the
catalogue exists with exactly the size written. Full mode trusts nothing: it decrypts every
object (age authenticates each 64 KiB chunk), re-hashes the plaintext, compares it with the
SHA-256 recorded at backup, and records a ``verified`` event per object. Sample mode does the
full check on a random share of the objects. Any mode can be limited to some objects (a cleanup
plan's), given by id.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from enum import StrEnum

from companion.errors import IntegrityError
from companion.model import EventKind, VaultEvent
from companion.vault.health import SegmentProblem
from companion.vault.pool import WorkerPool
from companion.vault.repair import check_catalogue
from companion.vault.vault import Vault


class VerifyMode(StrEnum):
    QUICK = "quick"
    FULL = "full"
    SAMPLE = "sample"


@dataclass(frozen=True, slots=True)
class Damage:
    object_id: str
    paths: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    mode: VerifyMode
    objects_checked: int
    bytes_checked: int
    damaged: tuple[Damage, ...]
    segments_checked: int = 0  # catalogue segments decrypted and authenticated
    catalogue: tuple[SegmentProblem, ...] = ()  # damaged, missing or rolled-back segments

    @property
    def ok(self) -> bool:
        return not self.damaged and not self.catalogue


Progress = Callable[[int], None]
ObjectRow = tuple[str, str, int, int, str]  # object_id, sha256, size, stored_size, path


def plan_size(
    vault: Vault,
    mode: VerifyMode,
    sample_pct: float = 100.0,
    rng: random.Random | None = None,
    objects: Collection[str] | None = None,
) -> tuple[list[ObjectRow], int]:
    """The objects a verify will check and the bytes it will read (for a progress bar).

    ``objects``: only these object ids (a sample is drawn among them); ids that no record
    references are left out, since there is no digest to check them against.
    """
    rows = list(vault.index.objects())
    if objects is not None:
        wanted = frozenset(objects)
        rows = [row for row in rows if row[0] in wanted]
    return _sampled(rows, mode, sample_pct, rng)


def _sampled(
    objects: list[ObjectRow], mode: VerifyMode, sample_pct: float, rng: random.Random | None
) -> tuple[list[ObjectRow], int]:
    if mode is VerifyMode.SAMPLE and objects:
        k = max(1, round(len(objects) * sample_pct / 100))
        objects = sorted((rng or random.SystemRandom()).sample(objects, min(k, len(objects))))
    total = sum(o[3] if mode is VerifyMode.QUICK else o[2] for o in objects)
    return objects, total


def verify(
    vault: Vault,
    mode: VerifyMode,
    *,
    sample_pct: float = 100.0,
    rng: random.Random | None = None,
    progress: Progress | None = None,
    workers: int = 1,
    pool: WorkerPool | None = None,
    planned: Callable[[int], None] | None = None,
    objects: Collection[str] | None = None,
) -> VerifyReport:
    """Check the catalogue's segments, then the vault's objects, or only the ``objects`` given
    (object ids, as a cleanup plan's members hold them); record ``verified`` events in full and
    sample modes (needs write access).

    Damage to one object is reported for that object's assets only; checking goes on. A full
    check with ``workers`` > 1, or given a ``pool`` (perhaps started before the vault was
    unlocked, see ``WorkerPool.for_vault``), decrypts several objects at once. ``planned``
    receives the bytes the check will read, once chosen (a sample is drawn once), before the
    first ``progress``.
    """
    segments = check_catalogue(vault)
    rows, total = plan_size(vault, mode, sample_pct, rng, objects)
    if planned is not None:
        planned(total)
    advance = progress or (lambda _n: None)
    damaged: list[Damage] = []
    checked_bytes = 0
    for row, reason in _results(vault, mode, rows, advance, workers, pool):
        object_id, _sha, size, stored_size, path = row
        if mode is VerifyMode.QUICK:
            checked_bytes += stored_size
            advance(stored_size)
        else:
            checked_bytes += size
            _record(vault, object_id, reason)
        if reason is not None:
            paths = tuple(vault.index.paths_for_object(object_id)) or (path,)
            damaged.append(Damage(object_id, paths, reason))
    return VerifyReport(
        mode, len(rows), checked_bytes, tuple(damaged), segments.segments, segments.problems
    )


def _results(
    vault: Vault,
    mode: VerifyMode,
    rows: list[ObjectRow],
    advance: Progress,
    workers: int,
    pool: WorkerPool | None,
) -> Iterator[tuple[ObjectRow, str | None]]:
    """Each row with what is wrong with its object (None: nothing), checked as ``mode`` says."""
    if mode is VerifyMode.QUICK:
        return ((row, _quick(vault, row)) for row in rows)
    if pool is not None and len(rows) > 1:
        return _in_pool(vault, rows, pool, advance)
    if workers > 1 and len(rows) > 1:
        return _in_own_pool(vault, rows, workers, advance)
    return _here(vault, rows, advance)


def _quick(vault: Vault, row: ObjectRow) -> str | None:
    object_id, _sha, _size, stored_size, _path = row
    actual = vault.objects.stored_size(object_id)
    if actual is None:
        return "missing"
    if actual != stored_size:
        return f"size is {actual} bytes, {stored_size} were written"
    return None


def _here(
    vault: Vault, objects: list[ObjectRow], advance: Progress
) -> Iterator[tuple[ObjectRow, str | None]]:
    for row in objects:
        object_id, sha256, size, _stored, _path = row
        reason = None
        try:
            vault.objects.verify(object_id, sha256, size, vault.identity, object_id)
        except IntegrityError as exc:
            reason = _short_reason(exc.message)
        advance(size)
        yield row, reason


def _in_own_pool(
    vault: Vault, objects: list[ObjectRow], workers: int, advance: Progress
) -> Iterator[tuple[ObjectRow, str | None]]:
    with vault.pool(workers) as pool:
        yield from _in_pool(vault, objects, pool, advance)


def _in_pool(
    vault: Vault, objects: list[ObjectRow], pool: WorkerPool, advance: Progress
) -> Iterator[tuple[ObjectRow, str | None]]:
    rows = {row[0]: row for row in objects}
    items = [(row[0], row[1], row[2]) for row in objects]
    for item, result in pool.run(vault.check_task(), items, advance):
        if isinstance(result, BaseException):
            raise result
        yield rows[item[0]], None if result is None else _short_reason(str(result))


def _record(vault: Vault, object_id: str, reason: str | None) -> None:
    if reason is not None:
        vault.objects.quarantine(object_id)  # the next backup can store it afresh
    vault.record_event(
        VaultEvent(
            kind=EventKind.VERIFIED,
            at=vault.now(),
            object_id=object_id,
            ok=reason is None,
            detail=reason,
        )
    )


def _short_reason(text: str) -> str:
    if "missing" in text:
        return "missing"
    if "different bytes" in text:
        return "decrypts to different bytes (hash mismatch)"
    return "cannot be decrypted (damaged, truncated or extended)"
