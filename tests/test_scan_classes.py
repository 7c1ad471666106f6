"""Issue 16's classes through the real readers: pictures drawn here, read by RapidOCR and
zxing-cpp as a scan reads them. Few and small (OCR costs a second or two a screenshot); the
rules themselves are tested on text in test_text_detector.py and test_detectors.py."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from typing import Any

import pytest
import segno
from PIL import Image, ImageDraw, ImageFont

from companion.model import Asset, AssetKind, Finding
from companion.pictures import Subject
from companion.sensitivity import qr, text
from companion.sensitivity.base import ScanSettings

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("rapidocr", "zxingcpp")),
    reason="the scan's readers are not installed (pip install 'companion[scan]')",
)
_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
WIFI_PASSWORD = "Gat0s&Perr0s"


def _font(size: int) -> Any:
    return ImageFont.truetype(str(_FONT), size) if _FONT.exists() else ImageFont.load_default(size)


def _screen(lines: list[str], code: str | None = None) -> bytes:
    """A 750 x 1334 screenshot: ``lines`` of text, then a QR code of ``code``."""
    image = Image.new("RGB", (750, 1334), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        draw.text((40, 120 + row * 58), line, fill=(20, 20, 20), font=_font(30))
    if code is not None:
        png = io.BytesIO()
        segno.make(code, error="m").save(png, kind="png", scale=6, border=4)
        image.paste(Image.open(png).convert("RGB"), (180, 160 + len(lines) * 58))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _findings(data: bytes) -> list[Finding]:
    asset = Asset("test", "DCIM/100APPLE/IMG_0001.PNG", len(data), 0, AssetKind.PHOTO)
    found: list[Finding] = []
    for detector in (text.load(ScanSettings()), qr.load(ScanSettings())):
        found += detector.detect(Subject(asset, data)).findings
    return found


def test_a_wifi_card_is_a_secret_qr_and_a_credential_and_a_login_page_is_neither() -> None:
    card = _findings(
        _screen(
            ["Wi-Fi invitados", "Red: Casa-Rossi", f"Contraseña: {WIFI_PASSWORD}"],
            f"WIFI:T:WPA;S:Casa-Rossi;P:{WIFI_PASSWORD};;",
        )
    )
    assert {(f.category, f.detector) for f in card} == {
        ("credentials", "text"),
        ("credentials", "qr"),
        ("secret_qr", "qr"),
    }
    assert not any(WIFI_PASSWORD in f.explanation for f in card)
    login = _findings(
        _screen(["Anmelden", "E-Mail*", "Passwort*", "••••••••••", "Passwort vergessen?"])
    )
    assert login == []


def test_a_recovery_key_note_and_a_wallet_receive_screen() -> None:
    note = _findings(_screen(["Notes", "Apple recovery key", "7Q2M-X9DF-K3LP-ZR8T-WN4C-HV6B-J5YS"]))
    assert [(f.category, f.detector) for f in note] == [("credentials", "text")]
    address = "0x52908400098527886e0f7030069857d2e4169ee7"
    wallet = _findings(_screen(["Receive ETH"], f"ethereum:{address}@1"))
    assert [(f.category, f.confidence) for f in wallet] == [("secret_qr", 0.6)]
    assert "not a key" in wallet[0].explanation
