"""Identity documents without a machine-readable zone: the words file's rules (each entry in the
five languages, no phrase twice), the layout classifier on what OCR reads from licences and
cards, the pages that only name a document, and one drawn licence saved from a chat, read by
the real OCR."""

from __future__ import annotations

import copy
import io
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from companion.model import Asset, AssetKind
from companion.sensitivity import documents, text
from companion.sensitivity.base import ScanSettings
from companion.sensitivity.documents import LANGUAGES, WordsError, parse_words

SHIPPED = tomllib.loads(
    (resources.files("companion.sensitivity") / "content" / "documents.toml").read_text("utf-8")
)
LICENCE = {
    "fr": ("PERMIS DE CONDUIRE", "1. MARTIN", "2. CLAIRE", "3. 12.03.1985 LYON"),
    "de": ("FÜHRERSCHEIN", "1. MÜLLER", "2. ANNA", "3. 02.11.1979 MÜNCHEN"),
    "es": ("PERMISO DE CONDUCCION", "1. GARCIA", "2. LUCIA", "3. 21.07.1990 MADRID"),
    "it": ("PATENTE DI GUIDA", "1. ROSSI", "2. MARCO", "3. 09.05.1968 TORINO"),
    "en": ("DRIVING LICENCE", "1. SMITH", "2. JOHN", "3. 30.01.1981 LEEDS"),
}
LICENCE_REST = ("4a. 01.02.2015 4c. DVLA", "4b. 01.02.2030", "5. 15AB12345", "9. AM/A1/B1/B")


def _categories(lines: list[str] | tuple[str, ...]) -> set[str]:
    return {f.category for f in text.examine(list(lines))}


def test_every_entry_has_each_language_and_no_phrase_twice() -> None:
    words = parse_words(SHIPPED)
    assert {c.name for c in words.documents} >= {"driving licence", "residence permit"}
    for table in ("document", "field"):
        for entry in SHIPPED[table]:
            assert all(entry.get(lang) for lang in LANGUAGES), entry["id"]


def _broken(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(SHIPPED)
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["document"][0].pop("it"), "has no it words"),
        (lambda d: d["field"][0].update(de=[]), "has no de words"),
        (lambda d: d["field"][1]["en"].append("driving licence"), "is in both"),
        (lambda d: d["document"][0]["fr"].append("permis de conduire"), "repeats a fr phrase"),
        (lambda d: d["document"][0].pop("id"), "has no id"),
    ],
)
def test_a_broken_words_file_is_refused(change: Any, message: str) -> None:
    with pytest.raises(WordsError, match=message):
        parse_words(_broken(change))


@pytest.mark.parametrize("lang", sorted(LICENCE))
def test_a_driving_licence_in_each_language(lang: str) -> None:
    lines = (*LICENCE[lang], *LICENCE_REST)
    found = [f for f in text.examine(list(lines)) if f.category == "identity_document"]
    assert len(found) == 1
    assert found[0].confidence >= 0.8
    assert "driving licence" in found[0].explanation
    assert "MARTIN" not in found[0].explanation  # the layout is named, not the holder


@pytest.mark.parametrize(
    "lines",
    [
        # OCR missed the title: the numbering, the categories and the dates remain
        ("1. MARTIN", "2. CLAIRE", "3. 12.03.1985 LYON", *LICENCE_REST),
        (
            *("TITRE DE SÉJOUR", "Nom : DIALLO", "Prénoms : Awa", "Date de naissance"),
            *("04.06.1992", "Valable jusqu'au", "03.06.2029"),
        ),
        ("AUFENTHALTSTITEL", "Name", "YILMAZ", "Geburtsdatum 14.02.1988", "Gültig bis 13.02.2028"),
        (
            *("PERMESSO DI SOGGIORNO", "Cognome BIANCHI", "Data di nascita 01.01.1990"),
            "Data di scadenza 31.12.2027",
        ),
        (
            *("TESSERA EUROPEA DI ASSICURAZIONE MALATTIA", "3 BERNARD", "4 ZOÉ"),
            *("5 03.09.1989", "6 4338359429", "9 21.10.2026"),
        ),
        (
            *("CARTE NATIONALE D'IDENTITÉ", "Nom : MARTIN", "Prénoms : Claire", "Sexe : F"),
            "Né(e) le : 12.03.1985",
        ),
    ],
)
def test_cards_without_an_mrz(lines: tuple[str, ...]) -> None:
    assert _categories(lines) == {"identity_document"}


@pytest.mark.parametrize(
    "lines",
    [
        # a booking page: the document and its fields named, one date (the appointment's)
        ("Titre de séjour", "12.03.2025 10:30", "Nom", "Prénoms", "Date de naissance JJ/MM/AAAA"),
        # an article about renewing a licence
        ("How to renew your driving licence", "Bring your passport and a photo.", "Updated 2025"),
        # a numbered list with dates is not a licence without its 4a/4b/4c fields
        ("1. call the bank", "2. 12.03.2025 dentist", "3. 14.03.2025 train", "5. pay rent"),
        # the licence's title and words without any value
        ("PERMIS DE CONDUIRE", "1. NOM 2. PRÉNOMS 3. DATE ET LIEU DE NAISSANCE"),
    ],
)
def test_pages_that_only_name_a_document_are_not_one(lines: tuple[str, ...]) -> None:
    assert _categories(lines) == set()


_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _chat_copy_of_a_licence() -> bytes:
    """A pink licence card on a desk, downscaled to 1280 px, JPEG quality 70, no EXIF."""
    from PIL import Image, ImageDraw, ImageFont

    def font(size: int) -> Any:
        if _FONT.exists():
            return ImageFont.truetype(str(_FONT), size)
        return ImageFont.load_default(size=size)

    card = Image.new("RGB", (1712, 1080), (238, 196, 208))
    draw = ImageDraw.Draw(card)
    draw.rectangle((60, 260, 460, 780), fill=(170, 172, 178))
    draw.text((270, 110), "PERMIS DE CONDUIRE", font=font(72), fill=(40, 40, 60))
    for index, row in enumerate((*LICENCE["fr"][1:], *LICENCE_REST)):
        draw.text((520, 250 + index * 86), row, font=font(54), fill=(20, 20, 30))
    photo = Image.new("RGB", (2400, 1800), (120, 96, 80))
    photo.paste(card.rotate(4, expand=True, fillcolor=(120, 96, 80)), (300, 280))
    photo.thumbnail((1280, 1280))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


@pytest.mark.slow
def test_a_licence_saved_from_a_chat_is_read() -> None:
    pytest.importorskip("rapidocr")
    from companion.pictures import Subject

    data = _chat_copy_of_a_licence()
    asset = Asset("test", "WhatsApp/IMG-20250101-WA0004.jpg", len(data), 0, AssetKind.PHOTO)
    verdict = text.load(ScanSettings()).detect(Subject(asset, data))
    found = [f for f in verdict.findings if f.category == "identity_document"]
    assert found, verdict.note
    assert "layout" in found[0].explanation and "second check" in found[0].explanation


def test_the_words_are_loaded_once_from_package_data() -> None:
    assert documents.words() is documents.words()
