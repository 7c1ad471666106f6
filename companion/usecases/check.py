"""``companion verify`` and ``companion restore``: the vault read back.

Progress is ``(done, total)`` in bytes, the total known before the first byte: what a progress
bar, the command line's or the demo's, needs.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Collection
from datetime import datetime
from pathlib import Path

from companion.vault import Vault, VaultRef
from companion.vault.pool import WorkerPool, default_workers
from companion.vault.restore import RestoreReport, restore
from companion.vault.verify import VerifyMode, VerifyReport, verify

Update = Callable[[int, int], None]  # (bytes done, bytes in all)


class _Running:
    """Byte counts as they come, told as (done, total)."""

    def __init__(self, update: Update | None) -> None:
        self._update, self._done, self._total = update, 0, 0

    def start(self, total: int) -> None:
        self._total = total
        if self._update is not None:
            self._update(0, total)

    def __call__(self, nbytes: int) -> None:
        self._done += nbytes
        if self._update is not None:
            self._update(self._done, self._total)


def check(
    vault: VaultRef,
    mode: VerifyMode,
    *,
    sample_pct: float = 100.0,
    jobs: int | None = None,
    progress: Update | None = None,
    rng: random.Random | None = None,
    objects: Collection[str] | None = None,
) -> VerifyReport:
    """Verify the vault (``vault.verify``) in ``mode``, recording what a decrypting check found;
    with ``objects``, only those object ids (a cleanup plan's members, say).

    A decrypting check with more than one worker starts its workers first, from the vault's
    public marker: they start while scrypt unlocks the vault.
    """
    workers = jobs or default_workers()
    decrypting = mode is not VerifyMode.QUICK
    with contextlib.ExitStack() as stack:
        pool = None
        if decrypting and workers > 1:
            pool = stack.enter_context(WorkerPool.for_vault(vault.root, workers))
        opened = stack.enter_context(vault.open(write=decrypting))
        return check_opened(
            opened,
            mode,
            sample_pct=sample_pct,
            progress=progress,
            rng=rng,
            pool=pool,
            objects=objects,
        )


def check_opened(
    opened: Vault,
    mode: VerifyMode,
    *,
    sample_pct: float = 100.0,
    progress: Update | None = None,
    rng: random.Random | None = None,
    pool: WorkerPool | None = None,
    objects: Collection[str] | None = None,
) -> VerifyReport:
    """``check`` on a vault already open (for writing, unless ``mode`` is quick)."""
    running = _Running(progress)
    return verify(
        opened,
        mode,
        sample_pct=sample_pct,
        rng=rng or random.SystemRandom(),
        progress=running,
        pool=pool,
        planned=running.start,
        objects=objects,
    )


def restore_to(
    vault: VaultRef,
    target: Path,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    progress: Update | None = None,
) -> RestoreReport:
    """Restore what was captured in [since, until) into ``target`` (``vault.restore``)."""
    with vault.open() as opened:
        return restore_opened(opened, target, since=since, until=until, progress=progress)


def restore_opened(
    opened: Vault,
    target: Path,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    progress: Update | None = None,
    source: str | None = None,
) -> RestoreReport:
    """``restore_to`` from a vault already open (only ``source``'s files, if given)."""
    running = _Running(progress)
    chosen = opened.assets(since, until)
    running.start(sum(s.asset.size for s in chosen if source in (None, s.asset.source)))
    return restore(opened, target, since=since, until=until, progress=running, source=source)
