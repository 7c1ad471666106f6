"""Running the detectors on one asset's bytes, in whatever process holds them.

Each process loads a detector once, the first time a job needs it, and keeps it: models load in
about a second, an asset takes tens of milliseconds. ``run_job`` is a module-level function so a
worker process can be handed it (``Vault.plaintext_task``). A detector that raises is reported as
failed for this asset, without a version, so the next scan tries it again; the others go on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from companion.model import Asset, DetectorRun
from companion.pictures import Subject
from companion.sensitivity.base import Detector, ScanSettings, Verdict
from companion.sensitivity.detectors import registered

log = logging.getLogger(__name__)

FAILED = ""  # the version recorded for a run that failed: never current, so it runs again

_loaded: dict[tuple[str, ScanSettings], Detector] = {}


@dataclass(frozen=True, slots=True)
class Job:
    """What to run on one asset: detector names (cheapest first) with their current versions."""

    asset: Asset
    detectors: tuple[tuple[str, str], ...]
    settings: ScanSettings


def _detector(name: str, settings: ScanSettings) -> Detector:
    key = (name, settings)
    if key not in _loaded:
        spec = next(s for s in registered() if s.name == name)
        _loaded[key] = spec.load(settings)
    return _loaded[key]


@dataclass(frozen=True, slots=True)
class JobResult:
    """The runs of one job, and why its bytes could not be decoded, if a detector found so."""

    runs: tuple[DetectorRun, ...]
    unreadable: str | None = None


def scan_job(data: bytes, job: Job) -> JobResult:
    """``run_job``, telling also whether the bytes were a readable picture or movie."""
    subject = Subject(job.asset, data)
    return JobResult(_runs(subject, job), subject.unreadable())


def run_job(data: bytes, job: Job) -> tuple[DetectorRun, ...]:
    """Every detector of ``job`` on ``data``, in order; one run each."""
    return _runs(Subject(job.asset, data), job)


def _runs(subject: Subject, job: Job) -> tuple[DetectorRun, ...]:
    runs = []
    for name, current in job.detectors:
        version = current
        try:
            detector = _detector(name, job.settings)
            if not detector.applies_to(job.asset):
                runs.append(DetectorRun(name, version, (), "does not apply to this kind of file"))
                continue
            verdict = detector.detect(subject)
        except Exception as exc:  # one detector failing on one file must not stop the scan
            log.debug("detector %s failed on %s", name, job.asset.path, exc_info=True)
            verdict = Verdict(note=f"failed: {type(exc).__name__}: {str(exc)[:100]}")
            version = FAILED
        runs.append(DetectorRun(name, version, verdict.findings, verdict.note))
    return tuple(runs)
