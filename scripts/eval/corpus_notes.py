"""Sticky notes written by hand, photographed: a password with its word ("wifi", "mdp", "code",
"Password"...) and, as negatives, notes without one (a shopping list, a reminder, a phone number).

No handwriting face is installed here, so handwriting is imitated: each letter drawn on its own
in a marker-like stroke, rotated, shifted off a wavy baseline, its size varying, the whole line
sheared as a slanted hand writes it. The paper is yellow, pink, green, orange or blue.
"""

from __future__ import annotations

import math
import string
from random import Random

from corpus_draw import FontBook, Item, photo_size, table
from PIL import Image, ImageDraw, ImageFilter

NOTE_COLOURS = ((252, 232, 90), (255, 150, 190), (160, 232, 120), (255, 190, 90), (120, 200, 245))
INKS = ((20, 20, 30), (20, 40, 140), (30, 30, 30), (140, 20, 30))
WORDS = ("wifi", "WiFi", "mdp", "MDP", "code", "Password", "pwd", "pass", "Mot de passe", "PIN")
NEGATIVES = (
    ("lait", "pain", "oeufs"),
    ("Call Anna", "6 pm"),
    ("Dentiste", "mardi 10h"),
    ("milk", "bread", "apples"),
    ("Rappeler Paul", "06 12 34 56 78"),
    ("Pick up keys",),
)


def _secret(rng: Random) -> str:
    """What people write: a word and digits, or letters, digits and a symbol mixed."""
    if rng.random() < 0.5:
        word = rng.choice(("soleil", "Maison", "tiger", "Lapin", "Bretagne", "summer"))
        return f"{word}{rng.randint(10, 9999)}{rng.choice(('', '!', '#', '*'))}"
    alphabet = string.ascii_letters + string.digits
    body = "".join(rng.choice(alphabet) for _ in range(rng.randint(7, 10)))
    return body[:3] + rng.choice("#!$%&@") + body[3:] + str(rng.randint(0, 9))


def _handwrite(
    note: Image.Image, rng: Random, book: FontBook, line: str, y: int, size: int
) -> None:
    """``line`` drawn letter by letter as a hand would write it."""
    ink = rng.choice(INKS)
    face = book.pick(rng, "sans")
    stroke = rng.choice((1, 2, 3))  # pen to marker
    x = size // 2 + rng.randint(0, size // 3)
    wave, phase = rng.uniform(0.02, 0.08) * size, rng.uniform(0, math.tau)
    for index, char in enumerate(line):
        points = round(size * rng.uniform(0.85, 1.15))
        font = book.font(face, points)
        width = round(font.getlength(char)) or points // 3
        glyph = Image.new("RGBA", (width + points, points * 2), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text(
            (points // 2, points // 3),
            char,
            font=font,
            fill=ink,
            stroke_width=stroke,
            stroke_fill=ink,
        )
        glyph = glyph.transform(
            glyph.size,
            Image.Transform.AFFINE,
            (1, rng.uniform(0.1, 0.35), 0, 0, 1, 0),
            Image.Resampling.BICUBIC,
        )
        glyph = glyph.rotate(rng.uniform(-9, 9), resample=Image.Resampling.BICUBIC)
        dy = round(wave * math.sin(phase + index * 0.7) + rng.uniform(-0.05, 0.05) * size)
        note.paste(glyph, (x - points // 2, y + dy - points // 3), glyph)
        x += width + round(rng.uniform(-0.05, 0.12) * size) + stroke


def _note(rng: Random, book: FontBook, lines: list[str]) -> Image.Image:
    side = 900
    colour = rng.choice(NOTE_COLOURS)
    note = Image.new("RGB", (side, side), colour)
    glue = tuple(max(0, c - 18) for c in colour)
    ImageDraw.Draw(note).rectangle((0, 0, side, side // 6), fill=glue)
    size = min(130, round(0.92 * side / max(len(line) for line in lines)))
    top = rng.randint(side // 5, side // 3)
    for index, line in enumerate(lines):
        _handwrite(note, rng, book, line, top + index * round(size * 1.5), size)
    return note


def note_photo(rng: Random, book: FontBook, secret: bool) -> Item:
    """A sticky note on a desk or a screen's edge, photographed from above, a little tilted."""
    if secret:
        word = rng.choice(WORDS)
        value = _secret(rng)
        lines = [f"{word}: {value}"] if rng.random() < 0.4 else [word, value]
    else:
        lines = list(rng.choice(NEGATIVES))
    size = photo_size(rng, (1800, 2600))
    image = table(rng, size)
    note = _note(rng, book, lines)
    side = round(min(size) * rng.uniform(0.35, 0.7))
    note = note.resize((side, side), Image.Resampling.LANCZOS).convert("RGBA")
    note = note.rotate(rng.uniform(-12, 12), resample=Image.Resampling.BICUBIC, expand=True)
    left = rng.randrange(0, max(1, size[0] - note.width))
    top = rng.randrange(0, max(1, size[1] - note.height))
    image.paste(note, (left, top), note)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.0)))
    categories = ("credentials",) if secret else ()
    what = "note-photo" if secret else "note-photo-harmless"
    fmt = "heic" if rng.random() < 0.25 else "jpeg"
    return Item(image, what, categories, "", fmt=fmt, quality=rng.randint(75, 90))
