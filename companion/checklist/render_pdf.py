"""Lay out a ``Checklist`` as a compact, printable PDF with ReportLab.

One table row per step (checkbox, text, optional QR code), so a step is never split across pages
and its text wraps beside the QR code. The document is built twice: the first pass counts the
pages so the footer can say "page n of N". ``invariant`` fixes dates and the document id, so the
same checklist always gives the same bytes.
"""

from __future__ import annotations

import io
from typing import Any, BinaryIO, Literal
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib.colors import Color, HexColor, black, white
from reportlab.lib.pagesizes import A4, letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph, Spacer, Table

from companion.checklist.model import Checklist, GroupBlock, Section, Step

Paper = Literal["a4", "letter"]

_PAGE_SIZES: dict[Paper, tuple[float, float]] = {"a4": A4, "letter": letter}
_MARGIN = 15 * mm
_FOOTER_BASE = 9 * mm  # bottom of the footer block, from the page edge
_QR_SIZE = 15 * mm
_BOX_SIZE = 9.0  # checkbox side, in points: about the cap height plus a little
_PATH_SEPARATOR = " \u203a "

ACCENT: Color = HexColor("#1a4a8a")  # dark blue: reads as dark grey in greyscale print
_GREY: Color = HexColor("#555555")
_DARK: Color = HexColor("#222222")

# Helvetica has no U+202F (NARROW NO-BREAK SPACE): ReportLab draws a box for it, and Paragraph
# treats it as a breaking space. In the PDF only, French typography uses U+00A0 instead.
_PDF_CHARS = {0x202F: 0x00A0}


def _text(value: str) -> str:
    """Markup-safe text for a Paragraph, with the characters the base fonts lack replaced."""
    return escape(value.translate(_PDF_CHARS))


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
    "footnote": _style("footnote", 6.5, textColor=_GREY),
}
_STYLES["member"] = _style("member", 9)
_PAGE_FONT = ("Helvetica", 8.0)
_ROW_STYLE: list[tuple[Any, ...]] = [
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
    ("TOPPADDING", (0, 0), (-1, -1), 4),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ("LINEBELOW", (0, 0), (-1, -1), 0.3, HexColor("#dddddd")),
]


def render_pdf(checklist: Checklist, out: BinaryIO, *, paper: Paper = "a4") -> int:
    """Write the PDF to `out`; return the number of pages."""
    page_size = _PAGE_SIZES[paper]
    width = page_size[0] - 2 * _MARGIN
    footnote = Paragraph(_text(checklist.footnote), _STYLES["footnote"])
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
        Paragraph(_text(checklist.title), _STYLES["title"]),
        Paragraph(_text(checklist.subtitle), _STYLES["subtitle"]),
        Paragraph(_text(checklist.intro), _STYLES["intro"]),
    ]
    if checklist.notice:
        box = Table([[Paragraph(_text(checklist.notice), _STYLES["notice"])]], colWidths=[width])
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
    flowables: list[Any] = [Paragraph(_text(section.title), _STYLES["heading"])]
    if section.intro:
        flowables.append(Paragraph(_text(section.intro), _STYLES["section_intro"]))
    for block in section.blocks():
        if isinstance(block, GroupBlock):
            flowables += _group_rows(block, width)
        else:
            flowables.append(_step_row(block, width))
    return flowables


def _group_rows(block: GroupBlock, width: float) -> list[Any]:
    """The group's action, path and why, then its apps as a grid of boxes, three to a row."""
    group = block.group
    head: list[Any] = [Paragraph(_text(group.action), _STYLES["action"])]
    if group.path:
        head.append(Paragraph(_text(_PATH_SEPARATOR.join(group.path)), _STYLES["path"]))
    elif group.search:
        head.append(Paragraph(_text(group.search), _STYLES["search"]))
    head.append(Paragraph(_text(group.why), _STYLES["why"]))
    box_column, columns = 7 * mm, 3
    header = Table([["", head]], colWidths=[box_column, width - box_column])
    header.setStyle([*_ROW_STYLE[:-1], ("BOTTOMPADDING", (0, 0), (-1, -1), 2)])
    cell = (width - box_column) / columns
    names = [
        [_checkbox(), Paragraph(_text(step.label or step.action), _STYLES["member"])]
        for step in block.steps
    ]
    rows = [names[i : i + columns] for i in range(0, len(names), columns)]
    padded = [[x for pair in row for x in pair] for row in rows]
    grid = Table(
        [["", *row, *[""] * (2 * columns - len(row))] for row in padded],
        colWidths=[box_column] + [5 * mm, cell - 5 * mm] * columns,
        repeatRows=0,
    )
    grid.setStyle(
        [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 2),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ("LINEBELOW", (0, -1), (-1, -1), 0.3, HexColor("#dddddd")),
        ]
    )
    header.keepWithNext = True
    return [header, grid]


def _step_row(step: Step, width: float) -> Any:
    """One step as a one-row table: a row is never split, and the QR code has its own column."""
    text: list[Any] = [Paragraph(_text(step.action), _STYLES["action"])]
    if step.path:
        text.append(Paragraph(_text(_PATH_SEPARATOR.join(step.path)), _STYLES["path"]))
    elif step.search:
        text.append(Paragraph(_text(step.search), _STYLES["search"]))
    if step.why:
        text.append(Paragraph(_text(step.why), _STYLES["why"]))

    box_column = 7 * mm
    cells: list[Any] = [_checkbox(), text]
    widths = [box_column, width - box_column]
    style = list(_ROW_STYLE)
    if step.link is not None:
        qr_column = _QR_SIZE + 4 * mm
        cells.append(_qr_code(step.link.url))
        widths = [box_column, width - box_column - qr_column, qr_column]
        style += [
            ("ALIGN", (2, 0), (2, 0), "RIGHT"),
            ("HREF", (2, 0), (2, 0), step.link.url),
        ]
    table = Table([cells], colWidths=widths)
    table.setStyle(style)
    return table


def _checkbox() -> Any:
    """An empty square whose top sits level with the top of the action's capitals."""
    top_gap = 10 - 7.2  # action font size minus Helvetica's cap height, in points
    drawing = Drawing(_BOX_SIZE + 1, _BOX_SIZE + top_gap)
    box = Rect(0.5, 0, _BOX_SIZE, _BOX_SIZE)
    box.strokeColor, box.strokeWidth, box.fillColor = black, 0.9, None
    drawing.add(box)
    return drawing


def _qr_code(url: str) -> Any:
    widget = QrCodeWidget(url, barLevel="M", barBorder=1)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(
        _QR_SIZE, _QR_SIZE, transform=[_QR_SIZE / (x1 - x0), 0, 0, _QR_SIZE / (y1 - y0), 0, 0]
    )
    drawing.add(widget)
    return drawing
