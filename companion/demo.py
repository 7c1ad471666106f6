"""The guided tour: the whole journey on generated photos, with no phone attached.

Until the simulated iPhone speaks USB, the tour reads a generated camera-roll folder through the
folder connector (the same code path as ``companion backup --from folder:...``). Each step is a
real library call against a real vault; ``narrate`` receives one line per step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from companion.backup import VaultStore, run_backup
from companion.connectors import connect
from companion.errors import IntegrityError
from companion.model import BackupReport
from companion.simulator.media import generate_camera_roll, write_camera_roll
from companion.vault import Vault
from companion.vault.crypto import DEFAULT_WORK_FACTOR
from companion.vault.restore import RestoreReport, restore
from companion.vault.status import VaultStatus, summarize
from companion.vault.verify import VerifyMode, VerifyReport, verify

DEMO_PASSPHRASE = "demo passphrase"  # noqa: S105 (the tour's throwaway vault; printed to the person)


@dataclass(frozen=True, slots=True)
class DemoReport:
    workdir: Path
    camera_roll: Path
    vault: Path
    restored: Path
    first_backup: BackupReport
    second_backup: BackupReport
    verify: VerifyReport
    restore: RestoreReport
    identical: int  # restored files byte-identical to the originals
    status: VaultStatus


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def run_demo(
    workdir: Path,
    narrate: Callable[[str], None],
    *,
    seed: int = 7,
    count: int = 24,
    work_factor: int = DEFAULT_WORK_FACTOR,
) -> DemoReport:
    """Generate a camera roll, back it up twice, verify, restore and compare. Raises on failure."""
    roll, vault_dir, restored = workdir / "camera-roll", workdir / "vault", workdir / "restored"
    narrate(
        f"1/6 Making a sample camera roll of {count} items (photos, screenshots, Live Photos, "
        "videos, an edit) in a folder: the simulated iPhone will replace it when USB "
        "support lands."
    )
    write_camera_roll(generate_camera_roll(seed, count), roll)
    narrate(f"2/6 Creating an encrypted vault (passphrase: {DEMO_PASSPHRASE!r}).")
    with Vault.create(vault_dir, DEMO_PASSPHRASE, work_factor=work_factor) as vault:
        connector = connect(f"folder:{roll}")
        narrate("3/6 Backing up: each file is hashed, encrypted and written once.")
        first = run_backup(connector, VaultStore(vault))
        narrate("4/6 Backing up again: nothing changed, so nothing is read.")
        second = run_backup(connector, VaultStore(vault))
        narrate("5/6 Verifying: decrypting every file and comparing its fingerprint.")
        checked = verify(vault, VerifyMode.FULL)
        narrate("6/6 Restoring into a new folder and comparing with the originals.")
        restored_report = restore(vault, restored)
        vault.flush()
        status = summarize(vault)
    originals, copies = _digests(roll), _digests(restored)
    identical = sum(copies.get(path) == digest for path, digest in originals.items())
    if identical != len(originals):
        raise IntegrityError(f"only {identical} of {len(originals)} files came back identical")
    return DemoReport(
        workdir,
        roll,
        vault_dir,
        restored,
        first,
        second,
        checked,
        restored_report,
        identical,
        status,
    )
