"""``cleanup --check``: what became of the photos the person was to delete on the source itself.

A phone on a cable is never written (``remove.InPhotosExecutor``): the person deletes the chosen
photos in the Photos app, and this reads the vault's audit trail back (the files planned for
deletion by hand on this source, and not removed since), asks the source what became of each
(``RemovalChecker``) and records a ``removal_confirmed`` event (``detail``: what the source
showed) for each file now in Recently Deleted or gone, once per finding.
"""

from __future__ import annotations

from collections.abc import Sequence

from companion.cleanup.remove import IN_PHOTOS
from companion.cleanup.report import CheckReport, GroupCheck, where_in_photos
from companion.connectors import Connector, Removal, RemovalChecker, RemovalState
from companion.errors import UsageError, VaultError
from companion.model import EventKind, StoredAsset, VaultEvent, library_items
from companion.vault import Vault

# From still there to gone: a group is as far along as its least removed file.
_PROGRESS = (
    RemovalState.PRESENT,
    RemovalState.TRASHED,
    RemovalState.QUARANTINED,
    RemovalState.GONE,
)


def check(vault: Vault, connector: Connector) -> CheckReport:
    """Every group planned for deletion by hand on ``connector``'s source, as the source shows
    it now; confirmations recorded in ``vault`` (opened for writing). Reads the source, never
    writes it; a source lost meanwhile raises its ``DeviceError`` (nothing recorded)."""
    if not isinstance(connector, RemovalChecker):
        raise UsageError(
            f"{connector.source} cannot tell what became of removed files",
            hint="'--check' is for a phone on a cable, after deleting in the Photos app.",
        )
    if not vault.writable:
        raise VaultError("the check records what it finds in the vault: open it for writing")
    source = connector.source
    waiting = _waiting(vault.removal_events(source))
    stored = [held for asset_id in waiting if (held := vault.get(asset_id)) is not None]
    if not stored:
        return CheckReport(source, ())
    found = connector.removal_states([held.asset for held in stored])
    for held, removal in zip(stored, found, strict=True):
        known = waiting[held.asset_id]
        if removal.state is not RemovalState.PRESENT and known != removal.state.value:
            event = VaultEvent(
                EventKind.REMOVAL_CONFIRMED,
                vault.now(),
                asset_id=held.asset_id,
                ok=True,
                detail=removal.state.value,
                source=source,
            )
            vault.record_event(event)
    vault.flush()
    return CheckReport(source, _groups(vault, stored, found))


def _waiting(events: Sequence[VaultEvent]) -> dict[str, str | None]:
    """Files planned for deletion by hand and not removed by us since, in the order they were
    planned, each with what the latest confirmation since its planning found (None: none)."""
    waiting: dict[str, str | None] = {}
    for event in events:
        asset_id = event.asset_id
        if asset_id is None:
            continue
        if event.kind is EventKind.REMOVAL_PLANNED or event.kind is EventKind.REMOVED:
            waiting.pop(asset_id, None)  # planned again: counted from this planning on
            if event.kind is EventKind.REMOVAL_PLANNED and event.detail == IN_PHOTOS:
                waiting[asset_id] = None
        elif event.kind is EventKind.REMOVAL_CONFIRMED and (
            asset_id in waiting or event.detail == RemovalState.TRASHED.value
        ):  # deleted by hand, or moved by us to a Recently Deleted: followed until purged
            waiting[asset_id] = event.detail
    return waiting


def _groups(
    vault: Vault, stored: Sequence[StoredAsset], found: Sequence[Removal]
) -> tuple[GroupCheck, ...]:
    """The files by library item, as the plan groups them, each with its least removed state."""
    by_path = {removal.asset.path: removal for removal in found}
    groups = []
    for item in library_items([held.asset for held in stored]):
        removals = [by_path[asset.path] for asset in item]
        state = min((r.state for r in removals), key=_PROGRESS.index)
        purges = [r.purge_on for r in removals if r.purge_on is not None]
        primary = item[0]
        groups.append(
            GroupCheck(
                key=vault.asset_id(primary),
                name=primary.name,
                state=state,
                purge_on=max(purges) if purges else None,
                where=where_in_photos(primary),
            )
        )
    return tuple(groups)
