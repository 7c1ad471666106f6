"""Passwords written by hand on a sticky note.

The OCR is trained on printed text and misreads handwriting, and no handwriting model ships in a
package we can use offline. So a written password is recognised by what surrounds it rather than
by reading it well: a note-like shape (a square of saturated yellow, orange, pink, green or blue
paper filling part of the photo), a word that names a password read on the picture ("password",
"mdp", "wifi", "code", "pwd", "pass"... with one letter misread at most) and, near it, a short
token mixing letters with digits or symbols. Each alone is common; together they are a note
someone wrote a password on.

``find_note`` runs on a small copy before the text gate (a note holds two or three lines, fewer
than the gate asks for), so a photo with a note is read whatever its line count.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from companion.sensitivity import lexicon

SIDE = 96  # the shape is looked for on a copy this large
MIN_SHARE, MAX_SHARE = 0.02, 0.6  # of the picture a note covers
MIN_FILL = 0.55  # of its bounding box a note fills (tilted, with ink on it)
MIN_SATURATION, MIN_VALUE = 90, 150  # PIL's HSV, 0-255: bright coloured paper
# PIL hue (0-255) ranges of sticky-note paper
HUES = (("yellow", 14, 48), ("green", 50, 115), ("blue", 120, 150), ("pink", 205, 255))
NOTE_WORDS = (
    "password",
    "passwd",
    "pwd",
    "pass",
    "mdp",
    "motdepasse",
    "wifi",
    "wlan",
    "code",
    "pin",
    "passwort",
    "kennwort",
    "clave",
    "login",
)
_TOKEN = re.compile(r"[^\s:=]{5,24}")


@dataclass(frozen=True, slots=True)
class Note:
    colour: str
    share: float  # of the picture's area


def find_note(image: Any) -> Note | None:
    """The largest patch of sticky-note paper on ``image``, if it is shaped like a note."""
    import numpy as np
    from PIL import Image

    scale = SIDE / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    small = image.convert("RGB").resize(size, Image.Resampling.BOX, reducing_gap=2.0)
    hsv = np.asarray(small.convert("HSV"), dtype=np.int16)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    bright = (sat >= MIN_SATURATION) & (val >= MIN_VALUE)
    best: Note | None = None
    for colour, low, high in HUES:
        mask = bright & (hue >= low) & (hue <= high)
        if mask.mean() < MIN_SHARE:  # too little of this colour for a note: no need to look
            continue
        share = _note_share(mask.tolist())
        if share and (best is None or share > best.share):
            best = Note(colour, round(share, 3))
    return best


def _note_share(mask: list[list[bool]]) -> float:
    """The share of the picture its largest patch covers, when that patch is note-shaped
    (square-ish and filling its box); 0.0 otherwise."""
    height, width = len(mask), len(mask[0]) if mask else 0
    seen = [[False] * width for _ in range(height)]
    best = (0, 0, 0, 0, 0)  # area, top, left, bottom, right
    for y in range(height):
        for x in range(width):
            if mask[y][x] and not seen[y][x]:
                patch = _flood(mask, seen, y, x)
                if patch[0] > best[0]:
                    best = patch
    area, top, left, bottom, right = best
    box_h, box_w = bottom - top + 1, right - left + 1
    share = area / max(1, width * height)
    if not MIN_SHARE <= share <= MAX_SHARE or area < 30:
        return 0.0
    if area / (box_h * box_w) < MIN_FILL or not 0.5 <= box_w / box_h <= 2.0:
        return 0.0
    return share


def _flood(
    mask: list[list[bool]], seen: list[list[bool]], y: int, x: int
) -> tuple[int, int, int, int, int]:
    height, width = len(mask), len(mask[0])
    queue = deque([(y, x)])
    seen[y][x] = True
    area, top, left, bottom, right = 0, y, x, y, x
    while queue:
        cy, cx = queue.popleft()
        area += 1
        top, bottom, left, right = min(top, cy), max(bottom, cy), min(left, cx), max(right, cx)
        for ny, nx in ((cy - 1, cx), (cy + 1, cx), (cy, cx - 1), (cy, cx + 1)):
            if 0 <= ny < height and 0 <= nx < width and mask[ny][nx] and not seen[ny][nx]:
                seen[ny][nx] = True
                queue.append((ny, nx))
    return area, top, left, bottom, right


def _near(word: str, target: str) -> bool:
    """``word`` is ``target`` with at most one letter misread, dropped or added."""
    if word == target:
        return True
    if len(target) < 4 or abs(len(word) - len(target)) > 1:
        return False
    if len(word) == len(target):
        return sum(a != b for a, b in zip(word, target, strict=True)) == 1
    short, long = sorted((word, target), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def note_word(line: str) -> str | None:
    """The password word a handwritten line holds ("Password", "MDP", "wi-fi", "Pasword")."""
    folded = lexicon.fold(line).replace("0", "o").replace("-", "")
    for word in re.findall(r"[a-z]+", folded):
        for target in NOTE_WORDS:
            if _near(word, target):
                return target
    return None


def mixed_token(text: str) -> str | None:
    """A short token of letters with digits or symbols, not a date or a time: what a written
    password looks like once OCR has read it, misreads included."""
    for token in map(str, _TOKEN.findall(text)):
        letters = sum(c.isalpha() for c in token)
        others = len(token) - letters
        if letters and others and not re.fullmatch(r"[\d./:h-]+", token):
            return token
    return None


def written_password(lines: Sequence[str]) -> tuple[str, str] | None:
    """(word, token): a password word and, after it on its line or on the next two, a token."""
    for index, line in enumerate(lines):
        word = note_word(line)
        if word is None:
            continue
        after = re.split(r"[:=]", line, maxsplit=1)[-1]
        for text in (after, *lines[index + 1 : index + 3]):
            # handwriting's wide gaps split a token in OCR: "summe r7 00 4" is one
            token = mixed_token(text) or mixed_token("".join(text.split()))
            if token is not None and note_word(token) is None:
                return word, token
    return None
