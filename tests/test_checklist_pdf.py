"""The PDF checklist: text, page count, paper sizes, rasterising, QR links, determinism, commands.

What the printed page measures (boxes, footer, QR quiet zones, hyphens) is in
test_checklist_print.py, on pages rasterised by poppler.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from companion.checklist.model import Checklist, Lang, Link, Section, Step
from companion.checklist.render_pdf import render_pdf

NBSP = "\u00a0"
NNBSP = "\u202f"
APOSTROPHE = "\u2019"
SEPARATOR = " \u203a "
APPS = (
    "Facebook",
    "Instagram",
    "WhatsApp",
    "Messenger",
    "Snapchat",
    "TikTok",
    "Telegram",
    "Signal",
    "Google Photos",
    "Dropbox",
    "Lightroom",
    "Canva",
)
LINK = Link("About photo access", "https://support.apple.com/en-us/HT211870")


def _english() -> Checklist:
    apps = tuple(
        Step(
            key=f"app-{name.lower().replace(' ', '-')}",
            action=f"Set {name} to Selected Photos or None",
            why=f"{name} can read every photo and video in your library, with their locations.",
            path=("Settings", "Privacy & Security", "Photos", name),
            bundle_id=f"com.example.{name.lower().replace(' ', '')}",
            levels=("none", "limited"),
        )
        for name in APPS
    )
    in_app = tuple(
        Step(
            key=f"in-app-{i}",
            action=f"Turn off camera roll upload in app number {i}",
            why="Some apps copy new photos to their servers in the background.",
            path=("App", "Profile", "Settings", "Camera roll"),
            link=LINK if i % 2 else None,
        )
        for i in range(6)
    )
    general = tuple(
        Step(
            key=f"general-{i}",
            action=f"Review general setting {i}",
            why="Photos can leave the phone through shared albums, AirDrop and location tags.",
            path=("Settings", "General", f"Option {i}") if i != 3 else (),
            search="Location Services" if i == 3 else None,
            link=LINK if i == 0 else None,
        )
        for i in range(8)
    )
    return Checklist(
        lang="en",
        title="Photo permissions checklist",
        subtitle="Ann's iPhone · iPhone 13 · iOS 17.5.1 · 2024-06-01",
        intro="Tick each line once done. Paths start on the Home Screen.",
        notice="The scan flagged 42 photos with a location; review them in the Photos app.",
        sections=(
            Section("apps", "Apps with photo access", "One line per installed app.", apps),
            Section("in_app", "Inside the apps", "Settings that live in the apps.", in_app),
            Section("general", "General settings", "Settings for the whole phone.", general),
        ),
        footnote="Made by companion from the device's own settings. Labels follow iOS 17.5.",
        words={"page": "Page {page} of {pages}"},
        ios_version="17.5.1",
        generated="2024-06-01",
    )


def _french() -> Checklist:
    apps = tuple(
        Step(
            key=f"app-{name.lower()}",
            action=f"Régler {name} sur «{NBSP}Photos sélectionnées{NBSP}»",
            why=f"{name} peut lire toutes vos photos{NNBSP}; même leurs lieux{NNBSP}!",
            path=("Réglages", "Confidentialité et sécurité", "Photos", name),
        )
        for name in APPS[:4]
    )
    general = (
        Step(
            key="general-search",
            action=f"Vérifier le partage de position{NNBSP}?",
            why=f"Où sont prises les photos{NNBSP}? Voici pourquoi{NBSP}: la géolocalisation.",
            search="Service de localisation",
            link=Link("Aide Apple", "https://support.apple.com/fr-fr/HT207092"),
        ),
    )
    return Checklist(
        lang="fr",
        title="Liste de vérification des accès aux photos",
        subtitle=f"iPhone d{APOSTROPHE}Anne · iOS 17.5.1 · 1er juin 2024",
        intro=f"Cochez chaque ligne une fois faite{NNBSP}: c{APOSTROPHE}est rapide…",
        notice=None,
        sections=(
            Section("apps", "Apps ayant accès aux photos", "Une ligne par app installée.", apps),
            Section("general", "Réglages généraux", "Pour tout le téléphone.", general),
        ),
        footnote=f"Généré par companion à partir des réglages de l{APOSTROPHE}appareil.",
        words={"page": "Page {page} sur {pages}"},
        ios_version="17.5.1",
        generated="2024-06-01",
    )


@pytest.fixture(params=["en", "fr"])
def checklist(request: pytest.FixtureRequest) -> Checklist:
    lang: Lang = request.param
    return _english() if lang == "en" else _french()


def _render(checklist: Checklist, paper: str = "a4") -> tuple[bytes, int]:
    out = io.BytesIO()
    pages = render_pdf(checklist, out, paper=paper)  # type: ignore[arg-type]
    return out.getvalue(), pages


def _squash(text: str) -> str:
    """Text without any whitespace, so that line breaks and space kinds do not matter."""
    return re.sub(r"\s+", "", text)


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_text_is_extractable(checklist: Checklist) -> None:
    pdf, pages = _render(checklist)
    text = _squash(_text(pdf))
    for step in checklist.steps():
        assert _squash(step.action) in text
        if step.path:
            assert _squash(SEPARATOR.join(step.path)) in text
        elif step.search:
            assert _squash(step.search) in text
    assert _squash(checklist.title) in text
    assert _squash(checklist.footnote) in text
    page_word = checklist.words["page"]
    for page in range(1, pages + 1):
        assert _squash(page_word.format(page=page, pages=pages)) in text


def test_french_accents_and_punctuation() -> None:
    pdf, _ = _render(_french())
    text = _text(pdf)
    words = ("Réglages", "Confidentialité", "sécurité", "Vérifier", f"d{APOSTROPHE}Anne", "…")
    for word in (*words, "«", "»"):
        assert word in text
    assert "Page 1 sur" in text.replace(NBSP, " ")
    # U+202F becomes U+00A0 (the base fonts have no glyph for it), which ReportLab keeps with
    # its word when wrapping and writes as a plain space byte.
    assert NNBSP not in text
    assert "position ?" in text
    assert not re.search(r"^\s*[:;!?»]", text, re.MULTILINE)


@pytest.mark.slow
def test_typical_list_fits_on_one_to_three_pages() -> None:
    checklist = _english()
    assert len(checklist.steps()) == 26
    for paper in ("a4", "letter"):
        pdf, pages = _render(checklist, paper)
        assert 1 <= pages <= 3
        assert len(PdfReader(io.BytesIO(pdf)).pages) == pages


@pytest.mark.slow
@pytest.mark.parametrize(("paper", "size"), [("a4", (595, 842)), ("letter", (612, 792))])
def test_paper_sizes(paper: str, size: tuple[int, int]) -> None:
    pdf, _ = _render(_english(), paper)
    for page in PdfReader(io.BytesIO(pdf)).pages:
        box = page.mediabox
        assert (round(float(box.width)), round(float(box.height))) == size


def test_metadata(checklist: Checklist) -> None:
    pdf, _ = _render(checklist)
    reader = PdfReader(io.BytesIO(pdf))
    meta = reader.metadata
    assert meta is not None
    assert meta.title == checklist.title
    assert meta.author == "companion"
    assert meta.subject == checklist.subtitle
    assert str(reader.root_object["/Lang"]) == checklist.lang


@pytest.mark.slow
def test_rasterises_with_poppler(checklist: Checklist, tmp_path: Path) -> None:
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    pdf, pages = _render(checklist)
    source = tmp_path / "checklist.pdf"
    source.write_bytes(pdf)
    result = subprocess.run(
        [pdftoppm, "-r", "50", "-png", str(source), str(tmp_path / "page")],
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert len(list(tmp_path.glob("page*.png"))) == pages


def test_qr_codes_link_to_their_urls(checklist: Checklist) -> None:
    pdf, _ = _render(checklist)
    uris = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for annot in page.get("/Annots") or []:
            action = annot.get_object().get("/A")
            if action is not None and "/URI" in action:
                uris.append(action["/URI"])
    expected = [step.link.url for step in checklist.steps() if step.link is not None]
    assert expected
    assert sorted(uris) == sorted(expected)


def test_same_checklist_gives_same_bytes(checklist: Checklist) -> None:
    assert _render(checklist)[0] == _render(checklist)[0]


def test_markup_characters_are_text() -> None:
    hostile = 'Tap <Options> & "Done"'
    base = _english()
    step = Step(key="hostile", action=hostile, why="a < b & c > d", path=("<Settings>", "A & B"))
    checklist = Checklist(
        lang=base.lang,
        title="Title & <more>",
        subtitle=base.subtitle,
        intro=base.intro,
        notice="Notice <b>not bold</b> & plain",
        sections=(Section("x", "Section <1>", "Intro & more", (step,)),),
        footnote=base.footnote,
        words=base.words,
        ios_version=base.ios_version,
        generated=base.generated,
    )
    pdf, pages = _render(checklist)
    assert pages == 1
    text = _text(pdf)
    assert hostile in text
    assert f"<Settings>{SEPARATOR}A & B" in text
    assert "<b>not bold</b>" in text


def _chunks(pdf: bytes) -> list[tuple[str, str]]:
    """Each piece of text the PDF draws in one go (one line, one font), with its font."""
    chunks: list[tuple[str, str]] = []

    def visit(text: str, cm: object, tm: object, font: object, size: object) -> None:
        if text.strip() and isinstance(font, dict):
            chunks.append((text.strip(), str(font.get("/BaseFont"))))

    for page in PdfReader(io.BytesIO(pdf)).pages:
        page.extract_text(visitor_text=visit)
    return chunks


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_commands_print_whole_in_courier(lang: Lang) -> None:
    base = _english() if lang == "en" else _french()
    verify = "companion checklist verify --privacy-report FILE"
    review = "companion cleanup --vault /srv/photos/vault"
    scan = "companion scan"  # no option: a command only because it is all a quotation holds
    why = (
        f"On a computer, \u201c{verify}\u201d tells which lines it confirms; \u201c{scan}\u201d "
        "finds the rest."
        if lang == "en"
        else f"Sur l\u2019ordinateur, \u00ab\u00a0{verify}\u00a0\u00bb dit ce qu\u2019il confirme "
        f"et \u00ab\u00a0{scan}\u00a0\u00bb trouve le reste."
    )
    step = Step(key="verify", action="Check the report", why=why, path=("Settings", "Privacy"))
    checklist = Checklist(
        lang=base.lang,
        title=base.title,
        subtitle=base.subtitle,
        intro=base.intro,
        notice=f"Review them before you change anything: {review}",
        sections=(*base.sections, Section("verify", "Check", "A week later.", (step,))),
        footnote=base.footnote,
        words=base.words,
        ios_version=base.ios_version,
        generated=base.generated,
    )
    chunks = _chunks(_render(checklist)[0])
    for command in (verify, review, scan):  # one piece, so one line, never split at an option
        assert (command, "/Courier") in chunks
    assert all(font == "/Courier" for text, font in chunks if "--" in text)
    prose = [text for text, font in chunks if font != "/Courier" and "companion" in text]
    assert all(text in checklist.footnote for text in prose)  # "made by companion", prose


def test_companion_in_a_sentence_stays_prose() -> None:
    base = _english()
    step = Step(
        key="prose",
        action="Keep companion updated",
        why="Use companion from the device\u2019s own settings; run companion often.",
    )
    checklist = Checklist(
        lang=base.lang,
        title=base.title,
        subtitle=base.subtitle,
        intro=base.intro,
        notice=None,
        sections=(Section("x", "Prose", "Words only.", (step,)),),
        footnote=base.footnote,
        words=base.words,
        ios_version=base.ios_version,
        generated=base.generated,
    )
    assert {font for _, font in _chunks(_render(checklist)[0])} <= {
        "/Helvetica",
        "/Helvetica-Bold",
    }
