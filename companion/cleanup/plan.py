"""The cleanup plan: the flagged library items of one source, each ready to go or not, and why.

A library item is a **group**: the photo, its Live Photo movie, its edited render and its
``.AAE`` recipe (``Asset.live_group``, ``edited_of``, ``sidecar_of``). Deleting one in Photos
deletes them all, so a group is ready only when **every** file of it is held by the vault as the
source has it now (same size and modification time) and the latest full check of its object
(decrypt, re-hash against the SHA-256 taken while it was read) succeeded after the file was
recorded: ``Vault.held`` gives the facts, ``assess`` is the rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from companion.model import (
    CONTEXT_CATEGORIES,
    Asset,
    Finding,
    ScanRecord,
    StoredAsset,
    library_items,
)
from companion.vault import Held, Vault


class Readiness(StrEnum):
    """Whether a file (or, for a group, its worst file) may leave the source. Ordered from
    ready to the worst reason, so a group's readiness is the ``max`` of its files'."""

    READY = "ready"
    NOT_VERIFIED = "not verified"  # held, but no successful full check since it was stored
    CHANGED = "changed"  # the source's file differs (size, time) from the one in the vault
    NOT_BACKED_UP = "not backed up"  # the vault does not hold it
    DAMAGED = "damaged"  # the vault's copy failed its latest check, or its object is missing

    @property
    def rank(self) -> int:
        return list(Readiness).index(self)


@dataclass(frozen=True, slots=True)
class Member:
    """One file of a group: as the source lists it now, and as the vault holds it (if it does)."""

    asset: Asset
    stored: StoredAsset | None
    readiness: Readiness


@dataclass(frozen=True, slots=True)
class Group:
    """One library item. ``key`` is stable across runs and reveals nothing: the vault's keyed
    ``asset_id`` of the group's primary file (the photo or video the person sees)."""

    key: str
    primary: Asset
    members: tuple[Member, ...]  # the primary first, then its movie, edit and recipe
    findings: tuple[Finding, ...]  # verdicts only (never context), of every member's object

    @property
    def readiness(self) -> Readiness:
        return max((m.readiness for m in self.members), key=lambda r: r.rank)

    @property
    def ready(self) -> bool:
        return self.readiness is Readiness.READY

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(sorted({f.category for f in self.findings}))

    @property
    def size(self) -> int:
        """Bytes the group frees on the source: every file of it."""
        return sum(m.asset.size for m in self.members)

    def why_not(self) -> str:
        """Why the group cannot go yet, in words ("" when it is ready)."""
        blocking = [m for m in self.members if m.readiness is not Readiness.READY]
        return "; ".join(f"{m.asset.name}: {m.readiness.value}" for m in blocking)


@dataclass(frozen=True, slots=True)
class Plan:
    """The candidates of one concrete source (``usb:UDID``, ``folder:/abs/path``), made at
    ``made_at``; groups ordered by category, then capture time."""

    source: str
    made_at: datetime
    groups: tuple[Group, ...]

    def group(self, key: str) -> Group | None:
        return next((g for g in self.groups if g.key == key), None)

    def ready(self) -> tuple[Group, ...]:
        return tuple(g for g in self.groups if g.ready)

    def by_category(self) -> dict[str, tuple[Group, ...]]:
        """Each verdict category with its groups (a group under each of its categories)."""
        found: dict[str, list[Group]] = {}
        for g in self.groups:
            for category in g.categories:
                found.setdefault(category, []).append(g)
        return {c: tuple(gs) for c, gs in sorted(found.items())}

    def space(self, keys: frozenset[str] | set[str]) -> int:
        """Bytes freed by removing the groups ``keys`` (each counted once, whole)."""
        return sum(g.size for g in self.groups if g.key in keys)

    def objects(self) -> frozenset[str]:
        """The vault objects of every held member: what ``verify(..., objects=...)`` checks
        before a cleanup (``--verify-first``)."""
        return frozenset(m.stored.object_id for g in self.groups for m in g.members if m.stored)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the person chose in the review: the groups to remove (keys of ready groups only),
    or nothing at all when they cancelled."""

    chosen: frozenset[str]
    cancelled: bool = False


def assess(vault: Vault, asset: Asset) -> Member:
    """One file as the source lists it now, against the vault: the one rule for whether it may
    leave the source. The plan uses it for every member, and every executor again just before it
    acts (a backup or a verify may have run in between)."""
    (held,) = vault.held([asset])
    return _member(held)


def _member(held: Held) -> Member:
    """``assess``'s rule on what the vault knows of one file (``make_plan`` asks the vault about
    every listed file at once, then judges each here). Only a fully verified file is ready
    (``Held.verified``); otherwise the worst reason is given."""
    if held.stored is None:
        readiness = Readiness.NOT_BACKED_UP
    elif held.damaged:
        readiness = Readiness.DAMAGED
    elif not held.unchanged:
        readiness = Readiness.CHANGED
    elif not held.verified:
        readiness = Readiness.NOT_VERIFIED
    else:
        readiness = Readiness.READY
    return Member(held.asset, held.stored, readiness)


def make_plan(vault: Vault, listed: Iterable[Asset], *, source: str, now: datetime) -> Plan:
    """The cleanup plan of ``source`` from its current listing (``listed``; files of other
    sources are ignored), made at ``now``.

    A library item is a candidate when the latest scan of any of its files' stored objects is
    flagged (``ScanRecord.flagged``). Only what is listed now counts: a flagged file the source
    no longer lists is gone already, and a listed file the vault does not hold makes its group
    not ready. Reads the vault (one index query for the whole listing), never a file's bytes.
    """
    files = [a for a in listed if a.source == source]
    held = {h.asset.path: h for h in vault.held(files)}
    scans = vault.scans()
    groups: list[tuple[tuple[str, float, str], Group]] = []
    for item in library_items(files):
        members = tuple(_member(held[a.path]) for a in item)
        latest = [scans.get(m.stored.object_id) for m in members if m.stored is not None]
        scanned = [scan for scan in latest if scan is not None]
        if not any(scan.flagged() for scan in scanned):
            continue
        group = Group(vault.asset_id(item[0]), item[0], members, _verdicts(scanned))
        groups.append((_order(group), group))
    groups.sort(key=lambda pair: pair[0])
    return Plan(source=source, made_at=now, groups=tuple(g for _key, g in groups))


def _verdicts(scans: list[ScanRecord]) -> tuple[Finding, ...]:
    """The findings that say why a shot is private (not context), each once, in member order."""
    found = (f for scan in scans for f in scan.findings() if f.category not in CONTEXT_CATEGORIES)
    return tuple(dict.fromkeys(found))


def _order(group: Group) -> tuple[str, float, str]:
    """Category, then capture time (the vault's, when the listing has none, then the file's
    modification time), then path."""
    primary = group.members[0]
    held = primary.stored.asset.captured_at if primary.stored is not None else None
    captured = primary.asset.captured_at or held
    when = captured.timestamp() if captured is not None else primary.asset.mtime_ns / 1e9
    return (group.categories[0] if group.categories else "", when, group.primary.path)
