"""The printed checklist, measured on its rendered pages: what a person holds, not what the PDF
says it holds.

poppler's pdftoppm rasterises each page at a known resolution, and the sizes are read off the
pixels: every tick box is found as a hollow square and measured (at least 4.5 mm, inside and
out), the footer's capitals give its type size (at least 8 pt), and each QR code's finder pattern
gives its module, around which 4 modules must be blank. pdftotext gives where words are, to tell
that a command stays on one line and that its "--" prints as two hyphens, apart. Real checklists
are measured: both languages, two iOS versions, A4 and Letter.
"""

from __future__ import annotations

import io
import math
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from companion.checklist.builder import build_checklist, facts_from_bundle_ids
from companion.checklist.content import load_content
from companion.checklist.model import Checklist, Lang, Section, Step
from companion.checklist.render_pdf import render_pdf

DPI = 300
FOOTER_DPI = 600  # type sizes are read from capitals a few pixels tall: twice the detail
MIN_BOX_MM = 4.5
MIN_FOOTER_PT = 8.0
QUIET_MODULES = 4
CAP_HEIGHT = 0.718  # Helvetica's capitals (and b d f h k l), in ems
TALL = set("bdfhklABDEFHIKLMNPRTUVWXYZ")
UNKNOWN_APPS = tuple(f"com.example.app{i}" for i in range(8))  # enough for a block of boxes
REVIEW = "companion cleanup --vault /srv/photos/vault"
# A command as the checklist's text writes it: the test's own reading, not the renderer's.
COMMAND = re.compile(r"companion(?: [a-z][a-z-]*)+(?: --[a-z][a-z-]*(?: [^\s\"\u201d\u00bb]+)?)+")
NS = "{http://www.w3.org/1999/xhtml}"

pytestmark = pytest.mark.slow


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} (poppler-utils) is not installed")
    return path


@dataclass(frozen=True)
class Word:
    text: str
    x0: float  # points, from the page's top left, as pdftotext gives them
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class Printed:
    """A rendered checklist: the PDF, its pages as greyscale images, and its words' places."""

    checklist: Checklist
    paper: str
    pdf: Path
    pages: list[Image.Image]
    lines: list[list[list[Word]]]  # page, line, word

    def reader(self) -> PdfReader:
        return PdfReader(self.pdf)


def _print(checklist: Checklist, paper: str, folder: Path) -> Printed:
    folder.mkdir(parents=True, exist_ok=True)
    pdf = folder / "checklist.pdf"
    with pdf.open("wb") as out:
        count = render_pdf(checklist, out, paper=paper)  # type: ignore[arg-type]
    subprocess.run(
        [_tool("pdftoppm"), "-r", str(DPI), "-gray", str(pdf), str(folder / "page")], check=True
    )
    pages = [Image.open(p).convert("L") for p in sorted(folder.glob("page*.pgm"))]
    assert len(pages) == count
    return Printed(checklist, paper, pdf, pages, _layout(pdf))


def _layout(pdf: Path) -> list[list[list[Word]]]:
    xhtml = subprocess.run(
        [_tool("pdftotext"), "-bbox-layout", str(pdf), "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    pages = []
    for page in ET.fromstring(xhtml).iter(f"{NS}page"):
        lines = [
            [
                Word(w.text or "", *(float(w.attrib[k]) for k in ("xMin", "yMin", "xMax", "yMax")))
                for w in line.iter(f"{NS}word")
            ]
            for line in page.iter(f"{NS}line")
        ]
        pages.append(lines)
    return pages


def _real(lang: Lang, ios: str) -> Checklist:
    apps = (*load_content().apps, *UNKNOWN_APPS)
    return build_checklist(
        facts_from_bundle_ids(ios, apps),
        lang,
        today=date(2026, 11, 1),
        flagged=12,
        review_command=REVIEW,
    )


@pytest.fixture(
    scope="module",
    params=[
        (lang, ios, paper)
        for lang in ("en", "fr")
        for ios in ("15.8", "18.1")
        for paper in ("a4", "letter")
    ],
    ids=lambda p: "-".join(p),
)
def printed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Printed:
    lang, ios, paper = request.param
    folder = tmp_path_factory.mktemp(f"print-{lang}-{ios}-{paper}")
    return _print(_real(lang, ios), paper, folder)


# --- tick boxes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    outer: tuple[int, int]  # width, height in pixels, outside edges of the stroke
    inner: tuple[int, int]  # the blank inside


def _mask(image: Image.Image, threshold: int = 128) -> bytes:
    """One byte per pixel: 1 where the page is inked (darker than ``threshold``)."""
    return image.point([1 if v < threshold else 0 for v in range(256)]).tobytes()


class Ink:
    """Where a page is inked, to look for shapes in."""

    def __init__(self, image: Image.Image) -> None:
        self.width, self.height = image.size
        self.mask = _mask(image)

    def row(self, y: int, x0: int = 0, x1: int | None = None) -> bytes:
        start = y * self.width
        return self.mask[start + x0 : start + (self.width if x1 is None else x1)]

    def full(self, y: int, x0: int, x1: int) -> bool:
        return 0 <= y < self.height and 0 not in self.row(y, x0, x1)

    def at(self, x: int, y: int) -> bool:
        return self.mask[y * self.width + x] == 1


def _boxes(image: Image.Image, avoid: list[tuple[int, int, int, int]]) -> list[Box]:
    """Every hollow square 2 to 12 mm wide: a top edge, a bottom edge as long one side lower,
    both sides inked between them, and nothing inside. QR codes (``avoid``) are skipped."""
    ink = Ink(image)
    low, high = round(2 * DPI / 25.4), round(12 * DPI / 25.4)
    found = []
    for y in range(1, ink.height):
        for run in re.finditer(rb"\x01+", ink.row(y)):
            x0, x1 = run.span()
            if not low <= x1 - x0 <= high or ink.full(y - 1, x0 + 1, x1 - 1):
                continue  # not a box's size, or not the first row of its top edge
            if any(a <= x0 <= c and b <= y <= d for a, b, c, d in avoid):
                continue
            box = _square(ink, x0, x1, y)
            if box is not None:
                found.append(box)
    return found


def _square(ink: Ink, x0: int, x1: int, y: int) -> Box | None:
    """The box whose top edge runs from ``x0`` to ``x1`` on row ``y``, if it is one."""
    side = x1 - x0
    bottoms = [
        b
        for b in range(y + side - 4, y + side + 4)
        if ink.full(b, x0 + 1, x1 - 1) and not ink.full(b + 1, x0 + 1, x1 - 1)
    ]
    if not bottoms:
        return None
    bottom = bottoms[0]
    if not all(ink.at(x0 + 1, yy) and ink.at(x1 - 2, yy) for yy in range(y + 1, bottom)):
        return None
    middle_row, middle_col = (y + bottom) // 2, (x0 + x1) // 2
    left = next(x for x in range(x0, x1) if not ink.at(x, middle_row))
    right = next(x for x in range(x1 - 1, x0, -1) if not ink.at(x, middle_row))
    top_in = next(yy for yy in range(y, bottom) if not ink.at(middle_col, yy))
    bottom_in = next(yy for yy in range(bottom, y, -1) if not ink.at(middle_col, yy))
    if any(1 in ink.row(yy, left, right + 1) for yy in range(top_in, bottom_in + 1)):
        return None
    return Box((side, bottom - y + 1), (right - left + 1, bottom_in - top_in + 1))


def _link_rects(printed: Printed, page: int) -> list[tuple[int, int, int, int]]:
    """The QR codes' link areas on a page, in pixels from the top left."""
    pdf_page = printed.reader().pages[page]
    height = float(pdf_page.mediabox.height)
    rects, scale = [], DPI / 72
    for annot in pdf_page.get("/Annots") or []:
        x0, y0, x1, y1 = (float(v) for v in annot.get_object()["/Rect"])
        rects.append(
            (
                math.floor(x0 * scale),
                math.floor((height - y1) * scale),
                math.ceil(x1 * scale),
                math.ceil((height - y0) * scale),
            )
        )
    return rects


def test_every_tick_box_is_at_least_4_5_mm(printed: Printed) -> None:
    boxes = []
    for number, page in enumerate(printed.pages):
        boxes += _boxes(page, _link_rects(printed, number))
    assert len(boxes) == len(printed.checklist.steps())  # one per line to tick, none missed
    least = MIN_BOX_MM * DPI / 25.4
    for box in boxes:
        assert min(*box.outer, *box.inner) >= least, (
            f"a {box.outer[0] / DPI * 25.4:.2f} mm box, {box.inner[0] / DPI * 25.4:.2f} mm inside"
        )


# --- footer ---------------------------------------------------------------------------------------


def _footer_strip(printed: Printed, page: int, folder: Path) -> tuple[Image.Image, float]:
    """The bottom 50 mm of a page at FOOTER_DPI, and where the strip starts, in points."""
    width, height = (float(v) for v in printed.reader().pages[page].mediabox[2:])
    top = height - 50 * 72 / 25.4
    scale = FOOTER_DPI / 72
    base = folder / f"footer-{page}"
    subprocess.run(
        [
            _tool("pdftoppm"),
            *("-r", str(FOOTER_DPI), "-gray", "-singlefile"),
            *("-f", str(page + 1), "-l", str(page + 1)),
            *("-x", "0", "-y", str(round(top * scale))),
            *("-W", str(round(width * scale)), "-H", str(round((height - top) * scale))),
            str(printed.pdf),
            str(base),
        ],
        check=True,
    )
    return Image.open(f"{base}.pgm").convert("L"), round(top * scale) / scale


def _rule(strip: Image.Image) -> int:
    """The footer's rule: the lowest row inked (even light grey) across most of the width."""
    width, height = strip.size
    ink = _mask(strip, threshold=240)
    rows = [y for y in range(height) if ink[y * width : (y + 1) * width].count(1) > 0.6 * width]
    assert rows, "no footer rule found"
    return rows[-1]


def _cap_height_pt(strip: Image.Image, word_box: tuple[int, int, int, int]) -> float:
    """From the top of the tallest letters to the baseline (the last row that most letters
    reach), in points: for Helvetica, 0.718 of the type size."""
    crop = strip.crop(word_box)
    width, height = crop.size
    ink = _mask(crop, threshold=170)  # halfway between the footer's grey ink and the paper
    counts = [ink[y * width : (y + 1) * width].count(1) for y in range(height)]
    first = next(y for y, n in enumerate(counts) if n)
    baseline = max(y for y, n in enumerate(counts) if n >= 0.3 * max(counts))
    return (baseline - first + 1) * 72 / FOOTER_DPI


def test_footer_is_at_least_8_pt(printed: Printed, tmp_path: Path) -> None:
    scale = FOOTER_DPI / 72
    for number in range(len(printed.pages)):
        strip, top = _footer_strip(printed, number, tmp_path)
        rule = top + _rule(strip) / scale
        lines = [ws for ws in printed.lines[number] if ws and ws[0].y0 > rule]
        measured = []
        for words in lines:
            text = " ".join(w.text for w in words)
            if not TALL & set(text):
                continue  # no capital or ascender to measure from
            box = (
                math.floor(min(w.x0 for w in words) * scale),
                math.floor((words[0].y0 - top - 1) * scale),
                math.ceil(max(w.x1 for w in words) * scale),
                math.ceil((max(w.y1 for w in words) - top + 1) * scale),
            )
            measured.append((text, _cap_height_pt(strip, box) / CAP_HEIGHT))
        page_label = printed.checklist.words["page"].split("{")[0].strip()
        assert any(text.startswith(page_label) for text, _ in measured), measured
        assert len(measured) >= 2, measured  # the footnote and the page number
        for text, size in measured:
            assert size >= MIN_FOOTER_PT, f"{text!r} prints at {size:.2f} pt"


# --- QR codes -----------------------------------------------------------------------------------


def _symbols(printed: Printed, page: int) -> Iterator[tuple[tuple[int, int, int, int], float]]:
    """Each QR code's inked area on the page, in pixels, and its module's side in pixels (the
    finder pattern in its top left corner is 7 modules wide, which tells how many it has)."""
    image = printed.pages[page]
    for rect in _link_rects(printed, page):
        crop = image.crop(rect)
        inked = crop.point([255 if v < 128 else 0 for v in range(256)])
        bbox = inked.getbbox()
        assert bbox is not None, "a link without a code"
        x0, y0, x1, y1 = bbox
        top_row = _mask(crop)[y0 * crop.size[0] + x0 : y0 * crop.size[0] + x1]
        finder = len(top_row) - len(top_row.lstrip(b"\x01"))
        modules = round((x1 - x0) / (finder / 7))  # a code is 21, 25, 29... modules wide
        assert modules % 4 == 1 and abs(y1 - y0 - (x1 - x0)) <= 1, (modules, bbox)
        yield (rect[0] + x0, rect[1] + y0, rect[0] + x1, rect[1] + y1), (x1 - x0) / modules


def test_qr_codes_have_a_4_module_quiet_zone(printed: Printed) -> None:
    codes = 0
    for number, image in enumerate(printed.pages):
        for (x0, y0, x1, y1), module in _symbols(printed, number):
            codes += 1
            zone = math.ceil(QUIET_MODULES * module)
            around = [  # above, below, left, right; one pixel off the code for its soft edge
                (x0 - zone, y0 - zone, x1 + zone, y0 - 1),
                (x0 - zone, y1 + 1, x1 + zone, y1 + zone),
                (x0 - zone, y0 - 1, x0 - 1, y1 + 1),
                (x1 + 1, y0 - 1, x1 + zone, y1 + 1),
            ]
            for side in around:
                darkest = min(image.crop(side).tobytes())
                assert darkest >= 240, f"something printed within {QUIET_MODULES} modules"
    assert codes == sum(1 for step in printed.checklist.steps() if step.link is not None)


def test_qr_codes_read_back_as_their_links(printed: Printed) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")  # from the scan extra
    read = []
    for image in printed.pages:
        read += [code.text for code in zxingcpp.read_barcodes(image)]
    expected = [step.link.url for step in printed.checklist.steps() if step.link is not None]
    assert sorted(read) == sorted(expected)


# --- commands -----------------------------------------------------------------------------------


def _commands(checklist: Checklist) -> list[str]:
    texts = [checklist.intro, checklist.notice or ""]
    texts += [t for step in checklist.steps() for t in (step.action, step.why, step.search or "")]
    return [m.group(0) for t in texts for m in COMMAND.finditer(t.replace("\u00a0", " "))]


def _line_texts(printed: Printed) -> list[str]:
    return [" ".join(w.text for w in line) for page in printed.lines for line in page]


def test_commands_print_on_one_line(printed: Printed) -> None:
    commands = _commands(printed.checklist)
    assert REVIEW in commands
    lines = _line_texts(printed)
    for command in commands:
        assert any(command in line for line in lines), f"{command!r} is broken across lines"
    for line in lines:  # an option never ends a line, away from its value
        assert not line.split()[-1].startswith("--"), line


def test_commands_are_monospaced_with_plain_hyphens(printed: Printed) -> None:
    fonts: set[str] = set()

    def visit(text: str, cm: object, tm: object, font: object, size: object) -> None:
        if "--" in text and isinstance(font, dict):
            fonts.add(str(font.get("/BaseFont")))

    text = ""
    for page in printed.reader().pages:
        text += page.extract_text(visitor_text=visit)
    assert fonts and fonts <= {"/Courier", "/Courier-Bold"}, fonts
    for command in _commands(printed.checklist):
        assert " ".join(command.split()) in " ".join(text.split())
    assert not re.search("[\u2010-\u2015\u2212]", "".join(_commands(printed.checklist)))


def test_double_hyphen_prints_as_two_hyphens(printed: Printed) -> None:
    """On paper, "--" must be two marks with a gap a reader sees (0.45 mm or more)."""
    scale = DPI / 72
    options = [
        (number, word)
        for number, page in enumerate(printed.lines)
        for line in page
        for word in line
        if word.text.startswith("--")
    ]
    assert options
    for number, word in options:
        cell = (word.x1 - word.x0) / len(word.text)  # monospaced: every character as wide
        crop = printed.pages[number].crop(
            (
                math.floor(word.x0 * scale),
                math.floor(word.y0 * scale),
                math.ceil((word.x0 + 2 * cell) * scale),
                math.ceil(word.y1 * scale),
            )
        )
        ink = _mask(crop)
        width, height = crop.size
        columns = "".join(
            "#" if any(ink[y * width + x] for y in range(height)) else "." for x in range(width)
        )
        marks = re.findall(r"#+", columns.strip("."))
        gaps = re.findall(r"\.+", columns.strip("."))
        assert len(marks) == 2, columns
        assert len(gaps[0]) / DPI * 25.4 >= 0.45, columns


# --- a command too long for its line ------------------------------------------------------------


def _long_command_checklist() -> Checklist:
    vault = "/srv/" + "/".join(["family-photos-archive"] * 4) + "/vault"
    command = f"companion cleanup --vault {vault}"
    step = Step(
        key="verify",
        action="Check the report on a computer",
        why=f'Run "companion checklist verify --privacy-report FILE" and then "{command}".',
        path=("Settings", "Privacy & Security", "App Privacy Report"),
    )
    return Checklist(
        lang="en",
        title="Photo privacy checklist",
        subtitle="iOS 18.1 · 1 November 2026",
        intro="One action per line.",
        notice=f"The scan flagged 12 private photos. Review them first: {command}",
        sections=(Section("verify", "Check that it worked", "A week later.", (step,)),),
        footnote="Made by companion from the device\u2019s own settings.",
        words={"page": "Page {page} of {pages}"},
        ios_version="18.1",
        generated="2026-11-01",
    )


def test_a_long_command_shrinks_to_stay_on_one_line(tmp_path: Path) -> None:
    checklist = _long_command_checklist()
    printed = _print(checklist, "a4", tmp_path)
    lines = _line_texts(printed)
    commands = _commands(checklist)
    assert len(commands) == 3
    for command in commands:
        assert any(command in line for line in lines), f"{command!r} is broken across lines"
    page_width = float(printed.reader().pages[0].mediabox.width)
    right = max(w.x1 for page in printed.lines for line in page for w in line)
    assert right <= page_width - 10 * 72 / 25.4  # within the margin, not off the page


def test_prose_that_names_companion_stays_prose() -> None:
    checklist = _long_command_checklist()
    out = io.BytesIO()
    render_pdf(checklist, out)
    fonts: set[str] = set()

    def visit(text: str, cm: object, tm: object, font: object, size: object) -> None:
        if "from the device" in text and isinstance(font, dict):
            fonts.add(str(font.get("/BaseFont")))

    for page in PdfReader(out).pages:
        page.extract_text(visitor_text=visit)
    assert fonts == {"/Helvetica"}
