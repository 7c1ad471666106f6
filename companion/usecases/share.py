"""``companion share``: clean copies of the chosen photos, the private ones left out.

The order is the safety: the folder is checked first (not inside the vault, not on a mounted
phone), before any passphrase is asked; the vault is opened read-only (a backup may run
meanwhile); the items are chosen and judged (``companion.share.choose``); flagged or unscanned
items are added only when the person asked for them and confirmed the list (``Confirm``, the
command's typed word); then each file is written, complete or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from companion.errors import Cancelled
from companion.share import (
    Filters,
    Item,
    Options,
    ShareReport,
    Status,
    checked_folder,
    export,
    select,
)
from companion.share.export import Progress
from companion.vault import Vault, VaultRef

# Shown the flagged and unscanned items the person asked to include; True to go on.
Confirm = Callable[[Sequence[Item]], bool]


def share(
    vault: VaultRef,
    dest: Path,
    filters: Filters,
    options: Options,
    *,
    include_flagged: bool = False,
    confirm: Confirm | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ShareReport:
    """Write clean copies of what ``filters`` choose into ``dest`` (module docstring)."""
    folder = checked_folder(dest, vault.root)
    with vault.open() as opened:
        selection = select(opened.assets(), opened.scans(), filters)
        report = ShareReport(folder, dry_run=dry_run)
        chosen = list(selection.by_status(Status.OK))
        risky = selection.risky
        if include_flagged and risky:
            if not dry_run and (confirm is None or not confirm(risky)):
                raise Cancelled("the flagged photos were not confirmed", "Nothing was written.")
            report.included = [item.name for item in risky]
            chosen = list(selection.items)
        else:
            report.flagged = [i.name for i in selection.by_status(Status.FLAGGED)]
            report.not_scanned = [i.name for i in selection.by_status(Status.NOT_SCANNED)]
        if dry_run:
            report.would_write = [item.name for item in chosen]
            return report
        export(opened, chosen, folder, options, report, progress)
    return report


def share_ordinary(opened: Vault, dest: Path, count: int = 3) -> ShareReport:
    """The demo's step: clean copies of the first ``count`` photos the scan found ordinary
    (scanned, not flagged) in ``opened``, written into ``dest``."""
    folder = checked_folder(dest, opened.root)
    selection = select(opened.assets(), opened.scans(), Filters())
    photos = [i for i in selection.by_status(Status.OK) if i.shared.asset.kind.value == "photo"]
    report = ShareReport(folder)
    export(opened, photos[:count], folder, Options(), report)
    return report
