"""``companion cleanup``: plan, review, then remove only what the vault holds whole and verified.

The order is the safety: the executor refuses a source it cannot act on before anything is
asked; the source is listed and the plan made from the vault opened read-only (a backup can run
meanwhile); the person reviews (a page or the terminal: the ``Reviewer`` the caller gives, with
pictures decrypted in memory); only then is the vault opened for writing, and the executor
assesses each chosen group again just before it acts. ``--verify-first`` fully verifies the
candidates' objects before the plan is made, so the groups that only lacked a check can go.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from companion.cleanup.confirm import check as check_removals
from companion.cleanup.plan import Decision, Group, Plan, Readiness, make_plan
from companion.cleanup.remove import Executor
from companion.cleanup.report import CheckReport, CleanupReport
from companion.cleanup.review.thumbs import thumbnail_of, too_large
from companion.connectors import Connector
from companion.errors import CompanionError
from companion.usecases.check import Update, check
from companion.vault import Vault, VaultRef
from companion.vault.verify import VerifyMode, VerifyReport

Thumbnails = Callable[[str], bytes | None]
# Shows the plan to the person and returns what they chose: the page or the terminal.
Reviewer = Callable[[Plan, Thumbnails, Callable[[Group], str]], Decision]


@dataclass(frozen=True, slots=True)
class Outcome:
    """A cleanup run: the plan shown, what was chosen, what was done (None when nothing was
    chosen), and the check ``--verify-first`` ran."""

    plan: Plan
    decision: Decision
    report: CleanupReport | None
    verified: VerifyReport | None = None


def clean_up(
    connector: Connector,
    vault: VaultRef,
    executor: Executor,
    review: Reviewer,
    *,
    verify_first: bool = False,
    progress: Update | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Outcome:
    """Plan the flagged groups of ``connector``'s source, have the person choose, and act."""
    executor.prepare(connector)  # a source it cannot act on is refused before anything else
    vault = vault.asking_once()
    listed = list(connector.list_assets())
    verified = None
    if verify_first:
        with vault.open() as opened:
            first = make_plan(opened, listed, source=connector.source, now=clock())
        objects = _unchecked(first)
        if objects:
            verified = check(vault, VerifyMode.FULL, objects=objects, progress=progress)
    with vault.open() as opened:
        plan = make_plan(opened, listed, source=connector.source, now=clock())
        decision = review(plan, pictures(opened, plan), executor.describe)
    if decision.cancelled or not decision.chosen:
        return Outcome(plan, decision, None, verified)
    with vault.open(write=True) as opened:
        report = executor.execute(
            opened, plan, decision, connector, lambda: list(connector.list_assets())
        )
    return Outcome(plan, decision, report, verified)


def confirm_removals(connector: Connector, vault: VaultRef) -> CheckReport:
    """``cleanup --check``: read the source again and say, and record, what became of every
    photo planned for deletion by hand (in Recently Deleted, gone, still there)."""
    with vault.open(write=True) as opened:
        return check_removals(opened, connector)


def _unchecked(plan: Plan) -> set[str]:
    """The objects of the plan's groups whose only lack is a successful full check."""
    return {
        member.stored.object_id
        for group in plan.groups
        for member in group.members
        if member.stored is not None and member.readiness is Readiness.NOT_VERIFIED
    }


def pictures(opened: Vault, plan: Plan) -> Thumbnails:
    """A small JPEG of each group's primary, decrypted from the vault in memory (never from the
    source, never to disk); None when there is none to show (not stored, too large, damaged,
    not a picture). Safe to call from the review page's threads."""
    lock = threading.Lock()

    def thumbnail(key: str) -> bytes | None:
        group = plan.group(key)
        stored = group.members[0].stored if group is not None else None
        if group is None or stored is None or too_large(group.primary, stored.asset.size):
            return None
        with lock:
            try:
                data = opened.plaintext(stored)  # checked against the catalogue's hash
            except CompanionError:
                return None
        return thumbnail_of(data, group.primary)

    return thumbnail


def choose_all(plan: Plan, _pictures: Thumbnails, _describe: Callable[[Group], str]) -> Decision:
    """A reviewer that chooses every ready group (the demo's dry run; scripts use the terminal
    review with ``all``)."""
    return Decision(frozenset(g.key for g in plan.ready()))


__all__ = ["Outcome", "Reviewer", "choose_all", "clean_up", "confirm_removals", "pictures"]
