"""Checking that the vault still holds what it promised.

Quick mode trusts the cryptography and checks the file system: every object referenced by the
catalogue exists with exactly the size written. Full mode trusts nothing: it decrypts every
object (age authenticates each 64 KiB chunk), re-hashes the plaintext, compares it with the
SHA-256 recorded at backup, and records a ``verified`` event per object. Sample mode does the
full check on a random share of the objects.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from companion.errors import IntegrityError
from companion.model import EventKind, VaultEvent
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

    @property
    def ok(self) -> bool:
        return not self.damaged


Progress = Callable[[int], None]


def plan_size(
    vault: Vault, mode: VerifyMode, sample_pct: float = 100.0, rng: random.Random | None = None
) -> tuple[list[tuple[str, str, int, int, str]], int]:
    """The objects a verify will check and the bytes it will read (for a progress bar)."""
    objects = list(vault.index.objects())
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
) -> VerifyReport:
    """Check the vault; record ``verified`` events in full and sample modes (needs write access).

    Damage to one object is reported for that object's assets only; checking goes on.
    """
    objects, _total = plan_size(vault, mode, sample_pct, rng)
    damaged: list[Damage] = []
    checked_bytes = 0
    for object_id, sha256, size, stored_size, _path in objects:
        reason = None
        if mode is VerifyMode.QUICK:
            actual = vault.objects.stored_size(object_id)
            if actual is None:
                reason = "missing"
            elif actual != stored_size:
                reason = f"size is {actual} bytes, {stored_size} were written"
            step = stored_size
        else:
            try:
                vault.objects.verify(object_id, sha256, size, vault.identity, object_id)
            except IntegrityError as exc:
                reason = _short_reason(exc)
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
            step = size
        checked_bytes += step
        if progress is not None:
            progress(step)
        if reason is not None:
            paths = tuple(vault.index.paths_for_object(object_id)) or (_path,)
            damaged.append(Damage(object_id, paths, reason))
    return VerifyReport(mode, len(objects), checked_bytes, tuple(damaged))


def _short_reason(exc: IntegrityError) -> str:
    text = exc.message
    if "missing" in text:
        return "missing"
    if "different bytes" in text:
        return "decrypts to different bytes (hash mismatch)"
    return "cannot be decrypted (damaged, truncated or extended)"
