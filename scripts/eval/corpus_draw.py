"""Drawing for the evaluation corpus: fonts found on this machine, phone screens in light and dark
themes, photo-like backgrounds, QR codes, and "photographing" a document (rotation, perspective,
blur, noise) so that detectors see what a phone camera gives them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from companion.simulator.media import photo_pixels

FONT_ROOTS = ("/usr/share/fonts", "/usr/local/share/fonts")  # Debian's well-known font folders
_SKIP = ("italic", "bdita", "oblique", "light", "math", "symbol", "d050000l", "dingbat", "narrow")
SCREEN_SIZES = ((1170, 2532), (750, 1334), (1284, 2778))
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass
class Item:
    """One corpus file before it is written: pixels, format and what a scan should find."""

    image: Image.Image
    what: str  # the scene that made it, e.g. "card-screen"
    categories: tuple[str, ...] = ()
    lang: str = ""
    screenshot: bool = False
    fmt: str = "jpeg"  # jpeg, heic or png
    quality: int = 88
    natural: bool = False  # a real photograph (scikit-image's samples)
    exif: bool = True  # False: a copy saved from a chat app, its metadata stripped


@dataclass
class FontBook:
    """Regular and bold faces found under ``FONT_ROOTS`` by kind (sans, serif, mono), plus
    Pillow's built-in scalable font (``None`` below) among the sans faces."""

    faces: dict[str, list[Path | None]] = field(default_factory=dict)
    _cache: dict[tuple[Path | None, int], Font] = field(default_factory=dict)

    @classmethod
    def discover(cls) -> FontBook:
        found: dict[str, list[Path | None]] = {"sans": [None], "serif": [], "mono": []}
        for root in FONT_ROOTS:
            for path in sorted(Path(root).rglob("*")):
                name = path.name.lower()
                if path.suffix.lower() not in (".ttf", ".otf") or any(s in name for s in _SKIP):
                    continue
                if not _covers_french(path):
                    continue
                kind = "mono" if "mono" in name else "sans"
                if any(s in name for s in ("serif", "roman", "c059", "p052", "bookman")):
                    kind = "mono" if "mono" in name else "serif"
                found[kind].append(path)
        found["serif"] = found["serif"] or found["sans"]
        found["mono"] = found["mono"] or found["sans"]
        return cls(found)

    def names(self) -> list[str]:
        return [
            f"{kind}: {p.name if p else 'Pillow built-in'}"
            for kind, paths in self.faces.items()
            for p in paths
        ]

    def pick(self, rng: Random, kind: str = "sans") -> Path | None:
        return rng.choice(self.faces[kind])

    def font(self, face: Path | None, size: int) -> Font:
        key = (face, size)
        if key not in self._cache:
            self._cache[key] = (
                ImageFont.load_default(size=size)
                if face is None
                else ImageFont.truetype(str(face), size)
            )
        return self._cache[key]


def _covers_french(path: Path) -> bool:
    """The face draws 'é' differently from a character it surely lacks (its .notdef box)."""
    try:
        font = ImageFont.truetype(str(path), 40)
        return bool(font.getmask("é").getbbox()) and bytes(font.getmask("é")) != bytes(
            font.getmask("\ue000")
        )
    except OSError:
        return False


# -- screens -------------------------------------------------------------------------------------

THEMES = {
    "light": {
        "bg": (242, 242, 247),
        "panel": (255, 255, 255),
        "ink": (20, 20, 24),
        "muted": (110, 110, 118),
        "accent": (0, 122, 255),
    },
    "dark": {
        "bg": (0, 0, 0),
        "panel": (28, 28, 30),
        "ink": (236, 236, 240),
        "muted": (152, 152, 160),
        "accent": (10, 132, 255),
    },
}


class Screen:
    """A phone screen drawn top to bottom: a status bar, a title, then lines and panels."""

    def __init__(
        self,
        rng: Random,
        book: FontBook,
        theme: str | None = None,
        size: tuple[int, int] | None = None,
    ) -> None:
        self.rng = rng
        self.book = book
        self.size = size or rng.choice(SCREEN_SIZES)
        self.scale = 2 if self.size[0] < 1000 else 3  # points to pixels, as iOS does
        self.theme = theme or rng.choice(("light", "light", "dark"))
        self.colours = THEMES[self.theme]
        self.face = book.pick(rng, rng.choice(("sans", "sans", "serif")))
        self.mono = book.pick(rng, "mono")
        self.image = Image.new("RGB", self.size, self.colours["bg"])
        self.draw = ImageDraw.Draw(self.image)
        self.margin = 16 * self.scale
        self.y = 0
        self._status_bar()

    def px(self, points: float) -> int:
        return round(points * self.scale)

    def _status_bar(self) -> None:
        font = self.book.font(self.face, self.px(15))
        clock = f"{self.rng.randint(7, 22)}:{self.rng.randrange(60):02d}"
        self.draw.text((self.px(30), self.px(16)), clock, font=font, fill=self.colours["ink"])
        right = self.size[0] - self.px(80)
        self.draw.rounded_rectangle(
            (right, self.px(18), right + self.px(26), self.px(30)),
            radius=self.px(3),
            outline=self.colours["ink"],
        )
        self.y = self.px(56)

    def title(self, text: str, points: float = 32) -> None:
        self.text(text, points, bold=True)
        self.gap(8)

    def gap(self, points: float) -> None:
        self.y += self.px(points)

    def text(
        self,
        text: str,
        points: float = 17,
        *,
        bold: bool = False,
        mono: bool = False,
        colour: str = "ink",
        indent: float = 0,
    ) -> None:
        """One paragraph, wrapped to the screen's width."""
        face = self.mono if mono else self.face
        if bold and face is not None and not mono:
            face = _bold_of(face)
        font = self.book.font(face, self.px(points))
        left = self.margin + self.px(indent)
        for line in wrap(text, font, self.size[0] - left - self.margin):
            self.draw.text((left, self.y), line, font=font, fill=self.colours[colour])
            self.y += round(self.px(points) * 1.35)

    def rows(self, pairs: Sequence[tuple[str, str]], points: float = 17) -> None:
        """A grouped table of label / value rows on a panel, as Settings and bank apps show."""
        height = round(self.px(points) * 2.4)
        font = self.book.font(self.face, self.px(points))
        right = self.size[0] - self.margin - self.px(14)
        # a value too long to sit right of its label goes on a line of its own, below it
        tall = [self.draw.textlength(v, font=font) > right - self.size[0] * 0.42 for _, v in pairs]
        top = self.y
        bottom = top + sum(height * (2 if t else 1) for t in tall)
        self.draw.rounded_rectangle(
            (self.margin, top, self.size[0] - self.margin, bottom),
            radius=self.px(10),
            fill=self.colours["panel"],
        )
        y = top
        for (label, value), own_line in zip(pairs, tall, strict=True):
            text_y = y + (height - self.px(points)) // 2
            self.draw.text(
                (self.margin + self.px(14), text_y), label, font=font, fill=self.colours["muted"]
            )
            if own_line:
                text_y += height
                x: float = self.margin + self.px(14)
            else:
                x = right - self.draw.textlength(value, font=font)
            self.draw.text((x, text_y), value, font=font, fill=self.colours["ink"])
            y += height * (2 if own_line else 1)
        self.y = bottom + self.px(18)

    def full(self) -> bool:
        return self.y > self.size[1] - self.px(80)


def _bold_of(face: Path) -> Path:
    for candidate in (
        face.with_name(face.stem + "-Bold" + face.suffix),
        face.with_name(face.stem.replace("-Regular", "-Bold") + face.suffix),
    ):
        if candidate.exists():
            return candidate
    return face


def wrap(text: str, font: Font, width: float) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            trial = f"{line} {word}" if line else word
            if line and font.getlength(trial) > width:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return lines


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


# -- QR codes ------------------------------------------------------------------------------------


def qr_image(payload: str, module: int, dark: tuple[int, int, int] = (0, 0, 0)) -> Image.Image:
    """A QR code (never Micro QR) with its quiet zone, ``module`` pixels per module."""
    import segno

    code = segno.make_qr(payload, error="m")
    matrix = code.matrix
    side = (len(matrix) + 8) * module
    image = Image.new("RGB", (side, side), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(matrix):
        for column, on in enumerate(line):
            if on:
                x, y = (column + 4) * module, (row + 4) * module
                draw.rectangle((x, y, x + module - 1, y + module - 1), fill=dark)
    return image


# -- photos --------------------------------------------------------------------------------------


def photo_size(rng: Random, long_side: tuple[int, int] = (1600, 2400)) -> tuple[int, int]:
    side = rng.randrange(*long_side, 16)
    short = side * 3 // 4
    return (side, short) if rng.random() < 0.6 else (short, side)


def scene(rng: Random, size: tuple[int, int]) -> Image.Image:
    """A photo-like picture: the simulator's gradient, blobs and noise, plus a few shapes."""
    image = photo_pixels(rng, size)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(2, 7)):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        w, h = rng.randint(80, size[0] // 3), rng.randint(80, size[1] // 3)
        colour = tuple(rng.randrange(256) for _ in range(3))
        shape = rng.randrange(3)
        if shape == 0:
            draw.ellipse((x, y, x + w, y + h), fill=colour)
        elif shape == 1:
            draw.rectangle((x, y, x + w, y + h), fill=colour)
        else:
            points = [(x + rng.randint(-w, w), y + rng.randint(-h, h)) for _ in range(4)]
            draw.polygon(points, fill=colour)
    return image.filter(ImageFilter.GaussianBlur(1.2))


def table(rng: Random, size: tuple[int, int]) -> Image.Image:
    """A desk or tablecloth to lay a document on: muted, textured, unevenly lit."""
    base = tuple(rng.randint(60, 170) for _ in range(3))
    image = Image.blend(Image.new("RGB", size, base), photo_pixels(rng, size), 0.25)
    draw = ImageDraw.Draw(image)
    for x in range(0, size[0], rng.randint(40, 120)):  # wood grain, or a cloth's weave
        shade = tuple(max(0, c - rng.randint(5, 25)) for c in base)
        draw.line((x, 0, x + rng.randint(-60, 60), size[1]), fill=shade, width=rng.randint(2, 9))
    return image.filter(ImageFilter.GaussianBlur(2))


def photograph(
    doc: Image.Image, rng: Random, size: tuple[int, int], fill: float = 0.75
) -> Image.Image:
    """``doc`` lying on a table, shot by hand: tilted a few degrees, seen slightly off-axis,
    softly focused, with sensor noise; ``fill`` is how much of the frame's width it takes."""
    background = table(rng, size)
    scale = fill * size[0] / doc.width
    if doc.height * scale > 0.9 * size[1]:
        scale = 0.9 * size[1] / doc.height
    doc = doc.convert("RGBA").resize((round(doc.width * scale), round(doc.height * scale)))
    doc = doc.rotate(rng.uniform(-6, 6), resample=Image.Resampling.BICUBIC, expand=True)
    left = (size[0] - doc.width) // 2 + rng.randint(-size[0] // 30, size[0] // 30)
    top = (size[1] - doc.height) // 2 + rng.randint(-size[1] // 30, size[1] // 30)
    background.paste(doc, (left, top), doc)
    w, h = size
    j = [rng.uniform(0, 0.04) for _ in range(8)]
    # the source corners (upper left, lower left, lower right, upper right), each a little inside
    corners = [(j[0], j[1]), (j[2], 1 - j[3]), (1 - j[4], 1 - j[5]), (1 - j[6], j[7])]
    quad = tuple(v for x, y in corners for v in (w * x, h * y))
    warped = background.transform(size, Image.Transform.QUAD, quad, Image.Resampling.BICUBIC)
    light = Image.linear_gradient("L").resize((64, 64)).rotate(rng.uniform(0, 360), fillcolor=128)
    light = light.filter(ImageFilter.GaussianBlur(6)).resize(size, Image.Resampling.BILINEAR)
    shade = Image.new("RGB", size, (0, 0, 0))
    warped = Image.composite(
        warped, Image.blend(warped, shade, 0.25), light.point(lambda v: 128 + v // 2)
    )
    warped = warped.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.2)))
    noise = Image.effect_noise(size, rng.uniform(8, 20)).convert("RGB")
    return Image.blend(warped, noise, 0.04)


def paper(size: tuple[int, int], tint: tuple[int, int, int] = (250, 249, 244)) -> Image.Image:
    return Image.new("RGB", size, tint)
