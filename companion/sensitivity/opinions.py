"""A second opinion on every finding, from a path independent of the one that made it.

One check can be fooled: a receipt's transaction number may pass the Luhn check, a page about
passports has the words of one. So each finding of the text detector is looked at a second way,
by something the first path did not use, and the two are weighed: the second path agrees (the
confidence rises a little), cannot tell (it stays), or disagrees (it falls by 40 %, below the
threshold at which a finding is reported unless the first check was certain).

| category | first path | second path |
|---|---|---|
| identity_document | MRZ check digits; national number keys | the document layout (``documents``) |
| identity_document, MRZ-less | the document layout | a national number, an MRZ |
| payment_card | Luhn and the issuer prefix | card words (expiry, CVV) against receipt words |
| bank_details | the IBAN's checks; account + bank code | bank words near the number |
| credentials | the secret's own check or shape | the value's strength beside the label's words |
| credentials, handwritten | a note's shape and its words | the token's mix of characters |
| medical | medical words | values with a unit (doses, lab results) |

``--explain`` shows both: each explanation ends with "second check: ...". ``REPORT_AT`` is the
confidence from which a finding is reported; ``scripts/eval/score.py`` scans with
``ScanSettings(keep_weak=True)`` and draws precision and recall around it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from companion.sensitivity import lexicon

REPORT_AT = 0.6  # every category: a finding below this confidence is not reported
AGREE_BONUS = 0.03
DISAGREE_FACTOR = 0.6
CEILING = 0.99


@dataclass(frozen=True, slots=True)
class Opinion:
    """The second path's view: True agrees, False disagrees, None cannot tell; and why."""

    agrees: bool | None
    why: str

    def weigh(self, confidence: float) -> float:
        if self.agrees is None:
            return confidence
        if self.agrees:
            return round(min(CEILING, confidence + AGREE_BONUS), 2)
        return round(confidence * DISAGREE_FACTOR, 2)

    def said(self, explanation: str) -> str:
        verdict = {True: "agrees", False: "disagrees", None: "cannot tell"}[self.agrees]
        return f"{explanation}; second check {verdict}: {self.why}"


RECEIPT = (
    lexicon.Cue(
        "receipt",
        (
            "receipt",
            "ticket",
            "transaction",
            "terminal",
            "total",
            "subtotal",
            "tva",
            "vat",
            "montant",
            "merci de votre visite",
            "thank you",
            "facture",
            "invoice",
            "order",
            "commande",
            "tracking",
            "suivi",
            "siret",
        ),
    ),
)
CARD_WORDS = (
    *lexicon.CARD_CONTEXT,
    lexicon.Cue(
        "a card's labels",
        (
            "card number",
            "numéro de carte",
            "cardholder",
            "card holder",
            "titulaire de la carte",
            "valid thru",
            "expire fin",
        ),
    ),
)  # not the networks' names: a receipt prints "VISA" beside a masked number


def _window(lines: Sequence[str], needle: str, span: int = 3) -> str:
    """The lines around the first one holding ``needle``'s digits, folded."""
    digits = re.sub(r"\D", "", needle)
    near = [i for i, line in enumerate(lines) if digits and digits in re.sub(r"\D", "", line)]
    window = lines[max(0, near[0] - span) : near[0] + span + 1] if near else lines
    return lexicon.fold("\n".join(window))


def card_opinion(lines: Sequence[str], last_digits: str) -> Opinion:
    """A card's words near the number agree; a receipt's or an order's, alone, disagree."""
    near = _window(lines, last_digits)
    card = lexicon.found(near, CARD_WORDS)
    if card:
        return Opinion(True, f"card words near the number ({' and '.join(c.name for c in card)})")
    if lexicon.found(near, RECEIPT):
        return Opinion(False, "receipt or order words near the number, no card words")
    return Opinion(None, "no card or receipt words near the number")


def bank_opinion(folded: str) -> Opinion:
    """Bank words on the page agree; their absence cannot tell (an IBAN alone is still one)."""
    words = lexicon.found(folded, (*lexicon.BANK, lexicon.Cue("IBAN", ("iban",))))
    if words:
        return Opinion(True, f"bank words ({words[0].name})")
    return Opinion(None, "no bank words around it")


_UNIT_VALUE = re.compile(
    r"\d+(?:[.,]\d+)?\s?(?:mg|ml|mcg|µg|g/l|g/dl|mmol/l|µmol/l|ui|iu|%)(?![^\W\d_])"
)
_POSOLOGY = re.compile(r"(?<!\w)\d\s?(?:x|fois|times)\s?(?:par jour|/ ?j|a day|per day|daily)")


def medical_opinion(folded: str) -> Opinion:
    """Doses or lab values with their units agree; medical words without any value cannot tell
    (a letter from a clinic is still medical)."""
    values = len(_UNIT_VALUE.findall(folded)) + len(_POSOLOGY.findall(folded))
    if values >= 2:
        return Opinion(True, f"{values} doses or lab values with their units")
    return Opinion(None, "no doses or lab values with units")


def strength_opinion(token: str) -> Opinion:
    """How a password-like value is made: three kinds of characters or more agree; a value that
    reads as a date, a time or an amount disagrees."""
    if re.fullmatch(r"[\d./:,h-]+(?:€|eur|\$)?", token, re.IGNORECASE):
        return Opinion(False, "the value reads as a date, a time or an amount")
    kinds = sum(
        (
            any(c.islower() for c in token),
            any(c.isupper() for c in token),
            any(c.isdigit() for c in token),
            any(not c.isalnum() for c in token),
        )
    )
    if kinds >= 3:
        return Opinion(True, f"the value mixes {kinds} kinds of characters")
    return Opinion(None, f"the value mixes {kinds} kinds of characters")


def checked(kind: str) -> Opinion:
    """A secret confirmed by its own checksum or key structure (BIP39, BitLocker, a private key
    block): nothing else could disagree."""
    return Opinion(True, f"{kind}")
