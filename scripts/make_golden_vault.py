"""Write the golden vault that every later version of companion must still open.

    python scripts/make_golden_vault.py tests/golden/vault-v1

Run it only when the vault format version changes (then write to a new folder, e.g. vault-v2,
and keep the old one): the point of a golden vault is that it was made by an old version.
It backs up a small, fixed camera roll (made in code, the same every time) and writes
``manifest.json`` beside the vault: path -> SHA-256 of each original.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from companion.backup import VaultStore, run_backup
from companion.connectors import connect
from companion.simulator.media import generate_camera_roll, write_camera_roll
from companion.vault import Vault
from companion.vault.verify import VerifyMode, verify

PASSPHRASE = "golden vault v1"
WORK_FACTOR = 10  # keeps the test fast; the format allows 10..22


def main(target: Path) -> None:
    if target.exists():
        sys.exit(f"{target} exists; golden vaults are never rewritten")
    with tempfile.TemporaryDirectory() as scratch:
        roll = Path(scratch) / "roll"
        write_camera_roll(generate_camera_roll(2024, 11, image_size=(160, 120)), roll)
        (roll / "DCIM" / "100APPLE" / "IMG_0099.JPG").write_bytes(b"")  # an empty file
        fixed = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
        with Vault.create(
            target / "vault", PASSPHRASE, work_factor=WORK_FACTOR, clock=lambda: fixed
        ) as vault:
            run_backup(connect(f"folder:{roll}"), VaultStore(vault))
            assert verify(vault, VerifyMode.FULL).ok
        manifest = {
            p.relative_to(roll).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(roll.rglob("*"))
            if p.is_file()
        }
    (target / "manifest.json").write_text(
        json.dumps({"passphrase": PASSPHRASE, "files": manifest}, indent=2) + "\n"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description="Write a golden vault (and its manifest.json) into a new folder."
    )
    parser.add_argument("target", type=Path, help="a folder that does not exist yet")
    main(parser.parse_args().target)
