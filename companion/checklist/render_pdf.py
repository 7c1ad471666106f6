"""Lay out a ``Checklist`` as a compact, printable PDF with ReportLab.

One table row per step (checkbox, text, optional QR code), so a step is never split across pages
and its text wraps beside the QR code. The document is built twice: the first pass counts the
pages so the footer can say "page n of N". ``invariant`` fixes dates and the document id, so the
same checklist always gives the same bytes.

Sized for paper and a pen: boxes of 5 mm, a footer of 8.5 pt, QR codes with the 4-module quiet
zone the QR standard asks for. A command to type (``companion checklist verify --privacy-report
FILE``) prints in Courier, where "--" is two hyphens a reader can count, on one line.
"""

from __future__ import annotations

import io
import re
from typing import Any, BinaryIO, Literal
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib.colors import Color, HexColor, black, white
from reportlab.lib.pagesizes import A4, letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph, Spacer, Table

from companion.checklist.model import Checklist, GroupBlock, Section, Step

Paper = Literal["a4", "letter"]

_PAGE_SIZES: dict[Paper, tuple[float, float]] = {"a4": A4, "letter": letter}
_MARGIN = 15 * mm
_FOOTER_BASE = 9 * mm  # bottom of the footer block, from the page edge
_QR_SIZE = 17 * mm  # with its quiet zone: 4 white modules on each side (ISO/IEC 18004)
_QR_QUIET = 4
# Printed "fit to page" (Letter on A4 and back), a page shrinks by up to 6%: the footer's
# 8.5 pt and the boxes' 5 mm still give at least 8 pt and 4.5 mm.
_FOOTER_SIZE = 8.5
_BOX_SIZE = 5 * mm  # checkbox side: room for a tick made with a pen
_BOX_STROKE = 0.9
_BOX_COLUMN = 8 * mm
_MEMBER_BOX_COLUMN = 7.5 * mm
_CAP_HEIGHT = 0.718  # Helvetica's, in ems: a box's top sits level with the capitals' tops
_PATH_SEPARATOR = " \u203a "

ACCENT: Color = HexColor("#1a4a8a")  # dark blue: reads as dark grey in greyscale print
_GREY: Color = HexColor("#555555")
_DARK: Color = HexColor("#222222")

# Helvetica has no U+202F (NARROW NO-BREAK SPACE): ReportLab draws a box for it, and Paragraph
# treats it as a breaking space. In the PDF only, French typography uses U+00A0 instead.
_PDF_CHARS = {0x202F: 0x00A0}
_NBSP = "\u00a0"

# A command to type: "companion", up to three subcommands, then options, each with its value
# (the next word, unless it is an option; a shell-quoted value may hold spaces). Without options
# it must be all a quotation holds, so "companion" in a sentence stays prose.
_COMMAND = re.compile(
    r"\bcompanion(?:[ \u00a0][a-z][a-z-]*){1,3}"
    r"(?P<options>(?:[ \u00a0]--[a-z][a-z0-9-]*"
    r"(?:[ \u00a0](?!--)(?:'[^'\u2019]*['\u2019]|[^\s\u201d\u00bb]*[^\s\u201d\u00bb.,;:]))?)*)"
)
_QUOTED = re.compile(r"(?:\u201c|\u00ab\u00a0)(?P<inner>[^\u201d\u00bb]*)(?:\u201d|\u00a0\u00bb)")
_MONO_MIN = 6.0  # smallest size a long command (a long vault path) shrinks to, in points


def _style(name: str, size: float, *, font: str = "Helvetica", **kw: Any) -> Any:
    kw.setdefault("textColor", black)
    return ParagraphStyle(name, fontName=font, fontSize=size, leading=round(size * 1.25, 1), **kw)


_STYLES: dict[str, Any] = {
    "title": _style("title", 19, font="Helvetica-Bold", spaceAfter=3),
    "subtitle": _style("subtitle", 10, textColor=_DARK, spaceAfter=6),
    "intro": _style("intro", 9.5, spaceAfter=6),
    "notice": _style("notice", 9.5),
    "heading": _style("heading", 12.5, font="Helvetica-Bold", spaceBefore=9, keepWithNext=1),
    "section_intro": _style("section_intro", 8.5, textColor=_GREY, spaceAfter=3, keepWithNext=1),
    "action": _style("action", 10, font="Helvetica-Bold"),
    "path": _style("path", 9, textColor=ACCENT, spaceBefore=1),
    "search": _style("search", 9, font="Helvetica-Oblique", textColor=ACCENT, spaceBefore=1),
    "why": _style("why", 8.5, textColor=_DARK, spaceBefore=1.5),
    "footnote": _style("footnote", _FOOTER_SIZE, textColor=_GREY),
    "member": _style("member", 9),
}
_PAGE_FONT = ("Helvetica", _FOOTER_SIZE)
_ROW_STYLE: list[tuple[Any, ...]] = [
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
    ("TOPPADDING", (0, 0), (-1, -1), 4),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ("LINEBELOW", (0, 0), (-1, -1), 0.3, HexColor("#dddddd")),
]


def _para(value: str, style: str, width: float) -> Any:
    """A Paragraph of ``value`` in ``style``, ``width`` wide, with its commands kept whole."""
    return Paragraph(_markup(value, _STYLES[style], width), _STYLES[style])


def _markup(value: str, style: Any, width: float) -> str:
    """Markup-safe text with the characters the base fonts lack replaced, and each command in
    Courier with no-break spaces, shrunk if it would not fit on one line of ``width``."""
    text = value.translate(_PDF_CHARS)
    out, done = [], 0
    for match in _COMMAND.finditer(text):
        if not match.group("options") and not _is_quotation(text, match):
            continue
        command = match.group(0).replace("\u2019", "'").replace(_NBSP, " ")
        face = "Courier-Bold" if "Bold" in style.fontName else "Courier"
        size = _fitting_size(command, face, _attached(text, match), style, width)
        code = escape(command).replace(" ", _NBSP)
        out += [
            escape(text[done : match.start()]),
            f'<font face="{face}" size="{size}">{code}</font>',
        ]
        done = match.end()
    return "".join([*out, escape(text[done:])])


def _is_quotation(text: str, match: re.Match[str]) -> bool:
    """Whether ``match`` is all that a pair of quotes (English or French) holds."""
    return any(q.span("inner") == match.span() for q in _QUOTED.finditer(text))


def _attached(text: str, match: re.Match[str]) -> str:
    """The characters glued to a command (quotes, a colon...): they share its line."""
    start, end = match.start(), match.end()
    while start > 0 and not _breaks(text[start - 1]):
        start -= 1
    while end < len(text) and not _breaks(text[end]):
        end += 1
    return text[start : match.start()] + text[match.end() : end]


def _breaks(char: str) -> bool:
    return char.isspace() and char != _NBSP


def _fitting_size(command: str, face: str, attached: str, style: Any, width: float) -> float:
    size = float(style.fontSize)
    glue = stringWidth(attached, style.fontName, style.fontSize)
    while size > _MONO_MIN and stringWidth(command, face, size) + glue > width:
        size -= 0.25
    return size


def render_pdf(checklist: Checklist, out: BinaryIO, *, paper: Paper = "a4") -> int:
    """Write the PDF to `out`; return the number of pages."""
    page_size = _PAGE_SIZES[paper]
    width = page_size[0] - 2 * _MARGIN
    footnote = _para(checklist.footnote, "footnote", width - 35 * mm)
    _, footnote_height = footnote.wrap(width - 35 * mm, page_size[1])
    bottom = max(_MARGIN, _FOOTER_BASE + footnote_height + 5 * mm)

    counted = _build(checklist, io.BytesIO(), page_size, bottom, footnote, total=None)
    pages = _build(checklist, out, page_size, bottom, footnote, total=counted)
    if pages != counted:  # the footer lives in the margin, so both passes paginate alike
        raise RuntimeError(f"PDF pagination changed between passes: {counted} then {pages}")
    return pages


def _build(
    checklist: Checklist,
    out: BinaryIO,
    page_size: tuple[float, float],
    bottom: float,
    footnote: Any,
    *,
    total: int | None,
) -> int:
    pages = 0
    page_words = checklist.words["page"]

    def footer(canv: Any, doc: Any) -> None:
        nonlocal pages
        pages += 1
        canv.saveState()
        right = page_size[0] - _MARGIN
        canv.setStrokeColor(HexColor("#bbbbbb"))
        canv.setLineWidth(0.4)
        canv.line(_MARGIN, bottom - 3 * mm, right, bottom - 3 * mm)
        footnote.drawOn(canv, _MARGIN, _FOOTER_BASE)
        label = page_words.format(page=pages, pages=total if total is not None else "?")
        canv.setFont(*_PAGE_FONT)
        canv.setFillColor(black)
        canv.drawRightString(right, _FOOTER_BASE + 1, label.translate(_PDF_CHARS))
        canv.restoreState()

    doc = BaseDocTemplate(
        out,
        pagesize=page_size,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=bottom,
        title=checklist.title,
        subject=checklist.subtitle,
        author="companion",
        creator="companion",
        lang=checklist.lang,
        invariant=1,
    )
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, 0, 0, 0, 0, id="body")
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=footer)])
    doc.build(_story(checklist, doc.width))
    return pages


def _story(checklist: Checklist, width: float) -> list[Any]:
    story: list[Any] = [
        _para(checklist.title, "title", width),
        _para(checklist.subtitle, "subtitle", width),
        _para(checklist.intro, "intro", width),
    ]
    if checklist.notice:
        box = Table([[_para(checklist.notice, "notice", width - 12)]], colWidths=[width])
        box.setStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.9, ACCENT),
                ("BACKGROUND", (0, 0), (-1, -1), white),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
        story += [box, Spacer(1, 4)]
    for section in checklist.sections:
        story += _section(section, width)
    return story


def _section(section: Section, width: float) -> list[Any]:
    flowables: list[Any] = [_para(section.title, "heading", width)]
    if section.intro:
        flowables.append(_para(section.intro, "section_intro", width))
    for block in section.blocks():
        if isinstance(block, GroupBlock):
            flowables += _group_rows(block, width)
        else:
            flowables.append(_step_row(block, width))
    return flowables


def _texts(
    action: str, path: tuple[str, ...], search: str | None, why: str, width: float
) -> list[Any]:
    """A step's (or a group's) action, where to do it, and why, as Paragraphs."""
    text = [_para(action, "action", width)]
    if path:
        text.append(_para(_PATH_SEPARATOR.join(path), "path", width))
    elif search:
        text.append(_para(search, "search", width))
    if why:
        text.append(_para(why, "why", width))
    return text


def _group_rows(block: GroupBlock, width: float) -> list[Any]:
    """The group's action, path and why, then its apps as a grid of boxes, three to a row."""
    group, columns = block.group, 3
    head = _texts(group.action, group.path, group.search, group.why, width - _BOX_COLUMN)
    header = Table([["", head]], colWidths=[_BOX_COLUMN, width - _BOX_COLUMN])
    header.setStyle([*_ROW_STYLE[:-1], ("BOTTOMPADDING", (0, 0), (-1, -1), 2)])
    cell = (width - _BOX_COLUMN) / columns
    label_width = cell - _MEMBER_BOX_COLUMN - 2
    names = [
        [_checkbox(), _para(step.label or step.action, "member", label_width)]
        for step in block.steps
    ]
    rows = [names[i : i + columns] for i in range(0, len(names), columns)]
    padded = [[x for pair in row for x in pair] for row in rows]
    grid = Table(
        [["", *row, *[""] * (2 * columns - len(row))] for row in padded],
        colWidths=[_BOX_COLUMN] + [_MEMBER_BOX_COLUMN, cell - _MEMBER_BOX_COLUMN] * columns,
        repeatRows=0,
    )
    grid.setStyle(
        [
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),  # each name beside the middle of its box
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 2),
            ("TOPPADDING", (0, 0), (-1, -1), 1),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ("LINEBELOW", (0, -1), (-1, -1), 0.3, HexColor("#dddddd")),
        ]
    )
    header.keepWithNext = True
    return [header, grid]


def _step_row(step: Step, width: float) -> Any:
    """One step as a one-row table: a row is never split, and the QR code has its own column."""
    qr_column = _QR_SIZE + 2 * mm if step.link is not None else 0
    text_width = width - _BOX_COLUMN - qr_column
    cells: list[Any] = [
        _checkbox(_STYLES["action"]),
        _texts(step.action, step.path, step.search, step.why, text_width),
    ]
    widths = [_BOX_COLUMN, text_width]
    style = list(_ROW_STYLE)
    if step.link is not None:
        cells.append(_qr_code(step.link.url))
        widths.append(qr_column)
        style += [
            ("ALIGN", (2, 0), (2, 0), "RIGHT"),
            ("TOPPADDING", (2, 0), (2, 0), 1),  # the code's own quiet zone keeps lines away
            ("BOTTOMPADDING", (2, 0), (2, 0), 1),
            ("HREF", (2, 0), (2, 0), step.link.url),
        ]
    table = Table([cells], colWidths=widths)
    table.setStyle(style)
    return table


def _checkbox(style: Any = None) -> Any:
    """An empty square; beside a paragraph in ``style``, its top sits level with the top of the
    first line's capitals."""
    top_gap = style.fontSize * (1 - _CAP_HEIGHT) if style is not None else 0
    side = _BOX_SIZE + _BOX_STROKE  # the drawing holds the stroke's outer half too
    drawing = Drawing(side, side + top_gap)
    box = Rect(_BOX_STROKE / 2, _BOX_STROKE / 2, _BOX_SIZE, _BOX_SIZE)
    box.strokeColor, box.strokeWidth, box.fillColor = black, _BOX_STROKE, None
    drawing.add(box)
    return drawing


def _qr_code(url: str) -> Any:
    """The code for ``url``, ``_QR_SIZE`` wide, its quiet zone included."""
    widget = QrCodeWidget(url, barLevel="M", barBorder=_QR_QUIET)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(
        _QR_SIZE, _QR_SIZE, transform=[_QR_SIZE / (x1 - x0), 0, 0, _QR_SIZE / (y1 - y0), 0, 0]
    )
    drawing.add(widget)
    return drawing
