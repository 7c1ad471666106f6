"""The cheap detectors and the decoding they share: QR secrets, nudity thresholds, places, and
images and videos made in code (a HEIC with its thumbnail, a JPEG with GPS, an H.264 movie)."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from fractions import Fraction

import av
import pytest
import segno
from PIL import Image, ImageDraw

from companion.errors import UsageError
from companion.model import Asset, AssetKind, Place
from companion.pictures import Subject
from companion.sensitivity.base import ScanSettings
from companion.sensitivity.nudity import judge
from companion.sensitivity.nudity import load as load_nudity
from companion.sensitivity.places import check_place, distance_m
from companion.sensitivity.places import load as load_places
from companion.sensitivity.qr import ADDRESS_EXPLANATION, classify
from companion.sensitivity.qr import load as load_qr
from companion.simulator.media import exif_bytes, heic_bytes

Colour = tuple[int, int, int]


def _asset(path: str, data: bytes, kind: AssetKind = AssetKind.PHOTO, **kw: object) -> Asset:
    return Asset("test", path, len(data), 0, kind, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("otpauth://totp/GitHub:me@example.com?secret=JBSWY3DPEHPK3PXP&issuer=GitHub", "'GitHub'"),
        ("otpauth://hotp/Bank?secret=ABCDEFGH&counter=1", "'Bank'"),
        ("otpauth-migration://offline?data=CjEKCkhlbGxvIQ%3D%3D", "authenticator app export"),
        ("WIFI:T:WPA;S:Cafe\\;Home;P:s3cret pass;;", "'Cafe;Home'"),
        (
            "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi",
            "extended private key",
        ),
        ("5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ", "private key (WIF)"),
        ("bitcoin:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq?amount=0.1", "receive address"),
        ("0x52908400098527886E0F7030069857D2E4169EE7", "receive address"),
        ("legal winner thank year wave sausage worth useful legal winner thank yellow", "BIP39"),
    ],
)
def test_secret_qr_contents_are_named_never_shown(text: str, words: str) -> None:
    verdict = classify(text)
    assert verdict is not None and words in verdict[1]
    assert "JBSWY3DP" not in verdict[1] and "s3cret" not in verdict[1]


@pytest.mark.parametrize(
    "text",
    [
        "ethereum:0x52908400098527886E0F7030069857D2E4169EE7@1?value=2.014e18",
        "ethereum:pay-0x52908400098527886E0F7030069857D2E4169EE7@1/transfer?uint256=1",
        "bitcoin:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq?amount=0.1&label=Rent",
        "0x52908400098527886E0F7030069857D2E4169EE7",
    ],
)
def test_a_receive_address_is_a_weaker_secret_qr_and_no_credential(text: str) -> None:
    secret = classify(text)
    assert secret is not None and not secret.credential
    assert secret.explanation == ADDRESS_EXPLANATION and "not a key" in ADDRESS_EXPLANATION
    key = classify("5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ")
    assert key is not None and key.credential and key.confidence > secret.confidence


@pytest.mark.parametrize(
    "text",
    [
        "otpauth://totp/GitHub:me@example.com?secret=JBSWY3DPEHPK3PXP&issuer=GitHub",
        "otpauth-migration://offline?data=CjEKCkhlbGxvIQ%3D%3D",
        "WIFI:T:WPA;S:Guest;P:Tr0ub4dor&3;;",
    ],
)
def test_a_credential_in_a_code_is_also_credentials(text: str) -> None:
    secret = classify(text)
    assert secret is not None and secret.credential


@pytest.mark.parametrize(
    "text",
    [
        "https://example.com/menu",
        "WIFI:T:nopass;S:Guest;;",
        "WIFI:T:WPA;S:Guest;P:;;",
        "otpauth://totp/NoSecret?issuer=X",
        "Table 12, thank you for your visit",
        "BEGIN:VCARD\nFN:Someone\nEND:VCARD",
    ],
)
def test_harmless_qr_contents_are_not_findings(text: str) -> None:
    assert classify(text) is None


def test_qr_detector_reads_a_small_code_in_a_photo_and_a_screenshot() -> None:
    qr = load_qr(ScanSettings())
    code = segno.make("otpauth://totp/Mail?secret=JBSWY3DPEHPK3PXP&issuer=Mail", error="m")
    png = io.BytesIO()
    code.save(png, kind="png", scale=6, border=4)
    screenshot = png.getvalue()
    photo = Image.new("RGB", (2400, 1800), (120, 140, 110))
    photo.paste(Image.open(io.BytesIO(screenshot)).convert("RGB"), (900, 700))
    jpeg = io.BytesIO()
    photo.save(jpeg, "JPEG", quality=90)
    for path, data in (("IMG_0001.PNG", screenshot), ("IMG_0002.JPG", jpeg.getvalue())):
        verdict = qr.detect(Subject(_asset(path, data, screenshot=path.endswith("PNG")), data))
        assert [f.category for f in verdict.findings] == ["secret_qr", "credentials"], verdict.note


def test_nudity_thresholds() -> None:
    assert judge(None, 0.1) is None
    assert judge(("FEMALE_BREAST_EXPOSED", 0.25), 0.3) is None
    assert judge(("FEMALE_BREAST_EXPOSED", 0.35), 0.45) is not None  # both lean
    assert judge(("BUTTOCKS_EXPOSED", 0.55), 0.0) is not None  # the detector is sure
    assert judge(None, 0.85) is not None  # the classifier is sure
    sure = judge(("MALE_GENITALIA_EXPOSED", 0.9), 0.9)
    assert sure is not None and sure[0] <= 1.0 and "genitals" in sure[1]


def test_nudity_detector_stays_quiet_on_plain_pictures_and_counts_no_faces() -> None:
    nudity = load_nudity(ScanSettings())
    for colour in ((200, 160, 130), (30, 30, 30), (240, 240, 240)):
        image = Image.new("RGB", (800, 600), colour)
        ImageDraw.Draw(image).ellipse((200, 100, 600, 500), fill=(colour[0] // 2, 90, 80))
        data = io.BytesIO()
        image.save(data, "JPEG")
        verdict = nudity.detect(Subject(_asset("a.jpg", data.getvalue()), data.getvalue()))
        assert not verdict.findings, verdict.note


def test_places_distance_and_validation() -> None:
    paris, london = (48.8566, 2.3522), (51.5074, -0.1278)
    assert 340_000 < distance_m(paris, london) < 345_000
    assert distance_m(paris, paris) == 0
    for bad in ((91, 0, 100), (0, 181, 100), (0, 0, 0), (0, 0, 60_000)):
        with pytest.raises(UsageError):
            check_place("home", *bad)
    with pytest.raises(UsageError):
        check_place("  ", 0, 0, 100)


def test_a_jpeg_with_gps_in_a_place_and_one_outside() -> None:
    home = Place("home", 48.8275, 2.3495, 100.0)
    places = load_places(ScanSettings(places=(home,)))
    for gps, inside in (((48.8276, 2.3496), True), ((48.8375, 2.3495), False), (None, False)):
        data = io.BytesIO()
        when = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
        Image.new("RGB", (64, 48)).save(data, "JPEG", exif=exif_bytes(when, gps=gps))
        verdict = places.detect(Subject(_asset("g.jpg", data.getvalue()), data.getvalue()))
        assert bool(verdict.findings) is inside, verdict.note


def test_heic_reduced_comes_from_its_thumbnail_and_full_decodes() -> None:
    image = Image.new("RGB", (1600, 1200), (10, 120, 200))
    exif = exif_bytes(datetime(2025, 6, 1, 12, 0, tzinfo=UTC), gps=None)
    data = heic_bytes(image, exif, thumbnail=400, fast=True)
    subject = Subject(_asset("IMG_0001.HEIC", data), data)
    assert max(subject.reduced().size) == 400  # the embedded thumbnail, not a full decode
    assert subject.full().size == (1600, 1200)
    broken = Subject(_asset("IMG_0002.HEIC", b"ftypheic" * 4), b"ftypheic" * 4)
    assert broken.reduced() is None
    assert broken.problem() == broken.unreadable() == "not a readable picture (unknown format)"


def _movie(size: tuple[int, int], frames: int, gop: int, colour: Callable[[int], Colour]) -> bytes:
    """An H.264 movie made in code: ``frames`` frames of one colour each, a keyframe every
    ``gop`` frames."""
    data = io.BytesIO()
    with av.open(data, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.time_base = Fraction(1, 10)
        for i in range(frames):
            frame = av.VideoFrame.from_image(Image.new("RGB", size, colour(i)))
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return data.getvalue()


def test_a_movie_gives_keyframes() -> None:
    data = _movie((320, 240), 40, 10, lambda i: (i * 6, 50, 90))
    subject = Subject(_asset("IMG_0003.MOV", data, AssetKind.VIDEO), data)
    frames = subject.frames()
    assert 2 <= len(frames) <= 4 and frames[0].size == (320, 240)


@pytest.mark.slow
def test_a_long_movie_keeps_a_few_small_keyframes_spread_over_it() -> None:
    data = _movie((1280, 720), 60, 1, lambda i: (i * 4, 0, 0))  # every frame a keyframe
    subject = Subject(_asset("IMG_0004.MOV", data, AssetKind.VIDEO), data)
    frames = subject.frames()
    assert len(frames) == 4 and all(max(f.size) <= 640 for f in frames)
    reds = [f.getpixel((10, 10))[0] for f in frames]
    assert reds == sorted(reds) and reds[0] < 40 and reds[-1] > 120  # early to late
