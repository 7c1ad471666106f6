"""``scan --explain``: every detector's verdict on one asset, run now, beside what is stored.

The asset is named by its path in the vault or by its file name (when only one asset has it).
Its bytes are decrypted in memory and every registered detector runs on them, including the ones
that found nothing, so a person sees why a photo was, or was not, flagged: each finding says what
its second check thought (``opinions``), and a finding the second check pushed below the
reporting threshold is shown too, marked as not reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from companion.errors import UsageError
from companion.model import DetectorRun, ScanRecord, StoredAsset
from companion.sensitivity.base import ScanSettings
from companion.sensitivity.detectors import registered
from companion.sensitivity.opinions import REPORT_AT
from companion.sensitivity.worker import Job, run_job
from companion.vault import Vault


@dataclass(frozen=True, slots=True)
class Explanation:
    path: str
    kind: str
    object_id: str
    runs: tuple[DetectorRun, ...]  # this run, every available detector
    unavailable: dict[str, str]
    stored: ScanRecord | None  # the vault's latest record, if the asset was scanned

    def lines(self) -> list[str]:
        out = []
        for run in self.runs:
            found = ", ".join(
                f"{f.category} {f.confidence:.2f}: {f.explanation}{_unreported(f.confidence)}"
                for f in run.findings
            )
            out.append(f"{run.detector:<7} v{run.version or '?':<4} {found or run.note}")
        out += [f"{name:<7} unavailable: {why}" for name, why in self.unavailable.items()]
        if self.stored is None:
            out.append("not scanned yet: run 'companion scan' to store the findings")
        return out


def _unreported(confidence: float) -> str:
    return f" (below {REPORT_AT:.2f}: not reported)" if confidence < REPORT_AT else ""


def find_asset(vault: Vault, wanted: str) -> StoredAsset:
    """The asset whose path, or else file name, is ``wanted``; a usage error otherwise."""
    assets = list(vault.assets())
    by_path = [s for s in assets if s.asset.path == wanted]
    matches = by_path or [s for s in assets if s.asset.name == wanted]
    if not matches:
        raise UsageError(f"no asset {wanted!r} in the vault", "See 'companion ls' for paths.")
    if len(matches) > 1:
        paths = ", ".join(s.asset.path for s in matches[:5])
        raise UsageError(f"{wanted!r} names {len(matches)} assets", f"Give the path: {paths}")
    return matches[0]


def explain_asset(vault: Vault, wanted: str) -> Explanation:
    stored = find_asset(vault, wanted)
    settings = ScanSettings(places=tuple(vault.places()), keep_weak=True)
    specs = registered()
    unavailable = {s.name: why for s in specs if (why := s.unavailable()) is not None}
    detectors = tuple((s.name, s.version(settings)) for s in specs if s.name not in unavailable)
    data = vault.plaintext(stored)  # a substituted object is an IntegrityError, not a verdict
    runs = run_job(data, Job(stored.asset, detectors, settings))
    return Explanation(
        stored.asset.path,
        stored.asset.kind.value,
        stored.object_id,
        runs,
        unavailable,
        vault.scans().get(stored.object_id),
    )
