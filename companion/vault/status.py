"""A summary of what a vault holds, for ``companion status``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from companion.model import EventKind, VaultEvent
from companion.vault.unlock import key_files
from companion.vault.vault import Vault


@dataclass(frozen=True, slots=True)
class VaultStatus:
    assets: int
    by_kind: tuple[tuple[str, int], ...]
    bytes: int  # plaintext bytes of current assets
    stored_bytes: int  # ciphertext bytes of every object the catalogue references
    objects: int
    first_capture: datetime | None
    last_capture: datetime | None
    last_backup: VaultEvent | None
    last_verify: datetime | None
    verified_ok: int  # objects whose latest full check passed
    verified_bad: int  # objects whose latest full check failed
    segments: int
    passphrases: int


def summarize(vault: Vault) -> VaultStatus:
    kinds: Counter[str] = Counter()
    total = 0
    times: list[datetime] = []
    for stored in vault.assets():
        kinds[stored.asset.kind.value] += 1
        total += stored.asset.size
        if stored.asset.captured_at is not None:
            times.append(stored.asset.captured_at)
    objects = list(vault.index.objects())
    backups = list(vault.index.events(EventKind.BACKUP))
    latest: dict[str, bool] = {}
    last_verify = None
    for event in vault.index.events(EventKind.VERIFIED):
        if event.object_id is not None:
            latest[event.object_id] = bool(event.ok)
        last_verify = event.at
    return VaultStatus(
        assets=sum(kinds.values()),
        by_kind=tuple(sorted(kinds.items())),
        bytes=total,
        stored_bytes=sum(o[3] for o in objects),
        objects=len(objects),
        first_capture=min(times, default=None),
        last_capture=max(times, default=None),
        last_backup=backups[-1] if backups else None,
        last_verify=last_verify,
        verified_ok=sum(latest.values()),
        verified_bad=sum(not ok for ok in latest.values()),
        segments=len(vault.index.segments()),
        passphrases=len(key_files(vault.root)),
    )
