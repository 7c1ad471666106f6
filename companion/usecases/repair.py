"""``companion verify --full --repair``: make a damaged catalogue whole again (``vault.repair``).

The vault cannot know where a recovered object came from, so each one is named here from what
its own bytes say: its kind from its first bytes, its capture time from its EXIF (or QuickTime)
header when that sits in the part read, and a path under ``recovered/`` that a restore puts in a
folder of its own: ``recovered/2023-07/3fa9c1d20b7e.heic``.
"""

from __future__ import annotations

import io
import time
from datetime import datetime

from companion.connectors.metadata import read_facts
from companion.model import Asset, AssetKind
from companion.vault import VaultRef
from companion.vault.repair import Orphan, RepairReport, repair
from companion.vault.sniff import extension

SOURCE = "recovered"

_KINDS = {
    "jpg": AssetKind.PHOTO,
    "png": AssetKind.PHOTO,
    "gif": AssetKind.PHOTO,
    "heic": AssetKind.PHOTO,
    "mov": AssetKind.VIDEO,
    "mp4": AssetKind.VIDEO,
    "aae": AssetKind.SIDECAR,
}


def describe(orphan: Orphan) -> Asset:
    """The asset a recovered object is recorded as."""
    ext = extension(orphan.head)
    facts = read_facts(io.BytesIO(orphan.head), f".{ext}")
    captured = facts.captured_at if facts is not None else None
    folder = captured.strftime("%Y-%m") if captured is not None else "undated"
    return Asset(
        source=SOURCE,
        path=f"{SOURCE}/{folder}/{orphan.object_id[:12]}.{ext}",
        size=orphan.size,
        mtime_ns=_ns(captured),
        kind=_KINDS.get(ext, AssetKind.OTHER),
        captured_at=captured,
    )


def _ns(when: datetime | None) -> int:
    """The capture time, else now (the time of the repair): never 1970."""
    return int(when.timestamp()) * 1_000_000_000 if when is not None else time.time_ns()


def repair_vault(vault: VaultRef) -> RepairReport:
    """Repair the catalogue of the vault ``vault`` names (opened for writing)."""
    with vault.open(write=True) as opened:
        return repair(opened, describe)
