"""Pure validators behind the sensitivity filter: card numbers, IBANs, MRZs, BIP39 seed phrases.

Each finder reads OCR output and puts precision first: a hit needs the standard's own check
(Luhn for ISO/IEC 7812 card numbers, mod 97 for ISO 13616 IBANs, the ICAO Doc 9303 check digits
for machine readable zones) or, for BIP-0039 seed phrases, a run made almost only of list words.
No finder "fixes" a digit the OCR may have misread (only the MRZ's letter-only fields, which no
check digit covers, read 0 as O).

The checks themselves come from the field's maintained libraries, not from tables copied here:
``python-stdnum`` for the Luhn check, ``schwifty`` for IBANs (the SWIFT registry's country
formats and the national check digits that France, Germany, Italy, Spain, Belgium... add inside
the BBAN, and the bank a bank code belongs to), ``mnemonic`` for the BIP-0039 word lists. What
stays here is the reading: where a number starts and ends in OCR text, how it is printed. The
MRZ and BIP-0039 finders live in ``mrz`` and ``bip39``, national identity numbers in
``national_ids``, printed recovery keys in ``recovery``; all are re-exported here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import chain, repeat

import schwifty
from schwifty.exceptions import SchwiftyException
from stdnum import luhn as _luhn

from companion.sensitivity.bip39 import LANGUAGES, SeedPhrase, bip39_words, find_seed_phrase
from companion.sensitivity.mrz import Mrz, find_mrz, icao_check_digit
from companion.sensitivity.national_ids import NationalId, find_national_ids
from companion.sensitivity.recovery import RecoveryKey, find_recovery_keys

__all__ = [
    "LANGUAGES",
    "CardNumber",
    "Iban",
    "Mrz",
    "NationalId",
    "RecoveryKey",
    "SeedPhrase",
    "bip39_words",
    "find_card_numbers",
    "find_ibans",
    "find_mrz",
    "find_national_ids",
    "find_recovery_keys",
    "find_seed_phrase",
    "iban_length",
    "iban_ok",
    "icao_check_digit",
    "luhn_ok",
    "mask_middle",
]

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
    """The Luhn check of ISO/IEC 7812-1 Annex B (``stdnum.luhn``). ``digits`` must be ASCII
    digits only, at least 2 of them: the library would also take other scripts' digits."""
    if len(digits) < 2 or not (digits.isascii() and digits.isdigit()):
        return False
    return bool(_luhn.is_valid(digits))


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
    """An IBAN found in text, in compact upper-case form, and the bank its bank code names
    in the registry ("" when the registry does not know it)."""

    country: str
    compact: str
    bank: str = field(default="", compare=False)

    def masked(self) -> str:
        """Country code and check digits, bullets, the last 3 characters; grouped by 4."""
        return _grouped(mask_middle(self.compact, 4, 3), (4,))


@cache
def iban_length(country: str) -> int | None:
    """The IBAN length of ``country`` in the SWIFT registry (as ``schwifty`` ships it), or None."""
    from schwifty import registry

    try:
        return int(registry.get_iban_spec(country).iban_length)
    except (KeyError, SchwiftyException, ValueError):
        return None


def _parsed(compact: str) -> schwifty.IBAN | None:
    if not _IBAN_SHAPE.fullmatch(compact) or not "02" <= compact[2:4] <= "98":
        return None
    try:
        return schwifty.IBAN(compact, validate_bban=True)
    except (SchwiftyException, ValueError):
        return None


def iban_ok(compact: str) -> bool:
    """ISO 13616-1 through ``schwifty``: a registered country, its length and BBAN format, the
    mod-97 check, and the country's own check digits inside the BBAN where it has them. Check
    digits must be 02-98 (01 and 99 alias 98 and 02 under mod 97: no bank issues them)."""
    return _parsed(compact) is not None


def _bank_name(compact: str) -> str:
    parsed = _parsed(compact)
    try:
        return str(parsed.bank_name or "") if parsed is not None else ""
    except (SchwiftyException, ValueError, AttributeError):
        return ""


def _iban_at(text: str, start: int) -> tuple[str, int] | None:
    """The IBAN starting at ``start`` and where it ends, reading single spaces between groups."""
    length = iban_length(text[start : start + 2].upper())
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
    if iban_ok(compact):
        return compact, index
    if "IBAN" not in text[max(0, start - 8) : start].upper():
        return None
    fixed = _read_again(compact)
    return (fixed, index) if fixed is not None else None


_DIGIT_FOR = {"O": "0", "I": "1"}
_LETTER_FOR = {"0": "O", "1": "I"}
_LOOK_ALIKE_MAX = 3  # at most 2**3 readings tried
_FIELD = re.compile(r"(\d+)!([nac])")


def _read_again(compact: str) -> str | None:
    """A labelled IBAN that fails its checks, read again where OCR confuses a letter with a digit
    (O and 0, I and 1): in a field of digits only (the country's BBAN layout, from schwifty's
    registry) a look-alike letter is its digit, in a field of letters only a look-alike digit is
    its letter (Italy's CIN); in a field that allows letters (many account
    numbers) each look-alike is tried both ways, at most ``2 ** _LOOK_ALIKE_MAX`` readings. The
    first reading that passes every check wins. Only after the word "IBAN": random text gains
    nothing from it."""
    from schwifty import registry

    try:
        spec = str(registry.get_iban_spec(compact[:2]).bban_spec)
    except (KeyError, SchwiftyException, ValueError):
        return None
    kinds = "".join(kind * int(count) for count, kind in _FIELD.findall(spec))
    chars = list(compact)
    if len(kinds) != len(chars) - 4:
        return None
    open_places = []
    for offset, kind in enumerate(kinds):
        place = 4 + offset
        if kind == "n":
            chars[place] = _DIGIT_FOR.get(chars[place], chars[place])
        elif kind == "a":
            chars[place] = _LETTER_FOR.get(chars[place], chars[place])
        elif kind == "c" and (chars[place] in _DIGIT_FOR or chars[place] in _LETTER_FOR):
            open_places.append(place)
    if len(open_places) > _LOOK_ALIKE_MAX:
        return None
    for mask in range(1 << len(open_places)):
        reading = list(chars)
        for bit, place in enumerate(open_places):
            if mask >> bit & 1:
                char = reading[place]
                reading[place] = _DIGIT_FOR.get(char) or _LETTER_FOR[char]
        candidate = "".join(reading)
        if candidate != compact and iban_ok(candidate):
            return candidate
    return None


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
        iban = Iban(compact[:2], compact, _bank_name(compact))
        if iban not in found:
            found.append(iban)
    return found
