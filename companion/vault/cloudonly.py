"""Photos a phone holds only as previews, and whether the vault got their originals elsewhere.

With "Optimize iPhone Storage" on, an iPhone keeps small previews and leaves the originals in
iCloud: a USB backup cannot read them (``CloudOnly``) and reports them as failed. ``note``
records each such file once in the catalogue, as a ``cloud_only`` event naming the file as the
phone's library knows it (its name, its capture time, its identifier), so that ``companion
status`` can say, per USB source, how many of them the vault now holds from an iCloud backup and
how many are still missing (``summarize``).

Matching a phone's file with an iCloud picture (the two sources name files differently):
1. by identifier: the picture's iCloud identity as the phone's library records it
   (``ZCLOUDASSETGUID`` in Photos.sqlite, ``Asset.cloud_id``) equal to iCloud's record name for
   it (a photo not yet uploaded has none);
2. else by the original file name (letter case aside) and the capture time to the second,
   which both the phone's library and iCloud record for every picture.
A file the phone later gave whole (its original was downloaded on the phone, then backed up
again over USB) counts as backed up from the phone itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from companion.model import Asset, EventKind, StoredAsset, VaultEvent
from companion.vault.vault import Vault

ICLOUD_PREFIX = "icloud:"


@dataclass(frozen=True, slots=True)
class CloudOnlyFiles:
    """One source's files recorded as previews only: how many, how many the vault now holds
    (from the source itself later, or from iCloud, by identifier or by name and time), and how
    many are still missing."""

    source: str
    recorded: int
    from_source: int
    from_icloud_by_identifier: int
    from_icloud_by_name_and_time: int
    missing: int


def note(vault: Vault, assets: Sequence[Asset]) -> int:
    """Record the files of ``assets`` (the originals a backup found in iCloud only) that are not
    recorded yet; returns how many were new."""
    if not assets:
        return 0
    known = {event.asset_id for event in vault.index.events(EventKind.CLOUD_ONLY)}
    added = 0
    for asset in assets:
        asset_id = vault.asset_id(asset)
        if asset_id in known:
            continue
        known.add(asset_id)
        vault.record_event(
            VaultEvent(
                kind=EventKind.CLOUD_ONLY,
                at=vault.now(),
                asset_id=asset_id,
                source=asset.source,
                detail=json.dumps(_described(asset), sort_keys=True),
            )
        )
        added += 1
    return added


def summarize(vault: Vault, assets: Sequence[StoredAsset]) -> tuple[CloudOnlyFiles, ...]:
    """Per source with files recorded as previews only, where their originals are now
    (``assets``: what the vault holds now)."""
    held = {stored.asset_id for stored in assets}
    pictures = [s.asset for s in assets if s.asset.source.startswith(ICLOUD_PREFIX)]
    by_id = {a.cloud_id for a in pictures if a.cloud_id}
    by_name_time = {key for a in pictures if (key := _key(a.name, a.captured_at)) is not None}
    tallies: dict[str, list[int]] = {}
    for event in vault.index.events(EventKind.CLOUD_ONLY):
        source = event.source or ""
        tally = tallies.setdefault(source, [0, 0, 0, 0, 0])
        tally[0] += 1
        detail = _detail(event)
        if event.asset_id in held:
            tally[1] += 1
        elif detail.get("cloud_id") and detail["cloud_id"] in by_id:
            tally[2] += 1
        elif _key(str(detail.get("name", "")), _time(detail.get("captured_at"))) in by_name_time:
            tally[3] += 1
        else:
            tally[4] += 1
    return tuple(CloudOnlyFiles(source, *tallies[source]) for source in sorted(tallies))


def _described(asset: Asset) -> dict[str, str | None]:
    return {
        "path": asset.path,
        "name": asset.name,
        "uid": asset.uid,
        "cloud_id": asset.cloud_id,
        "captured_at": asset.captured_at.isoformat() if asset.captured_at else None,
    }


def _detail(event: VaultEvent) -> dict[str, str]:
    try:
        found = json.loads(event.detail or "{}")
    except ValueError:
        return {}
    return {k: v for k, v in found.items() if isinstance(v, str)} if isinstance(found, dict) else {}


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _key(name: str, captured_at: datetime | None) -> tuple[str, int] | None:
    """A file's name and capture second (UTC); None when either is unknown or the time has no
    zone (it could not be compared)."""
    if not name or captured_at is None or captured_at.utcoffset() is None:
        return None
    return name.casefold(), int(captured_at.timestamp())
