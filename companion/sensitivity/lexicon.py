"""The words the text detector looks for, and how they are matched.

Every cue is spelled in French and English, and the credentials and bank cues also in German,
Spanish and Italian (the login pages, Wi-Fi cards and recovery sheets of a traveller's roll).

A ``Cue`` is one idea ("date of birth") spelled in a few ways ("date de naissance"). Matching is
on folded text (NFKD, marks stripped, case folded) and on whole words: a cue never matches
inside a longer word. OCR often drops or misreads an accented letter ("Relev d'identit"), so an
accented letter of a phrase may be missing or any other letter; spaces and hyphens between the
words of a phrase may be missing too. Standard library only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


def fold(text: str) -> str:
    """Lower case, accents stripped (NFKD, then combining marks dropped), curly quotes straight."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return stripped.casefold().translate(_QUOTES)


@dataclass(frozen=True, slots=True)
class Cue:
    """One idea and its spellings; ``patterns`` are regexes on folded text for what a phrase
    cannot say. ``role`` groups cues inside one lexicon (a document's name, a field label)."""

    name: str
    phrases: tuple[str, ...]
    strong: bool = True
    patterns: tuple[str, ...] = ()
    role: str = ""

    def search(self, folded: str) -> bool:
        return _regex(self).search(folded) is not None


def _phrase(phrase: str) -> str:
    parts: list[str] = []
    for char in phrase:
        if char in " -":
            parts.append(r"[\s-]*")
        elif char == "'":
            parts.append(r"['\s]*")
        elif unicodedata.normalize("NFKD", char) != char:
            parts.append(r"\w?")  # an accented letter OCR may drop or misread
        else:
            parts.append(re.escape(char.casefold()))
    return "".join(parts)


@cache
def _regex(cue: Cue) -> re.Pattern[str]:
    words = [_phrase(p) for p in cue.phrases]
    alternatives = [rf"(?<![^\W\d_])(?:{w})(?![^\W\d_])" for w in words] + list(cue.patterns)
    return re.compile("|".join(alternatives))


def found(folded: str, cues: Iterable[Cue]) -> list[Cue]:
    """The cues of ``cues`` present in ``folded`` text, in lexicon order."""
    return [cue for cue in cues if cue.search(folded)]


CARD_CONTEXT = (
    Cue(
        "an expiry date",
        ("expiry", "expires", "exp", "valid thru", "valid through", "date d'expiration", "expire"),
        patterns=(r"(?<![\d/])(?:0[1-9]|1[0-2]) ?/ ?\d{2}(?![\d/])",),
    ),
    Cue("a security code", ("cvv", "cvv2", "cvc", "cryptogramme", "security code")),
)

BANK = (
    Cue("RIB", ("rib", "relevé d'identité bancaire")),
    Cue("bank statement", ("bank statement", "relevé de compte", "relevé de comptes")),
    Cue("BIC/SWIFT", ("bic", "swift", "code bic")),
    Cue("sort code", ("sort code",)),
    Cue("account number", ("account number", "account no", "numéro de compte", "n° de compte")),
)

# A bank code printed with an account number identifies the account without an IBAN.
BANK_CODE = (
    Cue(
        "bank code",
        (
            "sort code",
            "routing number",
            "code banque",
            "code guichet",
            "bankleitzahl",
            "blz",
            "abi",
            "cab",
        ),
    ),
)

ACCOUNT = (
    Cue(
        "account number",
        (
            "account number",
            "account no",
            "numéro de compte",
            "n° de compte",
            "kontonummer",
            "número de cuenta",
            "numero di conto",
        ),
    ),
)

# Hints that a 15-digit run printed without its usual spacing is a French social security number.
NIR_CONTEXT = (
    Cue(
        "social security",
        ("sécurité sociale", "carte vitale", "nir", "n° ss", "immatriculation", "assuré"),
    ),
)

# Words that name a Spanish identity number, whose check is one letter in 23.
DNI_CONTEXT = (Cue("DNI", ("dni", "nie", "nif", "documento nacional de identidad")),)

PASSWORD = (
    Cue(
        "password",
        (
            "password",
            "passwords",
            "mot de passe",
            "mots de passe",
            "mdp",
            "passcode",
            "passwort",
            "kennwort",
            "contraseña",
            "clave",
            "parola d'ordine",
            "wpa key",
            "clé wpa",
            "clé de sécurité",
            "netzwerkschlüssel",
            "wlan-schlüssel",
            "clave de red",
            "chiave di rete",
        ),
    ),
    Cue("PIN", ("pin", "code pin")),
)

# A link or button about a password, not a password's label: "forgot password?".
FORGOT = (
    Cue(
        "forgot",
        (
            "forgot",
            "forgotten",
            "reset",
            "oublié",
            "oubliés",
            "réinitialiser",
            "vergessen",
            "zurücksetzen",
            "olvidado",
            "olvidaste",
            "restablecer",
            "dimenticato",
            "dimenticata",
            "reimposta",
        ),
    ),
)

WIFI = (
    Cue(
        "Wi-Fi",
        ("wi-fi", "wifi", "wlan", "ssid", "réseau", "network", "netzwerk", "red", "rete"),
    ),
)

TWO_FACTOR = (
    Cue(
        "2FA",
        (
            "2fa",
            "two-factor",
            "double authentification",
            "authentification à deux facteurs",
            "zwei-faktor",
            "doble factor",
            "due fattori",
            "authenticator",
            "setup key",
            "secret key",
            "clé secrète",
            "clé de configuration",
            "einrichtungsschlüssel",
            "clave secreta",
            "chiave segreta",
        ),
    ),
)

CREDENTIALS = (
    Cue(
        "backup codes",
        (
            "backup codes",
            "backup code",
            "codes de secours",
            "code de secours",
            "backup-codes",
            "sicherungscodes",
            "códigos de respaldo",
            "códigos de seguridad",
            "codici di backup",
        ),
    ),
    Cue(
        "recovery codes",
        (
            "recovery codes",
            "recovery code",
            "codes de récupération",
            "code de récupération",
            "wiederherstellungscodes",
            "códigos de recuperación",
            "codici di recupero",
        ),
    ),
    Cue("one-time", ("one-time", "one time password", "otp", "usage unique", "einmalcode")),
    *TWO_FACTOR,
    Cue(
        "recovery key",
        (
            "recovery key",
            "clé de récupération",
            "clé de secours",
            "wiederherstellungsschlüssel",
            "clave de recuperación",
            "chiave di ripristino",
            "chiave di recupero",
        ),
    ),
    Cue(
        "seed phrase",
        ("seed phrase", "recovery phrase", "phrase de récupération", "mnemonic"),
    ),
    Cue("private key", ("private key", "clé privée", "privater schlüssel", "clave privada")),
    *PASSWORD,
)

MEDICAL = (
    Cue("ordonnance", ("ordonnance",)),
    Cue("prescription", ("prescription", "prescriptions")),
    Cue("posologie", ("posologie",)),
    Cue(
        "blood test",
        (
            "blood test",
            "blood tests",
            "analyses de sang",
            "analyse de sang",
            "bilan sanguin",
            "prise de sang",
        ),
    ),
    Cue("diagnosis", ("diagnosis", "diagnostic")),
    Cue("CPAM", ("cpam",)),
    Cue("Assurance Maladie", ("assurance maladie",)),
    Cue("health insurance", ("health insurance",)),
    Cue("a dose", (), strong=False, patterns=(r"\d ?(?:mg|ml|mcg)(?![^\W\d_])",)),
    Cue(
        "tablets", ("comprimé", "comprimés", "gélule", "gélules", "tablet", "tablets"), strong=False
    ),
    Cue("laboratory", ("laboratoire", "laboratory"), strong=False),
    Cue("results", ("résultats", "results"), strong=False),
    Cue("haemoglobin", ("hémoglobine", "hemoglobin", "haemoglobin"), strong=False),
    Cue("cholesterol", ("cholestérol", "cholesterol"), strong=False),
    Cue("glycaemia", ("glycémie",), strong=False),
    Cue("mutuelle", ("mutuelle",), strong=False),
    Cue("médecin traitant", ("médecin traitant",), strong=False),
    Cue("Dr", ("dr",), strong=False),
    Cue("patient", ("patient", "patiente", "patients"), strong=False),
)
