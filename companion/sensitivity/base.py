"""What a detector is and what it looks at (the registry that finds them is ``detectors``).

A ``Detector`` looks at one ``Subject`` (an asset and its bytes, decoded lazily) and returns a
``Verdict``: its findings and one line that says what it saw, for ``scan --explain``. Detectors
are registered by name with the categories they can report, their cost (the cascade runs the
cheapest first), the modules they need, and a version: a scan re-runs a detector on an asset only
when its version changed since the asset was last scanned.

The heavy libraries (onnxruntime, the OCR engine, zxing-cpp) are imported by the detector's
module when it is loaded, in the process that runs it, never by this module. A detector whose
modules are missing reports itself unavailable with the install hint; the others still run.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from companion.model import CONTEXT_CATEGORIES, Asset, Finding, Place

# Stable category names: --json, --only and the vault use them.
VERDICTS = (
    "nudity",
    "identity_document",
    "payment_card",
    "bank_details",
    "credentials",
    "secret_qr",
    "private_place",
    "medical",
)
CATEGORIES = VERDICTS + CONTEXT_CATEGORIES  # context last: it never flags a shot on its own
INSTALL_HINT = "Install the scan extra: python3 -m pip install 'companion[scan]'"


@dataclass(frozen=True, slots=True)
class Verdict:
    """One detector's result for one asset: what it found, and what it saw in a few words."""

    findings: tuple[Finding, ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class ScanSettings:
    """What detectors need besides the asset, the same for every asset of a scan (picklable:
    it travels to the worker processes)."""

    places: tuple[Place, ...] = ()
    # keep findings below their reporting threshold (``opinions.REPORT_AT``): the evaluation
    # draws precision and recall around it; a scan never sets it
    keep_weak: bool = False


class Subject(Protocol):
    """An asset and lazy views of its bytes (see ``companion.pictures.Subject``)."""

    asset: Asset
    cache: dict[str, Any]  # detectors share work here (face boxes, the OCR text)

    def reduced(self) -> Any: ...  # a PIL image, longest side about 1024 px, or None

    def full(self) -> Any: ...  # the whole image, or None

    def frames(self) -> list[Any]: ...  # what to look at: the reduced image, or video keyframes

    def gps(self) -> tuple[float, float] | None: ...

    def problem(self) -> str | None: ...  # why the bytes could not be decoded, if they could not


class Detector(Protocol):
    name: str
    version: str

    def applies_to(self, asset: Asset) -> bool: ...

    def detect(self, subject: Subject) -> Verdict: ...


def no_telemetry() -> None:
    """Call before anything imports onnxruntime (the nudity models, the OCR engine).

    Imported without ORT_DISABLE_TELEMETRY=1, onnxruntime writes a random device id and a
    telemetry database under ~/.cache/Microsoft (``$XDG_CACHE_HOME``) for its maker's telemetry.
    Nothing about a scan leaves this computer, so it is always off, whatever the environment says;
    set in ``os.environ``, it also holds in the worker processes the scan starts.
    """
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    """A registered detector: enough to plan a scan without importing anything heavy."""

    name: str
    categories: tuple[str, ...]
    cost: int  # cheapest first
    module: str  # imported when the detector is loaded; defines ``load(settings) -> Detector``
    requires: tuple[str, ...] = ()  # importable modules it needs
    describe: str = ""
    version_of: Callable[[ScanSettings], str] = field(default=lambda _settings: "1")

    def unavailable(self) -> str | None:
        """Why it cannot run here (a missing module), or None."""
        missing = [m for m in self.requires if importlib.util.find_spec(m) is None]
        if missing:
            return f"needs {', '.join(missing)}; {INSTALL_HINT}"
        return None

    def version(self, settings: ScanSettings) -> str:
        return self.version_of(settings)

    def load(self, settings: ScanSettings) -> Detector:
        no_telemetry()
        factory: Callable[[ScanSettings], Detector] = importlib.import_module(self.module).load
        return factory(settings)
