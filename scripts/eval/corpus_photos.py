"""Camera scenes: documents and cards photographed on a table, QR codes within photos, and
photo-like negatives (with a little incidental text), plus scikit-image's sample photographs as
nudity negatives when scikit-image is installed. Each scene returns a JPEG or HEIC ``Item``.
"""

from __future__ import annotations

from pathlib import Path
from random import Random

import corpus_content as content
from corpus_draw import (
    Font,
    FontBook,
    Item,
    nfc,
    paper,
    photo_size,
    photograph,
    qr_image,
    scene,
    wrap,
)
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

SKIMAGE_PHOTOS = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "camera",
)


def _camera(
    rng: Random,
    image: Image.Image,
    what: str,
    cats: tuple[str, ...],
    lang: str = "",
    doc: bool = False,
) -> Item:
    fmt = "heic" if rng.random() < 0.25 else "jpeg"
    quality = rng.randint(60, 85) if doc else rng.randint(80, 92)
    return Item(image, what, cats, lang, fmt=fmt, quality=quality)


def _card_face(rng: Random, book: FontBook, lang: str) -> Image.Image:
    card = content.card(rng)
    w, h = 1712, 1080  # 85.6 x 54 mm at 20 px/mm
    face = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(face)
    colour = tuple(rng.randint(20, 190) for _ in range(3))
    draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=70, fill=colour)
    draw.rounded_rectangle((150, 380, 370, 540), radius=24, fill=(212, 175, 55))  # the chip
    white, mono = (245, 245, 245), book.pick(rng, "mono")
    draw.text(
        (120, 90),
        rng.choice(("BANQUE POPULAIRE", "Monzo", "BNP", "Revolut")),
        font=book.font(None, 80),
        fill=white,
    )
    draw.text((120, 600), card.number, font=book.font(mono, 118), fill=white)
    valid = "VALID THRU" if lang == "en" else "EXPIRE FIN"
    draw.text((120, 780), f"{valid} {card.expiry}", font=book.font(None, 64), fill=white)
    draw.text((120, 900), nfc(card.holder), font=book.font(None, 70), fill=white)
    draw.text((w - 520, h - 180), card.network, font=book.font(None, 76), fill=white)
    return face


def card_photo(rng: Random, book: FontBook) -> Item:
    lang = rng.choice(("en", "fr"))
    image = photograph(
        _card_face(rng, book, lang), rng, photo_size(rng, (1800, 2400)), rng.uniform(0.55, 0.8)
    )
    return _camera(rng, image, "card-photo", ("payment_card",), lang, doc=True)


def _fields(
    draw: ImageDraw.ImageDraw,
    book: FontBook,
    face: Path | None,
    x: int,
    y: int,
    pairs: list[tuple[str, str]],
    size: int,
) -> int:
    label_font, value_font = book.font(face, size * 2 // 3), book.font(face, size)
    for label, value in pairs:
        draw.text((x, y), label, font=label_font, fill=(70, 70, 90))
        draw.text((x, y + size), value, font=value_font, fill=(15, 15, 20))
        y += size * 2 + size // 2
    return y


def passport_photo(rng: Random, book: FontBook) -> Item:
    who = content.identity(rng)
    page = paper((2500, 1760), (228, 236, 230))
    draw = ImageDraw.Draw(page)
    face = book.pick(rng, "sans")
    draw.text((80, 60), "PASSPORT / PASSEPORT", font=book.font(face, 84), fill=(40, 40, 90))
    draw.text((1500, 70), f"{who.country}  P", font=book.font(face, 70), fill=(40, 40, 90))
    draw.rectangle((80, 240, 620, 900), fill=(175, 180, 185))  # the holder's photo
    draw.ellipse((230, 330, 470, 610), fill=(140, 140, 150))
    draw.ellipse((160, 600, 540, 1000), fill=(140, 140, 150))
    draw.rectangle((80, 900, 620, 1010), fill=page.getpixel((0, 0)))
    birth = f"{who.birth[4:]}/{who.birth[2:4]}/19{who.birth[:2]}"
    expiry = f"{who.expiry[4:]}/{who.expiry[2:4]}/20{who.expiry[:2]}"
    _fields(
        draw,
        book,
        face,
        720,
        240,
        [
            ("Surname / Nom", who.surname),
            ("Given names / Prénoms", who.given.replace("<", " ")),
            ("Nationality / Nationalité", who.country),
            ("Date of birth / Date de naissance", birth),
            ("Sex / Sexe", who.sex),
            ("Date of expiry / Date d'expiration", expiry),
        ],
        52,
    )
    face = book.pick(rng, "mono")
    line1, line2 = content.mrz_td3(who)
    size = _fit(book.font(face, 100), line1, 2340)
    font = book.font(face, size)
    draw.text((80, 1450), line1, font=font, fill=(10, 10, 10))
    draw.text((80, 1450 + round(size * 1.45)), line2, font=font, fill=(10, 10, 10))
    image = photograph(page, rng, _landscape(rng), rng.uniform(0.85, 0.95))
    return _camera(rng, image, "passport-photo", ("identity_document",), "en", doc=True)


def _landscape(rng: Random) -> tuple[int, int]:
    width = rng.randrange(2400, 2880, 16)
    return width, width * 3 // 4


def _fit(font: Font, text: str, width: int) -> int:
    """The size at which ``text`` in this face (measured at size 100) is ``width`` wide."""
    return max(10, int(100 * width / font.getlength(text)))


def idcard_photo(rng: Random, book: FontBook) -> Item:
    who = content.identity(rng)
    back = paper((1712, 1080), (226, 230, 240))
    draw = ImageDraw.Draw(back)
    face = book.pick(rng, "mono")
    draw.text(
        (60, 50),
        "CARTE NATIONALE D'IDENTITÉ / IDENTITY CARD",
        font=book.font(None, 54),
        fill=(40, 40, 90),
    )
    _fields(
        draw,
        book,
        None,
        60,
        160,
        [("Adresse / Address", f"{rng.randint(1, 99)} rue des Lilas 75020 Paris")],
        44,
    )
    lines = content.mrz_td1(who)
    size = _fit(book.font(face, 100), lines[0], 1590)
    font = book.font(face, size)
    for index, line in enumerate(lines):
        draw.text((60, 560 + index * round(size * 1.4)), line, font=font, fill=(10, 10, 10))
    image = photograph(back, rng, _landscape(rng), rng.uniform(0.75, 0.9))
    return _camera(rng, image, "idcard-photo", ("identity_document",), "fr", doc=True)


def _document(rng: Random, book: FontBook, lines: list[tuple[str, float]]) -> Image.Image:
    """A printed A4 page (1240 x 1754 px) holding ``lines`` (text, size in points)."""
    page = paper((1240, 1754))
    draw = ImageDraw.Draw(page)
    face = book.pick(rng, rng.choice(("sans", "serif")))
    y = 90
    for text, points in lines:
        font = book.font(face, round(points * 2.4))
        for line in wrap(text, font, 1240 - 180):
            draw.text((90, y), line, font=font, fill=(20, 20, 25))
            y += round(points * 2.4 * 1.5)
        y += 12
    return page


def bank_photo(rng: Random, book: FontBook) -> Item:
    lang = rng.choice(("en", "fr"))
    holder, number = content.person(rng), content.iban(rng, "FR" if lang == "fr" else None)
    title = "Relevé d'identité bancaire" if lang == "fr" else "Bank details"
    lines = [
        (title, 16.0),
        (f"{'Titulaire' if lang == 'fr' else 'Account holder'} : {holder}", 11.0),
        (f"IBAN : {number}", 12.0),
        (f"BIC : {'BNPAFRPP' if lang == 'fr' else 'NWBKGB2L'}", 11.0),
    ]
    image = photograph(_document(rng, book, lines), rng, photo_size(rng, (2000, 2600)), 0.8)
    return _camera(rng, image, "bank-photo", ("bank_details",), lang, doc=True)


def medical_photo(rng: Random, book: FontBook) -> Item:
    lang = rng.choice(("en", "fr"))
    lines = [(t, p * 0.75) for t, p in content.medical_lines(rng, lang, rng.random() < 0.6)]
    image = photograph(_document(rng, book, lines), rng, photo_size(rng, (2000, 2600)), 0.8)
    return _camera(rng, image, "medical-photo", ("medical",), lang, doc=True)


def qr_photo(rng: Random, book: FontBook, secret: bool) -> Item:
    """A photo with a printed QR code in it (a Wi-Fi card on the fridge, a paper wallet, a
    poster): the code spans 12 to 30 % of the picture's width."""
    kind, payload = (content.secret_qr_payload if secret else content.harmless_qr_payload)(rng)
    size = photo_size(rng)
    image = scene(rng, size)
    code = qr_image(payload, 8)
    side = round(size[0] * rng.uniform(0.12, 0.3))
    code = code.resize((side, side), Image.Resampling.LANCZOS).convert("RGBA")
    code = code.rotate(rng.uniform(-8, 8), expand=True, fillcolor=(0, 0, 0, 0))
    image.paste(
        code,
        (rng.randrange(0, size[0] - code.width), rng.randrange(0, size[1] - code.height)),
        code,
    )
    categories = content.qr_categories(kind) if secret else ()
    return _camera(rng, image, f"qr-photo-{kind}", categories)


def plain_photo(rng: Random, book: FontBook) -> Item:
    return _camera(rng, scene(rng, photo_size(rng)), "plain-photo", ())


def sign_photo(rng: Random, book: FontBook) -> Item:
    size = photo_size(rng)
    image = scene(rng, size)
    draw = ImageDraw.Draw(image)
    text = rng.choice(content.SIGNS)
    font = book.font(book.pick(rng, "sans"), rng.randint(size[0] // 40, size[0] // 18))
    w, h = round(font.getbbox(text)[2]) + 60, round(font.getbbox(text)[3]) + 40
    x, y = rng.randrange(0, max(1, size[0] - w)), rng.randrange(0, max(1, size[1] - h))
    plate = rng.choice(((20, 60, 140), (240, 240, 240), (30, 110, 60)))
    draw.rectangle((x, y, x + w, y + h), fill=plate, outline=(250, 250, 250), width=6)
    ink = (20, 20, 20) if plate[0] > 200 else (250, 250, 250)
    draw.text((x + 30, y + 15), text, font=font, fill=ink)
    return _camera(rng, image, "sign-photo", ())


def nutrition_photo(rng: Random, book: FontBook) -> Item:
    """A food label (mg, µg, percentages): doses without anything medical."""
    lines = [
        ("Nutrition facts / Valeurs nutritionnelles", 14.0),
        ("Energy 1580 kJ / 377 kcal", 11.0),
        (f"Sodium {rng.randint(100, 600)} mg", 11.0),
        (f"Vitamin C {rng.randint(10, 90)} mg (75 %)", 11.0),
        ("Ingrédients : farine de blé, sucre, beurre, oeufs", 11.0),
    ]
    image = photograph(_document(rng, book, lines), rng, photo_size(rng, (1800, 2400)), 0.6)
    return _camera(rng, image, "nutrition-photo", (), "en", doc=True)


def natural_photo(rng: Random, name: str, variant: int) -> Item | None:
    """A scikit-image sample photograph, upscaled to a phone-photo size; variants flip, crop
    and change the exposure. None when scikit-image is missing."""
    try:
        from skimage import data
    except ImportError:
        return None
    image = Image.fromarray(getattr(data, name)()).convert("RGB")
    if variant % 2:
        image = ImageOps.mirror(image)
    if variant >= 2:
        w, h = image.size
        cut = rng.uniform(0.05, 0.2)
        image = image.crop((round(w * cut), round(h * cut / 2), w, h))
        image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.7, 1.3))
    scale = rng.randint(1600, 2200) / max(image.size)
    image = image.resize(
        (round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS
    )
    item = _camera(rng, image, f"natural-{name}", ())
    item.natural = True
    return item
