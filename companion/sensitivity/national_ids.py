"""National identity numbers printed on ID cards and papers, checked with ``python-stdnum``.

French social security numbers (NIR, on the carte Vitale and payslips), Spanish DNI and NIE
(the identity card's number), Italian codici fiscali (the tessera sanitaria, the identity card).
The library holds each country's check; this module finds the numbers in OCR text the way they
are printed. A short number whose check is a single letter (the DNI's 1 in 23) is taken only
next to the words that name it, so an order reference ending in a letter is not a DNI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.it import codicefiscale


@dataclass(frozen=True, slots=True)
class NationalId:
    """A national identity number found in text: what it is, never its value."""

    kind: str


_NIR = re.compile(
    r"(?<![0-9A-Za-z])([12378]) ?([0-9]{2}) ?([0-9]{2}) ?([0-9]{2}|2[AB]) ?([0-9]{3}) ?"
    r"([0-9]{3}) ?([0-9]{2})(?![0-9A-Za-z])",
    re.IGNORECASE,
)
_DNI = re.compile(r"(?<![0-9A-Za-z])([XYZ]?[0-9]{7,8})[ -]?([A-Z])(?![0-9A-Za-z])", re.IGNORECASE)
_OMOCODE = "[0-9LMNPQRSTUV]"  # digits a codice fiscale may carry as letters
_CODICE = re.compile(
    rf"(?<![0-9A-Za-z])[A-Z]{{6}}{_OMOCODE}{{2}}[A-Z]{_OMOCODE}{{2}}[A-Z]{_OMOCODE}{{3}}[A-Z]"
    r"(?![0-9A-Za-z])"
)


def nir_ok(number: str) -> bool:
    """The NIR's key (``stdnum.fr.nir``): 97 - (the 13 digits mod 97), Corsica's 2A and 2B."""
    return bool(nir.is_valid(number.replace(" ", "").upper()))


def find_nir(text: str, *, hinted: bool = False) -> bool:
    """Whether ``text`` holds a NIR whose key checks: printed in its usual groups
    ("2 69 05 49 588 157 80"), or in one run of 15 when the text also speaks of social security."""
    for match in _NIR.finditer(text):
        month = int(match.group(3))
        if not (1 <= month <= 12 or month >= 20):
            continue
        grouped = " " in match.group()
        if (grouped or hinted) and nir_ok(match.group()):
            return True
    return False


def find_national_ids(
    text: str, *, nir_hinted: bool = False, dni_hinted: bool = False
) -> list[NationalId]:
    """The national identity numbers in ``text`` whose check holds, each kind once."""
    found: list[NationalId] = []
    if find_nir(text, hinted=nir_hinted):
        found.append(NationalId("French social security number"))
    if dni_hinted:
        for match in _DNI.finditer(text):
            number = "".join(match.groups()).upper()
            if dni.is_valid(number) or nie.is_valid(number):
                found.append(NationalId("Spanish identity number (DNI/NIE)"))
                break
    if any(codicefiscale.is_valid(m.group()) for m in _CODICE.finditer(text.upper())):
        found.append(NationalId("Italian codice fiscale"))
    return found
