"""Identity documents without a machine-readable zone, drawn here in code: the pink EU driving
licence (numbered fields 1 to 9, its category list), older national identity cards, residence
permits' front sides, health insurance cards (a carte Vitale with a valid NIR, a European card),
student and press cards; each photographed at an angle with EXIF, or as the copy a chat app
saves (1280 px, JPEG quality 70, no EXIF). Languages: French, English, German, Spanish, Italian.
The hard negative is an appointment page that names a document and its fields, without values.
"""

from __future__ import annotations

from random import Random

import corpus_content as content
from corpus_draw import FontBook, Item, Screen, photo_size, photograph
from PIL import Image, ImageDraw

from companion.sensitivity.national_ids import nir_ok

LANGS = ("en", "fr", "de", "es", "it")
CARD = (1712, 1080)  # ID-1, 85.6 x 54 mm at 20 px/mm
CHAT_SIDE, CHAT_QUALITY = 1280, 70
LICENCE = {
    "fr": ("RÉPUBLIQUE FRANÇAISE", "PERMIS DE CONDUIRE", "F"),
    "en": ("UNITED KINGDOM", "DRIVING LICENCE", "UK"),
    "de": ("BUNDESREPUBLIK DEUTSCHLAND", "FÜHRERSCHEIN", "D"),
    "es": ("REINO DE ESPAÑA", "PERMISO DE CONDUCCIÓN", "E"),
    "it": ("REPUBBLICA ITALIANA", "PATENTE DI GUIDA", "I"),
}
LEGEND = {
    "fr": "1. NOM 2. PRÉNOMS 3. DATE ET LIEU DE NAISSANCE 4a. DATE DE DÉLIVRANCE 9. CATÉGORIES",
    "en": "1. SURNAME 2. FIRST NAME 3. DATE AND PLACE OF BIRTH 4a. DATE OF ISSUE 9. CATEGORIES",
    "de": "1. NAME 2. VORNAME 3. GEBURTSDATUM UND ORT 4a. AUSSTELLUNGSDATUM 9. KLASSEN",
    "es": "1. APELLIDOS 2. NOMBRE 3. FECHA Y LUGAR DE NACIMIENTO 4a. FECHA DE EXPEDICIÓN",
    "it": "1. COGNOME 2. NOME 3. DATA E LUOGO DI NASCITA 4a. DATA DI RILASCIO 9. CATEGORIE",
}
TITLES = {  # kind -> language -> title
    "identity": {
        "fr": "CARTE NATIONALE D'IDENTITÉ",
        "en": "NATIONAL IDENTITY CARD",
        "de": "PERSONALAUSWEIS",
        "es": "DOCUMENTO NACIONAL DE IDENTIDAD",
        "it": "CARTA D'IDENTITÀ",
    },
    "permit": {
        "fr": "TITRE DE SÉJOUR",
        "en": "RESIDENCE PERMIT",
        "de": "AUFENTHALTSTITEL",
        "es": "PERMISO DE RESIDENCIA",
        "it": "PERMESSO DI SOGGIORNO",
    },
    "student": {
        "fr": "CARTE D'ÉTUDIANT",
        "en": "STUDENT CARD",
        "de": "STUDIERENDENAUSWEIS",
        "es": "CARNÉ DE ESTUDIANTE",
        "it": "TESSERA UNIVERSITARIA",
    },
    "press": {
        "fr": "CARTE DE PRESSE",
        "en": "PRESS CARD",
        "de": "PRESSEAUSWEIS",
        "es": "CARNÉ DE PRENSA",
        "it": "TESSERA STAMPA",
    },
}
LABELS = {  # surname, given names, date of birth, valid until, number
    "fr": ("Nom", "Prénoms", "Date de naissance", "Valable jusqu'au", "N°"),
    "en": ("Surname", "Given names", "Date of birth", "Valid until", "No."),
    "de": ("Name", "Vornamen", "Geburtsdatum", "Gültig bis", "Nr."),
    "es": ("Apellidos", "Nombre", "Fecha de nacimiento", "Válido hasta", "Núm."),
    "it": ("Cognome", "Nome", "Data di nascita", "Valida fino al", "N."),
}
TINTS = {
    "licence": (238, 196, 208),
    "identity": (214, 226, 238),
    "permit": (226, 232, 214),
    "student": (240, 240, 236),
    "press": (232, 222, 200),
    "health": (150, 200, 160),
}


def _date(rng: Random, first: int, last: int) -> str:
    return f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{rng.randint(first, last)}"


def _face(rng: Random, kind: str) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    """A blank card of ``kind``'s colour with the holder's photo drawn on the left."""
    card = Image.new("RGB", CARD, TINTS[kind])
    draw = ImageDraw.Draw(card)
    for y in range(0, CARD[1], 18):  # the guilloche's fine lines
        shade = tuple(max(0, c - rng.randint(4, 12)) for c in TINTS[kind])
        draw.line((0, y, CARD[0], y + rng.randint(-30, 30)), fill=shade, width=2)
    draw.rectangle((60, 260, 460, 780), fill=(170, 172, 178))
    draw.ellipse((170, 320, 350, 540), fill=(128, 128, 138))
    draw.ellipse((110, 540, 410, 860), fill=(128, 128, 138))
    draw.rectangle((60, 780, 460, 880), fill=TINTS[kind])
    return card, draw


def _licence(rng: Random, book: FontBook, lang: str) -> Image.Image:
    card, draw = _face(rng, "licence")
    state, title, code = LICENCE[lang]
    sans = book.pick(rng, "sans")
    draw.rectangle((60, 50, 230, 210), fill=(20, 50, 150))
    draw.text((100, 100), code, font=book.font(sans, 64), fill=(250, 220, 40))
    draw.text((270, 50), state, font=book.font(sans, 46), fill=(40, 40, 60))
    draw.text((270, 110), title, font=book.font(sans, 72), fill=(40, 40, 60))
    surname, given = content.person(rng).split(" ", 1)[::-1]
    place = rng.choice(("PARIS", "LYON", "MÜNCHEN", "MADRID", "TORINO", "LEEDS"))
    categories = "/".join(rng.sample(("AM", "A1", "A2", "B1", "B", "BE", "C1", "C1E"), 4))
    rows = [
        f"1. {surname.upper()}",
        f"2. {given.upper()}",
        f"3. {_date(rng, 1950, 2004)} {place}",
        f"4a. {_date(rng, 2013, 2024)}   4c. {rng.choice(('PRÉFECTURE', 'DVLA', 'KBA', 'DGT'))}",
        f"4b. {_date(rng, 2028, 2039)}",
        f"5. {rng.randint(10, 99)}{rng.choice('ABCDEFGH')}{rng.randrange(10**7):07d}",
        f"9. {categories}",
    ]
    font = book.font(sans, 54)
    for index, row in enumerate(rows):
        draw.text((520, 250 + index * 86), row, font=font, fill=(20, 20, 30))
    if rng.random() < 0.5:  # the legend of the numbered fields, printed small
        draw.text((60, 960), LEGEND[lang], font=book.font(sans, 30), fill=(60, 60, 80))
    return card


def _labelled(rng: Random, book: FontBook, kind: str, lang: str) -> Image.Image:
    """An identity card, residence permit, student or press card: a title and labelled fields."""
    card, draw = _face(rng, kind)
    sans = book.pick(rng, "sans")
    draw.text((60, 70), TITLES[kind][lang], font=book.font(sans, 70), fill=(30, 40, 80))
    surname, given = content.person(rng).split(" ", 1)[::-1]
    name, first, birth, until, number = LABELS[lang]
    rows = [
        (name, surname.upper()),
        (first, given),
        (birth, _date(rng, 1950, 2006)),
        (until, _date(rng, 2026, 2036)),
        (number, f"{rng.randrange(10**9, 10**10)}"),
    ]
    small, big = book.font(sans, 36), book.font(sans, 54)
    for index, (label, value) in enumerate(rows):
        y = 230 + index * 150
        draw.text(
            (520, y), f"{label} :" if lang == "fr" else f"{label}:", font=small, fill=(70, 70, 90)
        )
        draw.text((520, y + 46), value, font=big, fill=(15, 15, 20))
    return card


def nir(rng: Random) -> str:
    """A French social security number whose key checks, printed in its usual groups."""
    sex, year, month = rng.choice("12"), rng.randint(50, 99), rng.randint(1, 12)
    body = f"{sex}{year:02d}{month:02d}{rng.randint(1, 95):02d}{rng.randint(1, 990):03d}"
    body += f"{rng.randint(1, 999):03d}"
    key = 97 - int(body) % 97
    number = f"{body[0]} {body[1:3]} {body[3:5]} {body[5:7]} {body[7:10]} {body[10:13]} {key:02d}"
    assert nir_ok(number.replace(" ", ""))
    return number


def _health(rng: Random, book: FontBook, lang: str) -> Image.Image:
    card, draw = _face(rng, "health")
    sans = book.pick(rng, "sans")
    holder = content.person(rng).upper()
    if lang == "fr":
        draw.text((60, 70), "carte Vitale", font=book.font(sans, 80), fill=(20, 60, 30))
        draw.text((60, 170), "Assurance Maladie", font=book.font(sans, 44), fill=(20, 60, 30))
        draw.text((520, 600), nir(rng), font=book.font(sans, 64), fill=(15, 15, 20))
        draw.text((520, 720), holder, font=book.font(sans, 58), fill=(15, 15, 20))
        return card
    title = {
        "en": "EUROPEAN HEALTH INSURANCE CARD",
        "de": "EUROPÄISCHE KRANKENVERSICHERUNGSKARTE",
        "es": "TARJETA SANITARIA EUROPEA",
        "it": "TESSERA EUROPEA DI ASSICURAZIONE MALATTIA",
    }[lang]
    draw.text((60, 70), title, font=book.font(sans, 52), fill=(20, 30, 90))
    surname, given = holder.split(" ", 1)[::-1]
    rows = [
        f"3  {surname}",
        f"4  {given}",
        f"5  {_date(rng, 1950, 2006)}",
        f"6  {rng.randrange(10**9, 10**10)}",
        f"8  {rng.randrange(10**15, 10**16)}",
        f"9  {_date(rng, 2026, 2031)}",
    ]
    for index, row in enumerate(rows):
        draw.text((520, 230 + index * 110), row, font=book.font(sans, 54), fill=(15, 15, 20))
    return card


def _shot(rng: Random, card: Image.Image, what: str, lang: str, chat: bool) -> Item:
    image = photograph(card, rng, photo_size(rng, (1800, 2600)), rng.uniform(0.55, 0.8))
    if chat:  # saved from a chat app: downscaled, recompressed, metadata gone
        image.thumbnail((CHAT_SIDE, CHAT_SIDE))
        item = Item(image, f"{what}-chat", ("identity_document",), lang, quality=CHAT_QUALITY)
        item.exif = False
        return item
    fmt = "heic" if rng.random() < 0.25 else "jpeg"
    quality = rng.randint(60, 85)
    return Item(image, what, ("identity_document",), lang, fmt=fmt, quality=quality)


def licence_photo(rng: Random, book: FontBook, chat: bool = False) -> Item:
    lang = rng.choice(LANGS)
    return _shot(rng, _licence(rng, book, lang), "licence-photo", lang, chat)


def card_id_photo(rng: Random, book: FontBook, chat: bool = False) -> Item:
    """An MRZ-less card of another kind: identity, permit, health, student or press."""
    lang = rng.choice(LANGS)
    kind = rng.choice(("identity", "permit", "health", "student", "press"))
    card = _health(rng, book, lang) if kind == "health" else _labelled(rng, book, kind, lang)
    return _shot(rng, card, f"{kind}-card-photo", lang, chat)


def appointment_screen(rng: Random, book: FontBook) -> Item:
    """A hard negative: a booking page that names a document and its fields, with one date."""
    lang = rng.choice(LANGS)
    kind = rng.choice(("identity", "permit"))
    s = Screen(rng, book)
    s.title(TITLES[kind][lang].capitalize())
    name, first, birth, _until, _number = LABELS[lang]
    s.text(f"{_date(rng, 2025, 2026)} 10:30", 17)
    s.rows([(name, "-"), (first, "-"), (birth, "JJ/MM/AAAA" if lang == "fr" else "DD/MM/YYYY")], 17)
    return Item(s.image, "appointment-screen", (), lang, screenshot=True, fmt="png")
