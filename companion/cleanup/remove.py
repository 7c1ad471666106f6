"""What happens to the groups the person chose, per source; each step is an event in the vault.

One protocol, ``Executor``, and one executor per way of removing:

- ``QuarantineExecutor(folder)`` and ``DeleteExecutor()``, for a source that removes files
  itself (``Remover``: a folder; iCloud, into its Recently Deleted): each chosen group's files
  are moved under the quarantine folder, or deleted (``removal_planned`` then ``removed`` per
  file, and ``removal_confirmed`` once a source that can check was read again);
- ``InPhotosExecutor()``, for a phone on a cable (``RemovalChecker``): the phone is never
  written (deleting over AFC corrupts the Photos library), so nothing is removed; each file is
  recorded as planned and the report says where the person finds each photo in the Photos app.
  ``confirm.check`` later reads the phone again and records what became of them;
- ``DryRunExecutor(executor)``: what the other would do; records nothing, changes nothing (a
  dry run is another executor, not a flag).

The safety rule, the same for all: just before a group is acted on, each of its files as the
source lists it now is assessed against the vault again (``plan.assess``), and so is any file
that joined the group since the plan (an edit made meanwhile: deleting the photo in Photos
would take it too). A group with one file that is not ready, or that is no longer listed, is
refused: a ``removal_refused`` event per file and none of its files touched.

A refused group does not stop the run: each group is assessed on its own, just before it is
acted on, so stopping would only leave the person's other choices half done for no safety
gained. The report lists the refusals and ``CleanupReport.error()`` is the ``UnsafeDelete``
(exit 14) the command raises once it has shown the report.

The source is listed once per run (``listed_now``, before the first group), not once per group:
a phone's listing reads its whole library. What could change between that listing and the act
is closed by the remover itself, which moves a file only if it still has the listed size and
modification time.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from companion.cleanup.plan import Decision, Group, Plan, Readiness, assess
from companion.cleanup.report import CleanupReport, GroupResult, where_in_photos
from companion.connectors import Connector, RemovalChecker, RemovalState, Remover
from companion.errors import SourceUnavailable, UsageError, VaultError
from companion.model import Asset, EventKind, VaultEvent, library_items
from companion.vault import Vault

Listing = Callable[[], Iterable[Asset]]

IN_PHOTOS = "deleted by hand in Photos"
QUARANTINED = "moved to quarantine"
DELETED = "deleted"


class Executor(Protocol):
    """Carries out a person's decision on one source.

    ``prepare(connector)`` refuses a source it cannot act on (``UsageError``: a folder on a
    mounted phone, a source that cannot remove), touching nothing; call it before the review.
    ``describe(group)`` is one sentence for the confirmation: what will happen to that group.
    ``execute`` re-checks each chosen group (module docstring), acts on the ready ones in the
    plan's order and records each step in ``vault`` (opened for writing); it returns the report.
    The plan, the connector and the listing must be of one source (``UsageError`` otherwise).
    """

    method: str

    def prepare(self, connector: Connector) -> None: ...

    def describe(self, group: Group) -> str: ...

    def execute(
        self,
        vault: Vault,
        plan: Plan,
        decision: Decision,
        connector: Connector,
        listed_now: Listing,
    ) -> CleanupReport: ...


@dataclass
class _Tally:
    removed: list[GroupResult] = field(default_factory=list)
    by_hand: list[GroupResult] = field(default_factory=list)
    would_remove: list[GroupResult] = field(default_factory=list)
    refused: list[GroupResult] = field(default_factory=list)
    still_present: list[GroupResult] = field(default_factory=list)
    freed: int = 0

    def report(self, source: str, method: str, *, dry_run: bool) -> CleanupReport:
        return CleanupReport(
            source,
            method,
            tuple(self.removed),
            tuple(self.by_hand),
            tuple(self.would_remove),
            tuple(self.refused),
            tuple(self.still_present),
            self.freed,
            dry_run,
        )


class _Now:
    """The source as listed at the start of a run, by library item: a group's files now."""

    def __init__(self, listed: Iterable[Asset], source: str) -> None:
        files = [a for a in listed if a.source == source]
        self._item: dict[str, tuple[Asset, ...]] = {}
        for item in library_items(files):
            for asset in item:
                self._item[asset.path] = item

    def recheck(self, vault: Vault, group: Group) -> tuple[tuple[Asset, ...], str]:
        """The group's files as listed now (those of the plan, and any that joined it), and
        why the group may not go ("" when every one of them is ready)."""
        files: dict[str, Asset] = {}
        why: list[str] = []
        for member in group.members:
            item = self._item.get(member.asset.path)
            if item is None:
                why.append(f"{member.asset.name}: no longer on the source")
                continue
            files.update((a.path, a) for a in item)
        for asset in files.values():
            readiness = assess(vault, asset).readiness
            if readiness is not Readiness.READY:
                why.append(f"{asset.name}: {readiness.value}")
        return tuple(files.values()), "; ".join(why)


class _Executing(abc.ABC):
    """What every executor shares: the checks, the re-check of each group, the refusals; each
    says how it acts on a group that passed (``_act``)."""

    method = ""
    records = True  # a dry run records nothing

    def prepare(self, connector: Connector) -> None:
        return None

    def execute(
        self,
        vault: Vault,
        plan: Plan,
        decision: Decision,
        connector: Connector,
        listed_now: Listing,
    ) -> CleanupReport:
        tally = _Tally()
        if decision.cancelled or not decision.chosen:
            return tally.report(plan.source, self.method, dry_run=not self.records)
        if self.records and not vault.writable:
            raise VaultError("cleanup records each step in the vault: open it for writing")
        if connector.source != plan.source:
            raise UsageError(
                f"the plan is for {plan.source}, not {connector.source}",
                hint="Plan and execute against the same source.",
            )
        self.prepare(connector)
        now = _Now(listed_now(), plan.source)
        for group in plan.groups:
            if group.key not in decision.chosen:
                continue
            files, why = now.recheck(vault, group)
            if why:
                self._refuse(vault, plan, group, files, why, tally)
            else:
                self._act(vault, plan, group, files, connector, tally)
        unknown = decision.chosen - {g.key for g in plan.groups}
        tally.refused += [GroupResult(key, key, 0, "not in the plan") for key in sorted(unknown)]
        if self.records:
            vault.flush()
        return tally.report(plan.source, self.method, dry_run=not self.records)

    @abc.abstractmethod
    def _act(
        self,
        vault: Vault,
        plan: Plan,
        group: Group,
        files: tuple[Asset, ...],
        connector: Connector,
        tally: _Tally,
    ) -> None: ...

    def _refuse(
        self,
        vault: Vault,
        plan: Plan,
        group: Group,
        files: tuple[Asset, ...],
        why: str,
        tally: _Tally,
    ) -> None:
        tally.refused.append(GroupResult(group.key, group.primary.name, group.size, why))
        if self.records:
            listed = {a.path for a in files}
            every = [*files, *(m.asset for m in group.members if m.asset.path not in listed)]
            for asset in every:
                _record(vault, plan, EventKind.REMOVAL_REFUSED, asset, why, ok=False)


def _record(
    vault: Vault, plan: Plan, kind: EventKind, asset: Asset, detail: str, ok: bool | None = None
) -> None:
    event = VaultEvent(
        kind, vault.now(), asset_id=vault.asset_id(asset), ok=ok, detail=detail, source=plan.source
    )
    vault.record_event(event)


def _files(group: Group) -> str:
    others = len(group.members) - 1
    if others == 0:
        return group.primary.name
    return f"{group.primary.name} and its {others} other file{'s' if others > 1 else ''}"


class _Removing(_Executing):
    """Executors for a ``Remover`` source: ``quarantine`` is where files go (None: deleted)."""

    quarantine: Path | None = None
    trashes = False

    def prepare(self, connector: Connector) -> None:
        if not isinstance(connector, Remover):
            raise UsageError(
                f"{connector.source} cannot remove files itself",
                hint="For a phone on a cable, delete the photos in the Photos app: the cleanup "
                "lists them and 'companion cleanup --check' confirms.",
            )
        # The remover's refusals (a mounted phone, a quarantine inside the source) come before
        # it touches anything, even for no files: asked here, before any group.
        connector.remove([], quarantine=self.quarantine)
        # One that can also check (iCloud) keeps what it removes in Recently Deleted a while.
        self.trashes = isinstance(connector, RemovalChecker)

    def _act(
        self,
        vault: Vault,
        plan: Plan,
        group: Group,
        files: tuple[Asset, ...],
        connector: Connector,
        tally: _Tally,
    ) -> None:
        assert isinstance(connector, Remover)
        for asset in files:
            _record(vault, plan, EventKind.REMOVAL_PLANNED, asset, self.method)
        failed: list[str] = []
        where = ""
        for asset in files:  # one call per file: a failure names exactly the file it concerns
            try:
                (removal,) = connector.remove([asset], quarantine=self.quarantine)
            except SourceUnavailable as exc:
                failed.append(f"{asset.name}: {exc.message}")
                continue
            _record(vault, plan, EventKind.REMOVED, asset, self.method, ok=True)
            tally.freed += asset.size
            if asset.path == group.primary.path and removal.where is not None:
                where = f": {removal.where}"
        if not failed and isinstance(connector, RemovalChecker):
            failed = _confirmed(vault, plan, connector, files)
        if failed:
            tally.still_present.append(
                GroupResult(group.key, group.primary.name, group.size, "; ".join(failed))
            )
        else:
            detail = f"{self.method}{where}"
            tally.removed.append(GroupResult(group.key, group.primary.name, group.size, detail))


def _confirmed(
    vault: Vault, plan: Plan, connector: RemovalChecker, files: tuple[Asset, ...]
) -> list[str]:
    """The source read again after the move: each file it no longer shows is confirmed."""
    found = connector.removal_states(files)
    for removal in found:
        if removal.state is not RemovalState.PRESENT:
            detail = removal.state.value
            _record(vault, plan, EventKind.REMOVAL_CONFIRMED, removal.asset, detail, ok=True)
    return [f"{r.asset.name}: {r.state.value}" for r in found if r.state is RemovalState.PRESENT]


class QuarantineExecutor(_Removing):
    """Moves each chosen group's files under ``folder``, keeping their paths; never deletes."""

    method = QUARANTINED

    def __init__(self, folder: Path) -> None:
        self.quarantine = folder

    def describe(self, group: Group) -> str:
        return f"{_files(group)} will be moved to {self.quarantine} (kept there, not deleted)."


class DeleteExecutor(_Removing):
    """Deletes each chosen group's files from the source (the vault keeps the verified copy)."""

    method = DELETED

    def describe(self, group: Group) -> str:
        where = "moved to Recently Deleted" if self.trashes else "deleted from the folder for good"
        return f"{_files(group)} will be {where}; the vault keeps the verified copy."


class InPhotosExecutor(_Executing):
    """For a phone on a cable: removes nothing, records each file as planned, and lists where
    the person finds each photo in the Photos app."""

    method = IN_PHOTOS

    def prepare(self, connector: Connector) -> None:
        if not isinstance(connector, RemovalChecker):
            raise UsageError(
                f"{connector.source} cannot confirm removals made on it",
                hint="Choose --quarantine DIR (or --delete) for a folder.",
            )

    def describe(self, group: Group) -> str:
        return (
            f"{where_in_photos(group.primary)}: stays on the iPhone until you delete it in "
            "Photos; 'companion cleanup --check' then confirms."
        )

    def _act(
        self,
        vault: Vault,
        plan: Plan,
        group: Group,
        files: tuple[Asset, ...],
        connector: Connector,
        tally: _Tally,
    ) -> None:
        for asset in files:
            _record(vault, plan, EventKind.REMOVAL_PLANNED, asset, self.method)
        where = where_in_photos(group.primary)
        tally.by_hand.append(GroupResult(group.key, group.primary.name, group.size, where))


class DryRunExecutor(_Executing):
    """What ``executor`` would do, group by group, after the same re-check; nothing recorded,
    nothing changed (its ``prepare`` is asked too: it touches nothing)."""

    records = False

    def __init__(self, executor: Executor) -> None:
        self._inner = executor
        self.method = executor.method

    def prepare(self, connector: Connector) -> None:
        self._inner.prepare(connector)

    def describe(self, group: Group) -> str:
        return f"Dry run, nothing changes now; otherwise: {self._inner.describe(group)}"

    def _act(
        self,
        vault: Vault,
        plan: Plan,
        group: Group,
        files: tuple[Asset, ...],
        connector: Connector,
        tally: _Tally,
    ) -> None:
        detail = self._inner.describe(group)
        tally.would_remove.append(GroupResult(group.key, group.primary.name, group.size, detail))
        tally.freed += sum(a.size for a in files)


def executor_for(
    connector: Connector, *, quarantine: Path | None, delete: bool, dry_run: bool
) -> Executor:
    """The executor for this source, chosen by what it can do (``Remover``: a quarantine
    folder, or ``delete``; ``RemovalChecker``: deleted by hand), wrapped in a dry run if asked.
    ``UsageError`` for options that do not fit the source."""
    executor: Executor
    if isinstance(connector, Remover):
        if delete and quarantine is None:
            executor = DeleteExecutor()
        elif quarantine is not None and not delete:
            executor = QuarantineExecutor(quarantine)
        else:
            raise UsageError(
                f"say what becomes of the chosen files of {connector.source}",
                hint="Give --quarantine DIR (they are moved there) or --delete, not both.",
            )
    elif isinstance(connector, RemovalChecker):
        if delete or quarantine is not None:
            raise UsageError(
                "a phone on a cable is never written: you delete the photos in Photos",
                hint="Leave out --quarantine and --delete; 'cleanup --check' confirms after.",
            )
        executor = InPhotosExecutor()
    else:
        raise UsageError(f"companion cannot take photos off {connector.source} yet")
    return DryRunExecutor(executor) if dry_run else executor
