"""``scan``: run the detectors over the vault (findings stored, encrypted) or over a source
(findings only returned), cheapest first, incrementally, in parallel.

Incremental: the vault remembers, per stored object, which version of each detector looked at it
(``ScanRecord``). A scan runs on an object only the detectors that are new or changed since;
declaring a private place changes the places detector's version, so only that one runs again.
The same bytes stored under two paths are scanned once.

Nothing is written outside the vault: objects are decrypted in the memory of the process that
scans them; findings go to the vault's catalogue, encrypted like everything else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from companion.model import (
    Asset,
    AssetKind,
    DetectorRun,
    Finding,
    ScanRecord,
    StoredAsset,
    is_flagged,
)
from companion.sensitivity.base import DetectorSpec, ScanSettings
from companion.sensitivity.detectors import select
from companion.sensitivity.worker import FAILED, Job, JobResult, scan_job
from companion.vault import Vault
from companion.vault.pool import auto_workers

# Objects are decrypted in the memory of the worker that scans them (two per worker in flight), so
# memory is bounded by these. Longer videos are not scanned and say so; a photo is far smaller.
MAX_VIDEO_BYTES = 100 * 1000 * 1000
MAX_IMAGE_BYTES = 200 * 1000 * 1000
PARALLEL_MIN_ITEMS = 8
SCANNED_KINDS = (AssetKind.PHOTO, AssetKind.VIDEO)


@dataclass(frozen=True, slots=True)
class AssetScan:
    """One asset and what the detectors said about its bytes."""

    asset: Asset
    asset_id: str | None
    runs: tuple[DetectorRun, ...]

    def findings(self, only: Sequence[str] | None = None) -> list[Finding]:
        found = [f for run in self.runs for f in run.findings]
        return [f for f in found if not only or f.category in only]

    def flagged(self, only: Sequence[str] | None = None) -> bool:
        """True when a finding is a verdict, not only context (``model.is_flagged``)."""
        return is_flagged(self.runs, only)


@dataclass
class ScanReport:
    scanned: int = 0  # objects the detectors looked at in this run
    up_to_date: int = 0  # objects every selected detector had already seen at its version
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    # (path, why) of files looked at in this run whose bytes no detector could decode: an
    # empty file, an unknown format, a picture cut short. Scanned (and recorded) all the same.
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    too_large: list[str] = field(default_factory=list)  # paths not scanned: over the size bound
    unavailable: dict[str, str] = field(default_factory=dict)  # detector -> why, with the hint
    results: list[AssetScan] = field(default_factory=list)  # every scanned asset, scan order
    only: tuple[str, ...] | None = None

    def flagged(self) -> list[AssetScan]:
        return [r for r in self.results if r.flagged(self.only)]

    def counts(self) -> dict[str, int]:
        """Assets per category (each asset once per category)."""
        counts: dict[str, int] = {}
        for result in self.results:
            for category in {f.category for f in result.findings(self.only)}:
                counts[category] = counts.get(category, 0) + 1
        return dict(sorted(counts.items()))


Progress = Callable[[int, int], None]  # (done, total)


def plan(only: Sequence[str] | None) -> tuple[list[DetectorSpec], dict[str, str]]:
    """The detectors to run (available ones, cheapest first) and the unavailable ones."""
    specs = select(only)
    unavailable = {s.name: why for s in specs if (why := s.unavailable()) is not None}
    return [s for s in specs if s.name not in unavailable], unavailable


def scan_vault(
    vault: Vault,
    *,
    only: Sequence[str] | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    now: Callable[[], datetime] | None = None,
) -> ScanReport:
    """Scan what the vault holds that the current detectors have not seen; record the results."""
    specs, unavailable = plan(only)
    settings = ScanSettings(places=tuple(vault.places()))
    versions = {s.name: s.version(settings) for s in specs}
    report = ScanReport(unavailable=unavailable, only=tuple(only) if only else None)
    previous = vault.scans()
    todo: list[tuple[StoredAsset, Job]] = []
    seen: set[str] = set()
    for stored in vault.assets():
        if stored.asset.kind not in SCANNED_KINDS or stored.object_id in seen:
            continue
        seen.add(stored.object_id)
        before = previous.get(stored.object_id)
        needed = tuple(
            (name, version)
            for name, version in versions.items()
            if before is None or (run := before.run(name)) is None or run.version != version
        )
        if not needed:
            report.up_to_date += 1
            if before is not None:
                report.results.append(AssetScan(stored.asset, stored.asset_id, before.runs))
            continue
        if _too_large(stored.asset):
            report.too_large.append(stored.asset.path)
            continue
        todo.append((stored, Job(stored.asset, needed, settings)))
    for stored, result in _run(vault, todo, jobs, progress, report):
        if result.unreadable is not None:
            report.unreadable.append((stored.asset.path, result.unreadable))
        merged = _merge(previous.get(stored.object_id), result.runs, versions)
        stamp = now() if now else vault.now()
        vault.record_scan(ScanRecord(stored.object_id, stamp, merged))
        report.results.append(AssetScan(stored.asset, stored.asset_id, merged))
        report.scanned += 1
    vault.flush()
    return report


def _run(
    vault: Vault,
    todo: list[tuple[StoredAsset, Job]],
    jobs: int | None,
    progress: Progress | None,
    report: ScanReport,
) -> Iterator[tuple[StoredAsset, JobResult]]:
    total = len(todo)
    workers = jobs or (auto_workers(0, total) if total >= PARALLEL_MIN_ITEMS else 1)
    if workers <= 1:
        for done, (stored, job) in enumerate(todo, 1):
            try:
                data = vault.plaintext(stored)  # checked against the catalogue's hash
            except Exception as exc:  # a damaged or substituted object: reported, scan goes on
                report.failed.append((stored.asset.path, str(exc)))
                continue
            yield stored, scan_job(data, job)
            if progress:
                progress(done, total)
        return
    by_object = {stored.object_id: stored for stored, _ in todo}
    items = [(s.object_id, s.sha256, s.asset.size, job) for s, job in todo]
    task = vault.plaintext_task(scan_job)
    with vault.pool(workers) as pool:
        for done, (item, result) in enumerate(pool.run(task, items, lambda _n: None), 1):
            stored = by_object[item[0]]
            if isinstance(result, BaseException):
                report.failed.append((stored.asset.path, str(result)))
            else:
                yield stored, result
            if progress:
                progress(done, total)


def _too_large(asset: Asset) -> bool:
    limit = MAX_VIDEO_BYTES if asset.kind is AssetKind.VIDEO else MAX_IMAGE_BYTES
    return asset.size > limit


def _merge(
    before: ScanRecord | None, runs: tuple[DetectorRun, ...], versions: dict[str, str]
) -> tuple[DetectorRun, ...]:
    """This run's results, plus earlier ones that are still current (other detectors)."""
    fresh = {run.detector for run in runs}
    kept = [
        run
        for run in (before.runs if before else ())
        if run.detector not in fresh and versions.get(run.detector, run.version) == run.version
    ]
    return tuple(kept) + runs


def scan_assets(
    items: Iterable[tuple[Asset, Callable[[], bytes]]],
    *,
    only: Sequence[str] | None = None,
    settings: ScanSettings | None = None,
    progress: Progress | None = None,
    total: int = 0,
) -> ScanReport:
    """Scan assets read from a source, in this process; nothing is stored (``--from``)."""
    specs, unavailable = plan(only)
    settings = settings or ScanSettings()
    versions = tuple((s.name, s.version(settings)) for s in specs)
    report = ScanReport(unavailable=unavailable, only=tuple(only) if only else None)
    for done, (asset, read) in enumerate(items, 1):
        if asset.kind in SCANNED_KINDS:
            if _too_large(asset):
                report.too_large.append(asset.path)
            else:
                try:
                    data = read()
                except Exception as exc:  # the source could not give this file: next one
                    report.failed.append((asset.path, str(exc)))
                else:
                    result = scan_job(data, Job(asset, versions, settings))
                    if result.unreadable is not None:
                        report.unreadable.append((asset.path, result.unreadable))
                    report.results.append(AssetScan(asset, None, result.runs))
                    report.scanned += 1
        if progress:
            progress(done, total)
    return report


def flagged_in_vault(vault: Vault) -> int:
    """How many stored photos and videos the latest scans flagged (verdicts, not context)."""
    scans = vault.scans()
    return sum(
        1
        for stored in vault.assets()
        if (scan := scans.get(stored.object_id)) is not None and scan.flagged()
    )


def failed_runs(report: ScanReport) -> list[tuple[str, str, str]]:
    """(path, detector, why) for every detector that failed on an asset in this scan."""
    return [
        (r.asset.path, run.detector, run.note)
        for r in report.results
        for run in r.runs
        if run.version == FAILED
    ]
