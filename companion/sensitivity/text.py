"""Text read on screenshots and documents, checked by validators (RapidOCR, offline).

Screenshots always go to OCR. Other photos pass a cheap gate first: the text detector alone on a
small copy, and only a photo with a few lines of text is read. What is read stays in memory
(``subject.cache["text"]``, for other detectors); findings come from the validators (Luhn, mod 97,
ICAO check digits, BIP-0039, the NIR key) or from several keywords together, never one alone,
and their explanations name what was seen without ever spelling the secret out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from companion.model import Asset, Finding
from companion.pictures import is_image
from companion.sensitivity import credentials, documents, lexicon, notes, opinions, validators
from companion.sensitivity.base import ScanSettings, Subject, Verdict, no_telemetry
from companion.sensitivity.credentials import count_codes, password_like
from companion.sensitivity.national_ids import find_nir, nir_ok
from companion.sensitivity.opinions import Opinion

__all__ = ["TextDetector", "count_codes", "examine", "find_nir", "load", "nir_ok", "password_like"]

NAME = "text"
VERSION = "4"  # 4: documents without an MRZ, handwritten notes, a second opinion per finding
GATE_SIDE = 640  # the gate runs the text detector on a copy this large (about 0.1 s)
GATE_LINES = 4  # text boxes a photo needs to be read: a sign or a caption has fewer
SCREENSHOT_SIDE = 2600  # screenshots are read whole up to this size
PHOTO_SIDE = 2048  # documents photographed: a passport's MRZ reads from about 2016 px
MIN_SCORE = 0.5  # OCR lines read with less confidence are dropped
BULLETS = "\u2022" * 3

_ENGINE: Any = None  # one RapidOCR engine per process, made on first use


def _engine() -> Any:
    """The process's RapidOCR engine: 1 onnxruntime thread (the scan runs one process per core),
    the detector's longest side capped at 736 px, quiet logging."""
    global _ENGINE  # noqa: PLW0603 (once per process)
    if _ENGINE is None:
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        no_telemetry()
        from rapidocr import RapidOCR

        _ENGINE = RapidOCR(
            params={
                "Global.log_level": "error",
                "Global.max_side_len": SCREENSHOT_SIDE,  # we scale; it must not scale again
                "Det.limit_type": "max",
                "Det.limit_side_len": 736,
                "EngineConfig.onnxruntime.intra_op_num_threads": 1,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )
    return _ENGINE


def _scaled(image: Any, side: int) -> Any:
    """``image`` in RGB or grey, longest side at most ``side``, turned upright as its EXIF
    orientation says (a camera stores a portrait shot sideways; the OCR reads upright text)."""
    from PIL import ImageOps

    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    if max(image.size) > side:
        image = image.copy()
        image.thumbnail((side, side))
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # damaged EXIF: read the pixels as stored
        return image


def count_text_boxes(image: Any) -> int:
    """How many text boxes the detector alone finds on ``image`` scaled to ``GATE_SIDE``."""
    result = _engine()(_scaled(image, GATE_SIDE), use_det=True, use_cls=False, use_rec=False)
    boxes = getattr(result, "boxes", None)
    return 0 if boxes is None else len(boxes)


def read_lines(image: Any) -> list[str]:
    """The lines OCR reads on ``image``, top to bottom, those read with confidence only; pieces
    of one printed row ("0263" "7043") are joined left to right, as a person reads them."""
    return read_text(image)[0]


def read_text(image: Any) -> tuple[list[str], list[str]]:
    """(rows, pieces): the rows of ``read_lines`` and the pieces OCR read, before joining."""
    result = _engine()(image, use_det=True, use_cls=False, use_rec=True)
    texts = getattr(result, "txts", None) or ()
    scores = getattr(result, "scores", None) or ()
    boxes = getattr(result, "boxes", None)
    pieces = [
        (str(t).strip(), box)
        for t, s, box in zip(
            texts, scores, boxes if boxes is not None else [None] * len(texts), strict=False
        )
        if s >= MIN_SCORE and str(t).strip()
    ]
    texts_only = [text for text, _box in pieces]
    if boxes is None:
        return texts_only, texts_only
    return _rows(pieces), texts_only


def _rows(pieces: Sequence[tuple[str, Any]]) -> list[str]:
    """Join pieces whose boxes share a row: vertical centres closer than half a box height."""
    placed = []
    for text, box in pieces:
        ys = [float(point[1]) for point in box]
        xs = [float(point[0]) for point in box]
        placed.append(((min(ys) + max(ys)) / 2, max(ys) - min(ys), min(xs), text))
    placed.sort()
    rows: list[list[tuple[float, float, float, str]]] = []
    for piece in placed:
        row = rows[-1] if rows else None
        if row is not None and abs(piece[0] - row[0][0]) < 0.5 * max(piece[1], row[0][1], 1.0):
            row.append(piece)
        else:
            rows.append([piece])
    return [" ".join(p[3] for p in sorted(row, key=lambda p: p[2])) for row in rows]


class TextDetector:
    name = NAME
    version = VERSION

    def __init__(self, keep_weak: bool = False) -> None:
        self.keep_weak = keep_weak  # findings below opinions.REPORT_AT too (the evaluation)

    def applies_to(self, asset: Asset) -> bool:
        return is_image(asset)

    def detect(self, subject: Subject) -> Verdict:
        asset = subject.asset
        screenshot = bool(asset.screenshot) or asset.name.lower().endswith(".png")
        note: notes.Note | None = None
        try:
            if not screenshot:
                reduced = subject.reduced()
                if reduced is None:
                    return Verdict(note=subject.problem() or "no image to read")
                if subject.cache.get("from_thumbnail"):
                    # a HEIC's 320 px thumbnail: text a few pixels high; twice the size lets the
                    # detector see the lines a document has (measured on the evaluation corpus)
                    reduced = reduced.resize((reduced.width * 2, reduced.height * 2))
                note = notes.find_note(reduced)
                boxes = count_text_boxes(reduced)
                subject.cache["text_boxes"] = boxes
                if boxes < (1 if note else GATE_LINES):  # a note holds two or three lines
                    lines_word = "line" if boxes == 1 else "lines"
                    return Verdict(note=f"{boxes} text {lines_word}: below the gate")
            image = subject.full()
            if image is None:
                return Verdict(note=subject.problem() or "no image to read")
            lines, pieces = read_text(_scaled(image, SCREENSHOT_SIDE if screenshot else PHOTO_SIDE))
        except Exception as exc:  # a weird image skips this asset, not the scan
            return Verdict(note=f"OCR failed: {_short(exc)}")
        subject.cache["text"] = "\n".join(lines)
        try:
            findings = examine(lines, pieces, note=note if not screenshot else None)
            if not self.keep_weak:
                findings = tuple(f for f in findings if f.confidence >= opinions.REPORT_AT)
        except Exception as exc:  # odd text must not stop the scan either
            return Verdict(note=f"OCR: {len(lines)} lines; checks failed: {_short(exc)}")
        seen = "; ".join(f"{_LABELS[f.category]} found" for f in findings) or "nothing private"
        return Verdict(findings, f"OCR: {len(lines)} lines; {seen}")


_LABELS = {
    "payment_card": "card number",
    "bank_details": "bank details",
    "identity_document": "identity document",
    "credentials": "credentials",
    "medical": "medical document",
}


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:120]


_GLUED_GROUPS = re.compile(r"(?<=[^\W\d_])(?=\d{4}[ .-]\d{4}[ .-]\d{4})")


def examine(
    lines: Sequence[str], pieces: Sequence[str] = (), note: notes.Note | None = None
) -> tuple[Finding, ...]:
    """Findings in OCR ``lines`` (rows) and ``pieces`` (what OCR read before rows were joined),
    ``note``: the sticky note the photo shows, if any. At most one finding per category, naming
    how many more it saw, each weighed by its second opinion (``opinions``), weak ones included."""
    text = "\n".join(lines)
    joined = " ".join(lines)  # OCR splits a number printed on one line into boxes
    folded = lexicon.fold(text)
    # a card number is a run of digits: a row may glue it to an expiry date, its piece does not
    # and OCR may glue a label to a grouped number ("Numéro de cart3530 0821 9449 7302")
    card_text = "\n".join(_GLUED_GROUPS.sub(" ", line) for line in [*lines, *pieces])
    checks = (
        _payment_card(lines, card_text, joined),
        _bank_details(lines, text, joined, folded),
        _identity_document(lines, joined, folded),
        _credentials(lines, folded, note),
        _medical(folded),
    )
    return tuple(f for f in checks if f is not None)


def _finding(
    category: str,
    confidence: float,
    explanation: str,
    more: int = 0,
    opinion: Opinion | None = None,
) -> Finding:
    if more:
        explanation += f" (and {more} more)"
    if opinion is not None:
        confidence, explanation = opinion.weigh(confidence), opinion.said(explanation)
    return Finding(category, NAME, round(confidence, 2), explanation)


def _both(find: Any, text: str, joined: str, key: Any) -> list[Any]:
    """What ``find`` finds in the text and in its lines joined, each once."""
    items: list[Any] = []
    for item in [*find(text), *find(joined)]:
        if all(key(item) != key(other) for other in items):
            items.append(item)
    return items


def _payment_card(lines: Sequence[str], text: str, joined: str) -> Finding | None:
    cards = _both(validators.find_card_numbers, text, joined, lambda c: c.digits)
    if not cards:
        return None
    card = cards[0]
    explanation = f"card number {card.masked()} passes the Luhn check ({card.issuer})"
    opinion = opinions.card_opinion(lines, card.digits[-4:])
    return _finding("payment_card", 0.95, explanation, len(cards) - 1, opinion)


def _bank_details(lines: Sequence[str], text: str, joined: str, folded: str) -> Finding | None:
    """An IBAN that passes its checks, or an account number printed with its bank code; the
    labels alone ("IBAN", "BIC", an empty "add a payee" form) are not bank details."""
    ibans = _both(validators.find_ibans, text, joined, lambda i: i.compact)
    if ibans:
        iban = ibans[0]
        at = f" ({iban.bank})" if iban.bank else ""
        explanation = f"IBAN {iban.masked()} passes the mod-97 check{at}"
        opinion = opinions.bank_opinion(folded)
        return _finding("bank_details", 0.95, explanation, len(ibans) - 1, opinion)
    account = _labelled_value(lines, lexicon.ACCOUNT, _ACCOUNT_VALUE)
    bank_code = _labelled_value(lines, lexicon.BANK_CODE, _BANK_CODE_VALUE)
    if account and bank_code:
        explanation = f"an account number next to its {bank_code} ({BULLETS})"
        opinion = Opinion(None, "no check digit covers a bare account number")
        return _finding("bank_details", 0.8, explanation, opinion=opinion)
    return None


_ACCOUNT_VALUE = re.compile(r"(?<![\w-])[0-9A-Z]{0,3}[0-9]{6,11}[0-9A-Z]{0,2}(?![\w-])")
_BANK_CODE_VALUE = re.compile(
    r"(?<![\w-])(?:[0-9]{2}-[0-9]{2}-[0-9]{2}|[0-9]{5}|[0-9]{8,9})(?![\w-])"
)


def _labelled_value(lines: Sequence[str], cues: Sequence[lexicon.Cue], value: Any) -> str:
    """The name of the cue whose line (after it) or next line holds ``value``, else ""."""
    for index, line in enumerate(lines):
        hits = lexicon.found(lexicon.fold(line), cues)
        if not hits:
            continue
        rest = line.split(":", 1)[1] if ":" in line else line
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if value.search(rest) or value.fullmatch(following.strip()):
            return hits[0].name
    return ""


def _identity_document(lines: Sequence[str], joined: str, folded: str) -> Finding | None:
    """An MRZ whose check digits hold, a national number whose key holds, or, without either, a
    document's layout (``documents``); each is the other's second opinion."""
    layout = documents.read_layout(lines)
    seen = Opinion(layout.is_document, f"document layout: {layout.describe()}")
    zones = validators.find_mrz(lines)
    if zones:
        mrz = max(zones, key=lambda z: z.checks_passed / z.checks_total)
        explanation = (
            f"{mrz.document} machine-readable zone ({mrz.country or '?'}), "
            f"{mrz.checks_passed} of {mrz.checks_total} check digits pass"
        )
        confidence = min(0.98, 0.7 + 0.28 * mrz.checks_passed / mrz.checks_total)
        # a card's back holds its MRZ alone: no layout cannot reject it
        opinion = seen if layout.is_document else Opinion(None, seen.why)
        return _finding("identity_document", confidence, explanation, len(zones) - 1, opinion)
    numbers = validators.find_national_ids(
        joined,
        nir_hinted=bool(lexicon.found(folded, lexicon.NIR_CONTEXT)),
        dni_hinted=bool(lexicon.found(folded, lexicon.DNI_CONTEXT)),
    )
    if numbers:
        explanation = f"{numbers[0].kind} {BULLETS} passes its key check"
        opinion = seen if layout.is_document else Opinion(None, seen.why)
        return _finding("identity_document", 0.9, explanation, len(numbers) - 1, opinion)
    if layout.is_document:
        explanation = f"an identity document's layout: {layout.describe()}"
        opinion = Opinion(None, "no machine-readable zone or national number to check")
        return _finding("identity_document", layout.confidence, explanation, opinion=opinion)
    return None


def _credentials(lines: Sequence[str], folded: str, note: notes.Note | None) -> Finding | None:
    found = credentials.examine(lines, folded)
    if found is not None:
        confidence, explanation, more, opinion = found
        return _finding("credentials", confidence, explanation, more, opinion)
    written = notes.written_password(lines) if note is not None else None
    if note is None or written is None:
        return None
    word, token = written
    explanation = f"a {note.colour} sticky note with a password-like token next to '{word}'"
    return _finding("credentials", 0.75, explanation, opinion=opinions.strength_opinion(token))


def _medical(folded: str) -> Finding | None:
    cues = lexicon.found(folded, lexicon.MEDICAL)
    names = {c.name for c in cues}
    strong = any(c.strong for c in cues) or {"laboratory", "results"} <= names
    if len(cues) >= 3 and strong:
        explanation = f"medical words: {_names(cues)}"
        return _finding("medical", 0.7, explanation, opinion=opinions.medical_opinion(folded))
    return None


def _names(cues: Sequence[lexicon.Cue]) -> str:
    return ", ".join(f"'{c.name}'" for c in cues)


def load(settings: ScanSettings) -> TextDetector:
    return TextDetector(keep_weak=settings.keep_weak)
