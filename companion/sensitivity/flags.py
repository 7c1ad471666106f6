"""Context from the Photos library itself: a screenshot, a photo already in the Hidden album.

These are not verdicts (a screenshot is not private by itself) but they tell the person why a
photo is worth a look, and they cost nothing: the flags were read from Photos.sqlite at backup.
"""

from __future__ import annotations

from companion.model import Asset, Finding
from companion.sensitivity.base import ScanSettings, Subject, Verdict

NAME = "flags"
VERSION = "1"


class FlagsDetector:
    name = NAME
    version = VERSION

    def applies_to(self, asset: Asset) -> bool:
        return True

    def detect(self, subject: Subject) -> Verdict:
        asset = subject.asset
        found = []
        if asset.screenshot or (asset.screenshot is None and _looks_like_screenshot(asset)):
            found.append(Finding("screenshot", NAME, 1.0, "a screenshot"))
        if asset.hidden:
            found.append(Finding("hidden", NAME, 1.0, "already in the Hidden album"))
        notes = [f.explanation for f in found]
        return Verdict(tuple(found), "; ".join(notes) or "no screenshot or Hidden flag")


def _looks_like_screenshot(asset: Asset) -> bool:
    """Without the library's flag (a folder source): a PNG named like the iPhone names them."""
    name = asset.name.lower()
    return name.endswith(".png") and (name.startswith("img_") or "screenshot" in name)


def load(settings: ScanSettings) -> FlagsDetector:
    return FlagsDetector()
