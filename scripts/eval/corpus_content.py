"""What the evaluation corpus says: secrets that pass their standard's own check, and look-alikes
that must not. Each generator takes a ``random.Random`` and returns text only; drawing is
``corpus_draw``'s job. Every secret made here is checked with companion's own validators before
it is used, so a label never promises something the standard would reject.
"""

from __future__ import annotations

import base64
import hashlib
import string
import unicodedata
from dataclasses import dataclass
from random import Random

import schwifty
from mnemonic import Mnemonic

from companion.sensitivity import validators

# -- payment cards -------------------------------------------------------------------------------

# (network, prefixes, length, grouping); Cartes Bancaires cards are co-branded Visa/Mastercard.
ISSUERS: tuple[tuple[str, tuple[str, ...], int, tuple[int, ...]], ...] = (
    ("VISA", ("4539", "4916", "4970", "4024"), 16, (4, 4, 4, 4)),
    ("Mastercard", ("51", "53", "55", "2221", "2720"), 16, (4, 4, 4, 4)),
    ("AMERICAN EXPRESS", ("34", "37"), 15, (4, 6, 5)),
    ("Discover", ("6011", "65"), 16, (4, 4, 4, 4)),
    ("JCB", ("3530", "3566"), 16, (4, 4, 4, 4)),
    ("Diners Club", ("36",), 14, (4, 6, 4)),
    ("CB VISA", ("4970",), 16, (4, 4, 4, 4)),
)


def _luhn_digit(partial: str) -> str:
    for digit in "0123456789":
        if validators.luhn_ok(partial + digit):
            return digit
    raise AssertionError("unreachable: one digit always completes a Luhn number")


def grouped(digits: str, sizes: tuple[int, ...], sep: str = " ") -> str:
    out, start = [], 0
    for size in sizes:
        out.append(digits[start : start + size])
        start += size
    return sep.join(part for part in out if part)


@dataclass(frozen=True, slots=True)
class Card:
    network: str
    number: str  # as printed
    expiry: str  # MM/YY
    holder: str


def card(rng: Random) -> Card:
    network, prefixes, length, sizes = rng.choice(ISSUERS)
    while True:
        body = rng.choice(prefixes)
        body += "".join(rng.choice(string.digits) for _ in range(length - len(body) - 1))
        digits = body + _luhn_digit(body)
        printed = grouped(digits, sizes)
        if validators.find_card_numbers(printed):
            break
    expiry = f"{rng.randint(1, 12):02d}/{rng.randint(26, 32)}"
    return Card(network, printed, expiry, person(rng).upper())


def non_luhn(rng: Random, length: int = 16) -> str:
    """A long number grouped like a card that fails Luhn (a receipt's transaction number)."""
    while True:
        digits = "".join(rng.choice(string.digits) for _ in range(length))
        if not validators.luhn_ok(digits):
            return grouped(digits, (4,) * (length // 4))


# -- IBAN ----------------------------------------------------------------------------------------

COUNTRIES = ("FR", "DE", "ES", "IT", "BE", "GB", "NL", "CH", "PT", "LU")


def iban(rng: Random, country: str | None = None) -> str:
    """A valid IBAN of a real bank code (schwifty's registry), its national check digits
    included, printed in groups of four."""
    country = country or rng.choice(COUNTRIES)
    compact = schwifty.IBAN.random(country, random=rng).compact
    assert validators.iban_ok(compact), compact
    return grouped(compact, (4,) * 9)


# -- machine readable zones (ICAO Doc 9303) ------------------------------------------------------


def _mrz_name(surname: str, given: str, width: int) -> str:
    text = f"{surname}<<{given.replace(' ', '<')}"
    return (text + "<" * width)[:width]


def _with_check(field: str) -> str:
    return field + str(validators.icao_check_digit(field))


@dataclass(frozen=True, slots=True)
class Identity:
    surname: str
    given: str
    country: str
    number: str
    birth: str  # YYMMDD
    expiry: str  # YYMMDD
    sex: str


def identity(rng: Random) -> Identity:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    country = rng.choice(("FRA", "GBR", "BEL", "CHE", "CAN", "UTO"))
    number = rng.choice(string.digits[1:]) + "".join(
        rng.choice(string.ascii_uppercase + string.digits) for _ in range(8)
    )
    birth = f"{rng.randint(50, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    expiry = f"{rng.randint(27, 35):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    sex = rng.choice("MF")
    return Identity(
        _ascii(last).upper(), _ascii(first).upper(), country, number, birth, expiry, sex
    )


def mrz_td3(who: Identity) -> tuple[str, str]:
    """A passport's two 44-character lines, every check digit right."""
    line1 = ("P<" + who.country + _mrz_name(who.surname, who.given, 39))[:44]
    personal = "<" * 14
    head = _with_check(who.number) + who.country + _with_check(who.birth) + who.sex
    head += _with_check(who.expiry) + personal + "<"
    composite = head[0:10] + head[13:20] + head[21:43]
    line2 = head + str(validators.icao_check_digit(composite))
    assert validators.find_mrz([line1, line2]), (line1, line2)
    return line1, line2


def mrz_td1(who: Identity) -> tuple[str, str, str]:
    """An identity card's three 30-character lines."""
    line1 = ("I<" + who.country + _with_check(who.number) + "<" * 15)[:30]
    line2 = _with_check(who.birth) + who.sex + _with_check(who.expiry) + who.country + "<" * 11
    composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    line2 += str(validators.icao_check_digit(composite))
    line3 = _mrz_name(who.surname, who.given, 30)
    assert validators.find_mrz([line1, line2, line3]), (line1, line2, line3)
    return line1, line2, line3


# -- BIP-0039 ------------------------------------------------------------------------------------


def wordlist(language: str) -> list[str]:
    return [unicodedata.normalize("NFC", w) for w in Mnemonic(language).wordlist]


def seed_phrase(rng: Random, language: str, count: int) -> list[str]:
    """A mnemonic with a valid checksum (``count`` 12 or 24 words)."""
    words = wordlist(language)
    entropy = rng.randbytes(count * 4 // 3)
    bits = "".join(f"{b:08b}" for b in entropy)
    bits += "".join(f"{b:08b}" for b in hashlib.sha256(entropy).digest())[: len(entropy) // 4]
    phrase = [words[int(bits[i : i + 11], 2)] for i in range(0, len(bits), 11)]
    assert validators.find_seed_phrase(phrase) is not None
    return phrase


# -- passwords, codes ----------------------------------------------------------------------------


def password(rng: Random) -> str:
    style = rng.randrange(3)
    if style == 0:  # a word with substitutions, digit, symbol ("Tr0ub4dor&3")
        word = rng.choice(("troubador", "soleil", "marmalade", "papillon", "tangerine", "horizon"))
        swapped = word.translate(str.maketrans("aeio", "4310")).capitalize()
        return swapped + rng.choice("&!#$%?") + str(rng.randint(1, 99))
    alphabet = string.ascii_letters + string.digits + "!#$%&*+-=?@"
    if style == 1:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(12, 20)))
    return "-".join("".join(rng.choice(string.ascii_lowercase) for _ in range(6)) for _ in range(3))


def backup_codes(rng: Random) -> list[str]:
    count = rng.randint(8, 10)
    style = rng.randrange(3)
    if style == 0:
        return [f"{rng.randrange(10**4):04d} {rng.randrange(10**4):04d}" for _ in range(count)]
    hexa = "0123456789abcdef"
    if style == 1:
        return [
            "".join(rng.choice(hexa) for _ in range(5))
            + "-"
            + "".join(rng.choice(hexa) for _ in range(5))
            for _ in range(count)
        ]
    return [f"{rng.randrange(10**8):08d}" for _ in range(count)]


# -- QR payloads ---------------------------------------------------------------------------------

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58check(payload: bytes) -> str:
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number, out = int.from_bytes(data, "big"), ""
    while number:
        number, rest = divmod(number, 58)
        out = _B58[rest] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def secret_qr_payload(rng: Random) -> tuple[str, str]:
    """(what, payload) for a QR code that holds a secret."""
    kind = rng.choice(("totp", "migration", "wifi", "wif", "xprv", "address"))
    if kind == "totp":
        secret = base64.b32encode(rng.randbytes(10)).decode().rstrip("=")
        issuer = rng.choice(("GitHub", "Proton", "Google", "Binance", "Impots.gouv"))
        user = f"{rng.choice(FIRST_NAMES).lower()}@example.com"
        return kind, f"otpauth://totp/{issuer}:{user}?secret={secret}&issuer={issuer}&digits=6"
    if kind == "migration":
        data = base64.b64encode(rng.randbytes(rng.randint(40, 90))).decode()
        return kind, "otpauth-migration://offline?data=" + data.replace("+", "%2B").replace(
            "/", "%2F"
        ).replace("=", "%3D")
    if kind == "wifi":
        network = rng.choice(("Maison-5G", "Livebox-3F2A", "FreeWifi_Home", "Bbox-88C1"))
        return kind, f"WIFI:T:WPA;S:{network};P:{password(rng)};;"
    if kind == "wif":
        return kind, base58check(b"\x80" + rng.randbytes(32) + b"\x01")
    if kind == "xprv":
        payload = bytes.fromhex("0488ade4") + b"\0" * 9 + rng.randbytes(32) + b"\0"
        return kind, base58check(payload + rng.randbytes(32))
    return kind, "bitcoin:" + base58check(b"\0" + rng.randbytes(20))


def qr_categories(kind: str) -> tuple[str, ...]:
    """What a scan should say of a secret code: a credential in a code is both (docs/scan.md);
    a receive address is ``secret_qr`` only."""
    return ("secret_qr",) if kind == "address" else ("credentials", "secret_qr")


def harmless_qr_payload(rng: Random) -> tuple[str, str]:
    kind = rng.choice(("url", "text", "wifi-open", "menu"))
    if kind == "url":
        return (
            kind,
            f"https://www.example.org/{rng.choice(('menu', 'events'))}?id={rng.randint(1, 9999)}",
        )
    if kind == "text":
        return kind, rng.choice(("Table 12", "Merci de votre visite !", "Hello from the museum"))
    if kind == "wifi-open":
        return kind, "WIFI:T:nopass;S:Cafe-Invites;;"
    return kind, "https://menu.example.com/restaurant/le-petit-zinc"


# -- medical documents ----------------------------------------------------------------------------


def medical_lines(rng: Random, lang: str, prescription: bool) -> list[tuple[str, float]]:
    """A prescription or a lab report, as (line, size in points)."""
    doctor, patient = person(rng), person(rng)
    when = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2025"
    if prescription and lang == "fr":
        drugs = rng.sample(
            (
                "Amoxicilline 1 g : 1 comprimé matin et soir pendant 7 jours",
                "Doliprane 1000 mg : 1 comprimé toutes les 6 heures si douleur",
                "Ibuprofène 400 mg : 1 comprimé 3 fois par jour au repas",
                "Oméprazole 20 mg : 1 gélule le matin à jeun",
            ),
            2,
        )
        head = [
            (f"Dr {doctor}", 18.0),
            ("Médecin généraliste", 15.0),
            (f"Le {when}", 15.0),
            ("ORDONNANCE", 24.0),
            (f"Patient : {patient}", 16.0),
        ]
        return head + [(d, 16.0) for d in drugs] + [("Renouvelable 2 fois", 15.0)]
    if prescription:
        drugs = rng.sample(
            (
                "Amoxicillin 500 mg capsules: take one three times daily for 7 days",
                "Sertraline 50 mg tablets: one tablet each morning",
                "Salbutamol inhaler 100 mcg: two puffs when needed",
            ),
            2,
        )
        head = [
            (f"Dr {doctor}", 18.0),
            (f"Date: {when}", 15.0),
            ("Prescription", 24.0),
            (f"Patient: {patient}", 16.0),
        ]
        return head + [(d, 16.0) for d in drugs]
    rows = (
        ("Hémoglobine", "Haemoglobin", f"{rng.uniform(11, 17):.1f} g/dL"),
        ("Glycémie à jeun", "Fasting glucose", f"{rng.uniform(0.7, 1.3):.2f} g/L"),
        ("Cholestérol total", "Total cholesterol", f"{rng.uniform(1.4, 2.8):.2f} g/L"),
        ("Créatinine", "Creatinine", f"{rng.randint(50, 110)} µmol/L"),
    )
    title = "Laboratoire d'analyses médicales" if lang == "fr" else "Laboratory report"
    out = [
        (title, 20.0),
        (("Résultats - " if lang == "fr" else "Results - ") + patient, 16.0),
        (("Prélèvement du " if lang == "fr" else "Sample taken ") + when, 15.0),
    ]
    return out + [(f"{fr if lang == 'fr' else en}   {value}", 16.0) for fr, en, value in rows]


# -- names and ordinary text ---------------------------------------------------------------------

FIRST_NAMES = ("Alice", "Camille", "Léa", "Hugo", "Nora", "Thomas", "Sarah", "Karim", "Zoé", "Paul")
LAST_NAMES = ("Martin", "Bernard", "Dubois", "Lefèvre", "Smith", "Moreau", "Garcia", "Nguyen")


def person(rng: Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def phone_number(rng: Random) -> str:
    if rng.random() < 0.5:
        return "+33 6 " + " ".join(f"{rng.randrange(100):02d}" for _ in range(4))
    return f"+44 7{rng.randrange(1000):03d} {rng.randrange(10**6):06d}"


SIGNS = (
    "RUE DE LA PAIX",
    "BOULANGERIE",
    "SORTIE",
    "Main Street",
    "PHARMACIE",
    "Gare du Nord",
    "OPEN",
    "Café des Amis",
    "STOP",
    "Avenue Victor Hugo",
)
