"""Photos taken at a private place the person declared (home, a doctor's office...).

The position comes from the photo's EXIF GPS tags; a place is a centre and a radius, compared
with the great-circle (haversine) distance. Places are stored in the vault, encrypted.
"""

from __future__ import annotations

import hashlib
import json
import math

from companion.errors import UsageError
from companion.model import Asset, Finding, Place
from companion.pictures import is_image
from companion.sensitivity.base import ScanSettings, Subject, Verdict

NAME = "places"
EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
MAX_RADIUS_M = 50_000.0


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points, in metres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def check_place(name: str, lat: float, lon: float, radius_m: float) -> Place:
    """A place as a person typed it, or a usage error that says what is wrong."""
    name = " ".join(name.split())
    if not name or len(name) > 60 or any(not c.isprintable() for c in name):
        raise UsageError("a place needs a short printable name", "e.g. companion places add home")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or math.isnan(lat) or math.isnan(lon):
        raise UsageError(
            f"({lat}, {lon}) is not a position",
            "Latitude is -90 to 90, longitude -180 to 180, in decimal degrees (48.8566 2.3522).",
        )
    if not 1 <= radius_m <= MAX_RADIUS_M:
        raise UsageError(f"a radius of {radius_m} m is out of range", "Use 1 to 50000 metres.")
    return Place(name, lat, lon, float(radius_m))


class PlacesDetector:
    name = NAME

    def __init__(self, places: tuple[Place, ...], version: str) -> None:
        self.places = places
        self.version = version

    def applies_to(self, asset: Asset) -> bool:
        return is_image(asset)

    def detect(self, subject: Subject) -> Verdict:
        if not self.places:
            return Verdict(note="no private place declared")
        position = subject.gps()
        if position is None:
            return Verdict(note="no GPS position")
        found = []
        for place in self.places:
            metres = distance_m(position, (place.lat, place.lon))
            if metres <= place.radius_m:
                # 1.0 at the centre, 0.5 at the edge: GPS is often off by tens of metres
                confidence = round(1.0 - 0.5 * metres / place.radius_m, 2)
                found.append(
                    Finding(
                        "private_place",
                        NAME,
                        confidence,
                        f"taken {metres:.0f} m from {place.name!r} (within {place.radius_m:.0f} m)",
                    )
                )
        note = "; ".join(f.explanation for f in found) or "taken away from every private place"
        return Verdict(tuple(found), note)


def places_version(settings: ScanSettings) -> str:
    """Version 1 plus the declared places: adding or moving a place re-runs this detector only."""
    places = sorted((p.name, p.lat, p.lon, p.radius_m) for p in settings.places)
    digest = hashlib.sha256(json.dumps(places).encode()).hexdigest()[:12]
    return f"1+{digest}"


def load(settings: ScanSettings) -> PlacesDetector:
    return PlacesDetector(settings.places, places_version(settings))
