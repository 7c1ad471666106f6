"""The text rules of the ``credentials`` category: a secret value must be on the picture.

A word is never enough: "password", "mot de passe oublié ?", a masked field (••••••) or a
placeholder make a login page, not a leak. A finding needs the secret itself: a BIP-0039 phrase,
a recovery or private key (``recovery``), a list of one-time codes under a heading that names
them, a 2FA setup key next to words that name it, or a password-like value right after a
password label (on a Wi-Fi card, next to the network's name, it is the Wi-Fi password).

A 2FA setup key, a Wi-Fi password and a wallet's spending key are credentials wherever they are
read; when the picture holds them in a QR code, the QR detector reports ``secret_qr`` and
``credentials`` both (docs/scan.md, "Categories"). The words are in ``lexicon``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from companion.sensitivity import lexicon, validators
from companion.sensitivity.opinions import Opinion, checked, strength_opinion

MIN_CODES = 5  # one-time codes listed before a list counts as backup codes

_CODE = (
    r"(?:[A-Za-z0-9]{3,5}-[A-Za-z0-9]{3,5}"  # 1234-5678, a1b2c-3d4e5
    r"|[0-9]{4} [0-9]{4}|[0-9]{3} [0-9]{3}"  # 8213 4410, 123 456
    r"|[A-Za-z0-9]{6,10})"  # a1b2c3d4
)
_NUMBERING = r"(?:[0-9]{1,2}[.)]\s*)?"
_CODE_LINE = re.compile(rf"{_NUMBERING}({_CODE})(?:\s+{_NUMBERING}({_CODE}))?(?:\s+({_CODE}))?")
_SETUP_KEY = re.compile(r"(?<![A-Za-z0-9])[A-Za-z2-7]{4}(?: [A-Za-z2-7]{4}){3,7}(?![A-Za-z0-9])")
_URL_LIKE = re.compile(r"//|^www\.|@|\.[a-z]{2,4}(?:/|$)", re.IGNORECASE)
_EDGE_MARKS = "*()[]{}:;,.!?\"'«»"
_MASKS = frozenset("•●·*∙◦○x")


def count_codes(lines: Sequence[str]) -> int:
    """How many one-time codes ("1234-5678", "a1b2c3d4", "8213 4410") the lines list: lines
    made of one to three codes only; a code in one piece must hold a digit (words do not)."""
    count = 0
    for line in lines:
        match = _CODE_LINE.fullmatch(line.strip())
        if match is None:
            continue
        codes = [c for c in match.groups() if c]
        if all(any(ch.isdigit() or ch in "- " for ch in c) for c in codes):
            count += len(codes)
    return count


def password_like(token: str) -> bool:
    """8 or more characters without spaces once the marks around it are dropped ("Password*",
    "(required)" are labels), letters with digits or symbols, not a URL or an address, not a
    masked field (•••••, ****), not a password label itself ("Mot-de-passe", "Passwort1")."""
    token = token.strip(_EDGE_MARKS)
    if len(token) < 8 or len(set(token) - _MASKS) < 4 or _URL_LIKE.search(token):
        return False
    if lexicon.found(lexicon.fold(re.sub(r"[\W\d_]+", " ", token)), lexicon.PASSWORD):
        return False
    letters = any(ch.isalpha() for ch in token)
    others = any(not ch.isalpha() for ch in token)
    return letters and others


def _nearby_value(lines: Sequence[str], index: int) -> str | None:
    """A password-like value after the label of line ``index``, or alone on the next line."""
    line = lines[index]
    after = line.split(":", 1)[1] if ":" in line else line
    nearby = after.split()
    if index + 1 < len(lines) and len(lines[index + 1].split()) == 1:
        nearby.append(lines[index + 1].strip())
    return next((t.strip(_EDGE_MARKS) for t in nearby if password_like(t)), None)


def password_next_to_label(lines: Sequence[str]) -> tuple[str, str] | None:
    """(label, value): the label ("password", "PIN") of a password-like value on its line or
    the next one. A "forgot password?" link is a label of nothing: its line is skipped."""
    for index, line in enumerate(lines):
        folded = lexicon.fold(line)
        labels = lexicon.found(folded, lexicon.PASSWORD)
        if not labels or lexicon.found(folded, lexicon.FORGOT):
            continue
        value = _nearby_value(lines, index)
        if value is not None:
            return labels[0].name, value
    return None


def _setup_key(lines: Sequence[str], folded: str) -> bool:
    """A 2FA setup key (base32 in groups of four, with digits) next to words that name it."""
    if not lexicon.found(folded, lexicon.TWO_FACTOR):
        return False
    for match in _SETUP_KEY.finditer("\n".join(lines)):
        if sum(ch.isdigit() for ch in match.group()) >= 2:
            return True
    return False


def examine(lines: Sequence[str], folded: str) -> tuple[float, str, int, Opinion] | None:
    """(confidence, explanation, how many more, second opinion) for the credentials on these
    OCR lines: a checksum or a key's structure is its own second check; a password's is the
    value's make-up (``opinions.strength_opinion``)."""
    phrase = validators.find_seed_phrase(lines)
    if phrase is not None:
        explanation = (
            f"{phrase.count} of {phrase.total} words are from the BIP39 "
            f"{phrase.language.capitalize()} list: a wallet recovery phrase"
        )
        confidence = 0.95 if phrase.count == phrase.total else 0.85
        return confidence, explanation, 0, checked("the BIP39 words and checksum")
    keys = validators.find_recovery_keys("\n".join(lines))
    if keys:
        explanation = f"{keys[0].kind}: it opens the account or disk"
        return keys[0].confidence, explanation, len(keys) - 1, checked("the key's own structure")
    if _setup_key(lines, folded):
        explanation = "a 2FA setup key: anyone with this picture gets your codes"
        return 0.9, explanation, 0, checked("base32 in groups of four, next to 2FA words")
    keywords = lexicon.found(folded, lexicon.CREDENTIALS)
    codes = count_codes(lines) if keywords else 0
    if codes >= MIN_CODES:
        explanation = f"{codes} one-time backup codes next to '{keywords[0].name}'"
        return 0.85, explanation, 0, checked(f"{codes} codes of one shape under their heading")
    found = password_next_to_label(lines)
    if found is None:
        return None
    label, value = found
    opinion = strength_opinion(value)
    wifi = lexicon.found(folded, lexicon.WIFI)
    if wifi:
        return 0.85, f"a Wi-Fi password next to '{label}' and '{wifi[0].name}'", 0, opinion
    return 0.85, f"a password-like string next to '{label}'", 0, opinion
