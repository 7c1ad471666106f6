"""The second opinion beside each finding: where it agrees, cannot tell, or rejects; the
threshold below which a rejected finding is not reported; and ``--explain`` showing both."""

from __future__ import annotations

import io

import pytest

from companion.model import Asset, AssetKind, DetectorRun, Finding
from companion.sensitivity import opinions, text
from companion.sensitivity.base import ScanSettings
from companion.sensitivity.explain import Explanation

CARD = "4539 1488 0343 6467"  # passes Luhn
MRZ = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)


def _one(lines: list[str], category: str) -> Finding:
    found = [f for f in text.examine(lines) if f.category == category]
    assert len(found) == 1, found
    return found[0]


def test_card_words_confirm_and_receipt_words_reject_a_luhn_number() -> None:
    card = _one(["Card number", CARD, "Expiry 08/29"], "payment_card")
    assert card.confidence == 0.98 and "second check agrees" in card.explanation
    receipt = _one(["TICKET CB", "Total 23,40 EUR", f"Transaction {CARD}"], "payment_card")
    assert receipt.confidence < opinions.REPORT_AT
    assert "second check disagrees: receipt or order words" in receipt.explanation
    alone = _one([CARD], "payment_card")
    assert alone.confidence == 0.95 and "cannot tell" in alone.explanation


def test_an_mrz_and_the_layout_around_it() -> None:
    page = ["PASSPORT", "Surname ERIKSSON", "Date of birth 12.08.1974", "Date of expiry 15.04.2030"]
    both = _one([*page, *MRZ], "identity_document")
    back_of_card = _one(list(MRZ), "identity_document")
    assert "second check agrees: document layout" in both.explanation
    assert "cannot tell" in back_of_card.explanation  # no layout: the MRZ stands alone
    assert both.confidence > back_of_card.confidence >= opinions.REPORT_AT


def test_a_password_that_reads_as_a_date_is_rejected() -> None:
    strong = _one(["Mot de passe : Tr0ub4dor&3"], "credentials")
    assert "second check agrees" in strong.explanation
    assert opinions.strength_opinion("12/03/2024-").agrees is False
    assert opinions.strength_opinion("tiger8694").agrees is None


def test_medical_words_with_values_agree() -> None:
    lab = _one(["Laboratoire", "Résultats", "Glycémie 0,92 g/L", "Cholestérol 1,8 g/L"], "medical")
    assert "2 doses or lab values" in lab.explanation


@pytest.mark.slow
def test_the_detector_drops_a_rejected_finding_unless_asked_to_keep_it() -> None:
    pytest.importorskip("rapidocr")
    from PIL import Image, ImageDraw

    from companion.pictures import Subject

    image = Image.new("RGB", (750, 1334), "white")
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(["TICKET CB", "Total 23,40 EUR", f"Transaction {CARD}"]):
        draw.text((40, 200 + 80 * row), line, fill="black", font_size=34)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    data = buffer.getvalue()
    asset = Asset("test", "DCIM/100APPLE/IMG_0009.PNG", len(data), 0, AssetKind.PHOTO, True)
    reported = text.load(ScanSettings()).detect(Subject(asset, data))
    kept = text.load(ScanSettings(keep_weak=True)).detect(Subject(asset, data))
    assert not [f for f in reported.findings if f.category == "payment_card"], reported
    weak = [f for f in kept.findings if f.category == "payment_card"]
    assert weak and weak[0].confidence < opinions.REPORT_AT


def test_explain_shows_both_checks_and_what_is_not_reported() -> None:
    weak = Finding("payment_card", "text", 0.57, "card number ... ; second check disagrees: x")
    run = DetectorRun("text", "4", (weak,), "OCR: 3 lines")
    lines = Explanation("IMG_0009.PNG", "photo", "o1", (run,), {}, None).lines()
    assert "second check disagrees" in lines[0]
    assert "(below 0.60: not reported)" in lines[0]
