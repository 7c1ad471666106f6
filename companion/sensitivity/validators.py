"""Pure validators behind the sensitivity filter: card numbers, IBANs, MRZs, BIP39 seed phrases.

Each finder reads OCR output and puts precision first: a hit needs the standard's own check
(Luhn for ISO/IEC 7812 card numbers, mod 97 for ISO 13616 IBANs, the ICAO Doc 9303 check digits
for machine readable zones) or, for BIP-0039 seed phrases, a run made almost only of list words.
No finder "fixes" a character the OCR may have misread. Standard library only; the word lists are
package data, read on first use.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import accumulate, chain, repeat

from companion.sensitivity.iban_lengths import IBAN_LENGTHS

BULLET = "\u2022"


def mask_middle(text: str, keep_start: int, keep_end: int) -> str:
    """``text`` with all but its first ``keep_start`` and last ``keep_end`` characters bulleted.

    A text too short to hide anything comes back all bullets: a mask never shows the whole value.
    """
    if keep_start < 0 or keep_end < 0:
        raise ValueError("keep_start and keep_end must not be negative")
    hidden = len(text) - keep_start - keep_end
    if hidden <= 0:
        return BULLET * len(text)
    return text[:keep_start] + BULLET * hidden + text[len(text) - keep_end :]


def _grouped(text: str, sizes: Sequence[int]) -> str:
    """``text`` cut into groups of ``sizes`` (then groups of the last size), joined by spaces."""
    parts: list[str] = []
    for size in chain(sizes, repeat(sizes[-1])):
        done = sum(len(part) for part in parts)
        if done >= len(text):
            break
        parts.append(text[done : done + size])
    return " ".join(parts)


# --- payment cards (ISO/IEC 7812) ---------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    """The Luhn check of ISO/IEC 7812-1 Annex B: double every second digit from the right, sum
    the digits, the total ends in 0. ``digits`` must be ASCII digits only, at least 2 of them."""
    if len(digits) < 2 or not (digits.isascii() and digits.isdigit()):
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


# Issuer identification number ranges (first digits, as equal-length low/high bounds) and the
# lengths each network issues. Cartes Bancaires cards are co-branded Visa or Mastercard numbers.
_ISSUERS: tuple[tuple[str, tuple[tuple[str, str], ...], tuple[int, ...]], ...] = (
    ("Visa", (("4", "4"),), (13, 16, 19)),
    ("Mastercard", (("51", "55"), ("2221", "2720")), (16,)),
    ("American Express", (("34", "34"), ("37", "37")), (15,)),
    ("Discover", (("6011", "6011"), ("644", "649"), ("65", "65")), tuple(range(16, 20))),
    ("JCB", (("3528", "3589"),), tuple(range(16, 20))),
    ("Diners Club", (("36", "36"), ("300", "305"), ("38", "39")), tuple(range(14, 20))),
    ("UnionPay", (("62", "62"),), tuple(range(16, 20))),
    (
        "Maestro",
        (("50", "50"), ("56", "58"), ("6304", "6304"), ("6759", "6759"), ("6761", "6763")),
        tuple(range(13, 20)),
    ),
)


@dataclass(frozen=True, slots=True)
class CardNumber:
    """A payment card number found in text: its digits and the network its prefix belongs to."""

    digits: str
    issuer: str

    def masked(self) -> str:
        """First 4 and last 4 digits, bullets between, grouped as printed (Amex 4-6-5)."""
        sizes = {15: (4, 6, 5), 14: (4, 6, 4)}.get(len(self.digits), (4,))
        return _grouped(mask_middle(self.digits, 4, 4), sizes)


def _card_issuer(digits: str) -> str | None:
    for name, ranges, lengths in _ISSUERS:
        if len(digits) in lengths and any(lo <= digits[: len(lo)] <= hi for lo, hi in ranges):
            return name
    return None


_DIGIT_RUN = re.compile(r"[0-9]+(?:[ .-][0-9]+)*")
_SEPARATOR = re.compile(r"[ .-]")
_IBAN_BEFORE = re.compile(r"[A-Za-z]{2}[0-9]{2}(?: [A-Za-z0-9]{4})* $")


def _card_digits(run: str) -> str | None:
    """The digits of a run shaped like a printed card number, else None.

    One group of 13-19 digits, or groups joined by one kind of separator: groups of 4 with a
    shorter last group (4-4-4-4, 4-4-4-4-3, 4-4-4-1) or the Amex and Diners 4-6-5 and 4-6-4.
    """
    if len(set(_SEPARATOR.findall(run))) > 1:
        return None
    sizes = tuple(len(group) for group in _SEPARATOR.split(run))
    card_shaped = (
        len(sizes) == 1
        or sizes in {(4, 6, 5), (4, 6, 4)}
        or (all(size == 4 for size in sizes[:-1]) and sizes[-1] <= 4)
    )
    digits = _SEPARATOR.sub("", run)
    return digits if card_shaped and 13 <= len(digits) <= 19 else None


def find_card_numbers(text: str) -> list[CardNumber]:
    """Card numbers in ``text``, first seen first, each once.

    A candidate is a whole run of digits (grouped by single spaces, hyphens or dots) that no
    letter or digit touches nor a sign precedes (the ``+`` of a phone number, a minus), shaped as
    cards print it, passing Luhn, with an issuer prefix valid for its length and not all one
    digit. Runs right after an IBAN's leading groups are the IBAN's own digits and are skipped.
    Longer runs are never cut into card-sized windows.
    """
    found: list[CardNumber] = []
    for match in _DIGIT_RUN.finditer(text):
        start, end = match.span()
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if before.isalnum() or before in "+-" or after.isalnum():
            continue
        digits = _card_digits(match.group())
        if digits is None or len(set(digits)) == 1 or not luhn_ok(digits):
            continue
        if _IBAN_BEFORE.search(text, max(0, start - 48), start):
            continue
        issuer = _card_issuer(digits)
        card = None if issuer is None else CardNumber(digits, issuer)
        if card is not None and card not in found:
            found.append(card)
    return found


# --- IBAN (ISO 13616) ---------------------------------------------------------------------------

_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+", re.ASCII)
_IBAN_START = re.compile(r"(?:(?<=IBAN)|(?<![0-9A-Za-z]))[A-Za-z]{2}[0-9]{2}", re.IGNORECASE)
_IBAN_SPACES = frozenset(" \u00a0\u202f")


@dataclass(frozen=True, slots=True)
class Iban:
    """An IBAN found in text, in compact upper-case form."""

    country: str
    compact: str

    def masked(self) -> str:
        """Country code and check digits, bullets, the last 3 characters; grouped by 4."""
        return _grouped(mask_middle(self.compact, 4, 3), (4,))


def iban_ok(compact: str) -> bool:
    """ISO 13616-1: a known country code, that country's length (SWIFT registry), a BBAN of
    A-Z and 0-9, check digits 02-98, and the whole, rotated and lettered A=10..Z=35, mod 97 = 1."""
    if not _IBAN_SHAPE.fullmatch(compact) or IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    if not "02" <= compact[2:4] <= "98":
        return False
    rotated = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rotated)) % 97 == 1


def _iban_at(text: str, start: int) -> tuple[str, int] | None:
    """The IBAN starting at ``start`` and where it ends, reading single spaces between groups."""
    length = IBAN_LENGTHS.get(text[start : start + 2].upper())
    if length is None:
        return None
    chars: list[str] = []
    index = start
    while index < len(text) and len(chars) < length:
        char = text[index]
        if char.isascii() and char.isalnum():
            chars.append(char.upper())
        elif not (char in _IBAN_SPACES and text[index + 1 : index + 2].isalnum()):
            break
        index += 1
    if len(chars) < length or text[index : index + 1].isalnum():
        return None
    compact = "".join(chars)
    return (compact, index) if iban_ok(compact) else None


def find_ibans(text: str) -> list[Iban]:
    """IBANs in ``text``, compact or printed in groups, any case, after an optional "IBAN" or
    "IBAN :" label; first seen first, each once. The whole country length must be read, ending at
    a word boundary, and pass :func:`iban_ok`."""
    found: list[Iban] = []
    position = 0
    while (match := _IBAN_START.search(text, position)) is not None:
        hit = _iban_at(text, match.start())
        if hit is None:
            position = match.start() + 1
            continue
        compact, position = hit
        iban = Iban(compact[:2], compact)
        if iban not in found:
            found.append(iban)
    return found


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


# --- BIP-0039 seed phrases ----------------------------------------------------------------------

LANGUAGES = ("english", "french")
_PHRASE_LENGTHS = (24, 21, 18, 15, 12)
_NUMBERING = re.compile(r"[(#]?[0-9]{1,2}[.):]?\)?")
_LEADING_NUMBER = re.compile(r"^[0-9]{1,2}[.):-]+(?=[^\W\d_])")
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")
# English list words that are everyday grammar (pronouns, determiners, prepositions, auxiliaries,
# common adverbs): prose strings them together, a random mnemonic seldom draws more than a few.
# The French list has no word under 5 letters, so French articles and prepositions never match.
_GLUE = (
    "about above across again all almost already also always among another any around because "
    "before behind below between beyond can during eight either enough few first have hello inside "
    "into just later like make more much must near neither never next now off often okay one only "
    "other outside over own please rather same second seven since six soon sorry still such sure "
    "ten thank that then there they this three today toward two under until upon very what when "
    "where will you"
)
_GLUE_WORDS = frozenset(_GLUE.split())


@dataclass(frozen=True, slots=True)
class SeedPhrase:
    """A run of OCR words that looks like a BIP-0039 mnemonic of ``total`` words, ``count`` of
    them from the ``language`` list."""

    language: str
    count: int
    total: int


def _fold(word: str) -> str:
    """Lower case, accents stripped: NFKD, then combining marks dropped."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


@cache
def _bip39_order(language: str) -> dict[str, int]:
    """Each word of the ``language`` list, accent-stripped and lower case, to its index."""
    if language not in LANGUAGES:
        raise ValueError(f"no BIP-0039 word list for {language!r}")
    path = resources.files("companion.sensitivity") / "wordlists" / f"bip39-{language}.txt"
    words = path.read_text(encoding="utf-8").split()
    return {_fold(word): index for index, word in enumerate(words)}


@cache
def bip39_words(language: str) -> frozenset[str]:
    """The 2048 BIP-0039 words of ``language`` ("english" or "french"), accent-stripped, lower
    case. The French list stays 2048 distinct words once its accents are stripped."""
    return frozenset(_bip39_order(language))


def _checksum_ok(words: Sequence[str], order: dict[str, int]) -> bool:
    """BIP-0039: the words' 11-bit indices end with the first len/3 bits of SHA-256(entropy)."""
    bits = 0
    for word in words:
        bits = bits << 11 | order[word]
    size = len(words) // 3
    entropy = (bits >> size).to_bytes(size * 4, "big")
    return hashlib.sha256(entropy).digest()[0] >> (8 - size) == bits & ((1 << size) - 1)


def _seed_tokens(words: Sequence[str]) -> list[str]:
    """OCR words as folded tokens: numbering ("1.", "2)", "01") and bare punctuation dropped,
    a number glued in front of a word ("3.apple") cut off, edge punctuation trimmed."""
    tokens: list[str] = []
    for item in words:
        for raw in item.split():
            if _NUMBERING.fullmatch(raw):
                continue
            token = _EDGES.sub("", _fold(_LEADING_NUMBER.sub("", raw)))
            if token:
                tokens.append(token)
    return tokens


def _best_count(tokens: Sequence[str], language: str, total: int) -> int:
    """The most list words in a window of ``total`` tokens (all of them, if fewer) that reads as
    a mnemonic: at most a quarter glue words, and at most a quarter repeats of a word already
    in it, unless the window is all list words, has a valid checksum and no list word right
    before or after it (the test vector "abandon" x 11, "about")."""
    order = _bip39_order(language)
    size = min(total, len(tokens))
    hits = [0, *accumulate(token in order for token in tokens)]
    glue = [0, *accumulate(token in _GLUE_WORDS for token in tokens)]
    best = 0
    for start in range(len(tokens) - size + 1):
        count = hits[start + size] - hits[start]
        if count <= best or glue[start + size] - glue[start] > total // 4:
            continue
        window = tokens[start : start + size]
        listed = [token for token in window if token in order]
        edges = [*tokens[max(0, start - 1) : start], *tokens[start + size : start + size + 1]]
        isolated = not any(token in order for token in edges)
        if len(set(listed)) >= count - total // 4 or (
            count == total and isolated and _checksum_ok(window, order)
        ):
            best = count
    return best


def find_seed_phrase(words: Sequence[str]) -> SeedPhrase | None:
    """The longest run of ``words`` that reads as a BIP-0039 mnemonic, or None.

    For each phrase length from 24 down to 12 (in steps of 3), a window of that many tokens fires
    when at least length - 2 of them, and at least 80 %, are list words (see ``_best_count`` for
    the guards against prose and word lists). English and French are both tried; the longer
    phrase wins, then the higher count, then English. Prose does not fire: its short glue words
    ("the", "of", "le", "de") are in neither list, and those the English list holds are capped.
    """
    tokens = _seed_tokens(words)
    best: SeedPhrase | None = None
    for language in LANGUAGES:
        for total in _PHRASE_LENGTHS:
            count = _best_count(tokens, language, total)
            if count >= max(total - 2, math.ceil(0.8 * total)):
                if best is None or (total, count) > (best.total, best.count):
                    best = SeedPhrase(language, count, total)
                break
    return best
