"""``companion backup``: a source into the vault, the way every caller does it.

The order matters to a person waiting: a phone's link (pairing, TLS) starts opening while the
passphrase unlocks the vault, and the phone is asked for its facts (where it may ask to be
trusted) before the first byte is counted, so a progress bar never sits at zero behind a dialog
on the phone.
"""

from __future__ import annotations

from companion.backup import DryRunStore, NoProgress, Progress, VaultStore, run_backup
from companion.connectors import Connector, Preparable
from companion.model import BackupReport
from companion.vault import Vault, VaultRef


def back_up(
    connector: Connector,
    vault: VaultRef,
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> BackupReport:
    """Store every new or changed asset of ``connector`` in the vault (``run_backup``)."""
    if isinstance(connector, Preparable) and vault.exists():
        connector.prepare()  # pairing and TLS go on while the passphrase unlocks the vault
    with vault.open(write=True) as opened:
        return back_up_into(connector, opened, jobs=jobs, progress=progress)


def back_up_into(
    connector: Connector,
    opened: Vault,
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> BackupReport:
    """``back_up`` into a vault already open for writing."""
    connector.info()  # connect (a phone may ask to be trusted) before progress starts
    return run_backup(connector, VaultStore(opened, jobs), progress or NoProgress())


def plan_backup(connector: Connector, vault: VaultRef) -> BackupReport:
    """What ``back_up`` would store, reading and writing nothing. Without a vault there yet,
    everything would be stored (and no passphrase is asked)."""
    if not vault.exists():
        return run_backup(connector, DryRunStore(None))
    with vault.open() as opened:
        return run_backup(connector, DryRunStore(opened))
