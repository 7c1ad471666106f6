"""Machine readable zones of passports and identity cards (ICAO Doc 9303 parts 3 to 6, and the
French identity card issued before 2021), found in OCR lines and checked with their check digits.
Part of the validators (``companion.sensitivity.validators`` re-exports it)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

# --- machine readable zones (ICAO Doc 9303) -----------------------------------------------------


def icao_check_digit(field: str) -> int:
    """ICAO Doc 9303 part 3, 4.9: weights 7, 3, 1 repeating; digits count as themselves, A=10 to
    Z=35, the filler '<' as 0; the check digit is the weighted sum mod 10."""
    total = 0
    for position, char in enumerate(field):
        if not ("0" <= char <= "9" or "A" <= char <= "Z" or char == "<"):
            raise ValueError(f"not an MRZ character: {char!r}")
        total += (0 if char == "<" else int(char, 36)) * (7, 3, 1)[position % 3]
    return total % 10


@dataclass(frozen=True, slots=True)
class Mrz:
    """A machine readable zone found in OCR lines and how many of its check digits hold."""

    kind: str
    document: str
    country: str
    checks_passed: int
    checks_total: int


@dataclass(frozen=True, slots=True)
class _Layout:
    kind: str
    width: int
    lines: tuple[str, ...]  # each line's shape, as a regular expression
    # check name -> the (start, end) spans of the joined lines it covers, flattened; its check
    # digit follows the last span
    checks: dict[str, tuple[int, ...]]
    # per line, the (start, end) spans that hold letters only (document code, states, names):
    # OCR reads O as 0 there, and no check digit covers them, so 0 is read back as O
    letters: tuple[tuple[tuple[int, int], ...], ...] = ()


_A, _N, _X = "[A-Z<]", "[0-9<]", "[A-Z0-9<]"
_DOCUMENTS = {"P": "passport", "I": "identity card", "A": "identity card", "C": "identity card"}
_LAYOUTS = (
    _Layout(  # passport booklet, Doc 9303 part 4: 2 x 44
        "TD3",
        44,
        (
            f"[A-Z]{_A}{{43}}",
            f"{_X}{{9}}{_N}{_A}{{3}}{_N}{{6}}[0-9][MFX<]{_N}{{7}}{_X}{{14}}{_N}[0-9]",
        ),
        {"document": (44, 53), "birth": (57, 63), "expiry": (65, 71), "optional": (72, 86)}
        | {"composite": (44, 54, 57, 64, 65, 87)},
        (((0, 44),), ((10, 13),)),
    ),
    _Layout(  # identity card, Doc 9303 part 5: 3 x 30
        "TD1",
        30,
        (
            f"[A-Z]{_A}{{4}}{_X}{{9}}{_N}{_X}{{15}}",
            f"{_N}{{6}}[0-9][MFX<]{_N}{{7}}{_A}{{3}}{_X}{{11}}[0-9]",
            f"{_A}{{30}}",
        ),
        {"document": (5, 14), "birth": (30, 36), "expiry": (38, 44)}
        | {"composite": (5, 30, 30, 37, 38, 45, 48, 59)},
        (((0, 5),), ((15, 18),), ((0, 30),)),
    ),
    _Layout(  # French identity card issued before 2021: 2 x 36, a national layout
        "FR-ID",
        36,
        (f"IDFRA{_A}{{25}}{_X}{{6}}", f"[A-Z0-9]{{12}}[0-9]{_A}{{14}}{_N}{{6}}[0-9][MF<][0-9]"),
        {"document": (36, 48), "birth": (63, 69), "composite": (0, 71)},
    ),
    _Layout(  # other official travel documents, Doc 9303 part 6: 2 x 36
        "TD2",
        36,
        (f"[A-Z]{_A}{{35}}", f"{_X}{{9}}{_N}{_A}{{3}}{_N}{{6}}[0-9][MFX<]{_N}{{7}}{_X}{{7}}[0-9]"),
        {"document": (36, 45), "birth": (49, 55), "expiry": (57, 63)}
        | {"composite": (36, 46, 49, 56, 57, 71)},
        (((0, 36),), ((10, 13),)),
    ),
)


def _mrz_variants(raw: str) -> tuple[str, ...]:
    """An OCR line as MRZ text: upper case, no spaces, the angle quotes U+2039 and U+00AB read
    as '<' (U+00AB also as '<<', which OCR often merges into it)."""
    line = "".join(raw.split()).upper().replace("\u2039", "<")
    if "\u00ab" not in line:
        return (line,)
    return (line.replace("\u00ab", "<"), line.replace("\u00ab", "<<"))


def _mrz_rows(
    lines: Sequence[str], index: int, count: int, width: int
) -> Iterator[tuple[tuple[str, ...], int]]:
    """Every way to read ``count`` MRZ lines of ``width`` from ``lines[index:]``, each one OCR
    line or two OCR fragments joined, with the index of the first line left unread."""
    if count == 0:
        yield (), index
        return
    for taken in (1, 2):
        if index + taken > len(lines):
            break
        for text in _mrz_variants("".join(lines[index : index + taken])):
            if len(text) == width:
                for rest, after in _mrz_rows(lines, index + taken, count - 1, width):
                    yield (text, *rest), after


def _letters_back(layout: _Layout, rows: Sequence[str]) -> list[str]:
    """``rows`` with 0 read as O, and any other stray mark as a filler, where the layout allows
    letters only (no check digit covers those fields: the checks still decide)."""
    fixed = list(rows)
    for number, spans in enumerate(layout.letters):
        for lo, hi in spans:
            row = fixed[number]
            letters = _NOT_LETTER.sub("<", row[lo:hi].replace("0", "O"))
            fixed[number] = row[:lo] + letters + row[hi:]
    return fixed


_NOT_LETTER = re.compile(r"[^A-Z<]")


def _read_mrz(layout: _Layout, rows: Sequence[str]) -> Mrz | None:
    rows = _letters_back(layout, rows)
    if not all(re.fullmatch(shape, row) for shape, row in zip(layout.lines, rows, strict=True)):
        return None
    joined = "".join(rows)
    passed: set[str] = set()
    for name, spans in layout.checks.items():
        field = "".join(joined[lo:hi] for lo, hi in zip(spans[::2], spans[1::2], strict=True))
        if name in {"document", "birth"} and not field.strip("<"):
            return None  # a real document always has a number and a birth date
        digit = joined[spans[-1]]
        if (digit == "<" and not field.strip("<")) or (
            digit.isdigit() and int(digit) == icao_check_digit(field)
        ):
            passed.add(name)
    if len(passed) < 2 or not passed & {"birth", "composite"}:
        return None
    document = _DOCUMENTS.get(rows[0][0], "travel document")
    country = rows[0][2:5].replace("<", "")
    return Mrz(layout.kind, document, country, len(passed), len(layout.checks))


def find_mrz(lines: Sequence[str]) -> list[Mrz]:
    """Machine readable zones in OCR ``lines``, in order.

    Consecutive lines (or pairs of split fragments) of exactly a layout's width, once normalised,
    must match its line shapes; at least 2 check digits must hold, the birth date's or the
    composite among them. Where layouts compete for the same lines the most passed checks win.
    """
    found: list[Mrz] = []
    index = 0
    while index < len(lines):
        best: tuple[Mrz, int] | None = None
        for layout in _LAYOUTS:
            for rows, after in _mrz_rows(lines, index, len(layout.lines), layout.width):
                mrz = _read_mrz(layout, rows)
                if mrz is not None and (best is None or mrz.checks_passed > best[0].checks_passed):
                    best = (mrz, after)
        if best is None:
            index += 1
        else:
            found.append(best[0])
            index = best[1]
    return found
