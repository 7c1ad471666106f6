"""Passwords written on sticky notes: the note's shape (found on pixels drawn here), the words
and tokens handwriting leaves after OCR, and a note whose two lines pass the text gate."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFont

from companion.model import Asset, AssetKind
from companion.sensitivity import notes, text
from companion.sensitivity.base import ScanSettings
from companion.sensitivity.notes import Note, find_note, written_password

_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
DESK = (112, 96, 84)


def _desk_with(note: tuple[int, int, int] | None, side: int = 700, angle: float = 8) -> Image.Image:
    photo = Image.new("RGB", (2000, 1500), DESK)
    if note is not None:
        paper = Image.new("RGBA", (side, side), (*note, 255))
        paper = paper.rotate(angle, expand=True)
        photo.paste(paper, (500, 300), paper)
    return photo


@pytest.mark.parametrize(
    ("colour", "name"),
    [((252, 232, 90), "yellow"), ((255, 150, 190), "pink"), ((160, 232, 120), "green")],
)
def test_a_sticky_note_is_found_by_its_colour_and_shape(
    colour: tuple[int, int, int], name: str
) -> None:
    note = find_note(_desk_with(colour))
    assert note is not None and note.colour == name
    assert 0.1 < note.share < 0.3


def test_what_is_not_a_note() -> None:
    assert find_note(_desk_with(None)) is None
    assert find_note(Image.new("RGB", (2000, 1500), (252, 232, 90))) is None  # a yellow wall
    long_strip = Image.new("RGB", (2000, 1500), DESK)
    ImageDraw.Draw(long_strip).rectangle((0, 600, 2000, 760), fill=(252, 232, 90))
    assert find_note(long_strip) is None  # a yellow stripe, not a square of paper
    assert find_note(_desk_with((120, 120, 120))) is None  # grey paper


@pytest.mark.parametrize(
    ("lines", "found"),
    [
        (["MDP: summe r7 00 4]"], ("mdp", "summer7004]")),  # a token split by wide gaps
        (["Pasword", "B3V%g3vMA52"], ("password", "B3V%g3vMA52")),  # a letter lost
        (["wifi", "tiger8694"], ("wifi", "tiger8694")),
        (["code", "12/03/2024"], None),  # a date is not a password
        (["lait", "pain", "oeufs"], None),
        (["Rappeler Paul", "06 12 34 56 78"], None),
        (["Xk9#pL2m"], None),  # a token without its word
    ],
)
def test_written_passwords(lines: list[str], found: tuple[str, str] | None) -> None:
    assert written_password(lines) == found


def test_a_note_is_needed_for_a_written_password() -> None:
    lines = ["wifi", "tiger8694"]
    assert not text.examine(lines)
    found = text.examine(lines, note=Note("yellow", 0.2))
    assert [f.category for f in found] == ["credentials"]
    assert "yellow sticky note" in found[0].explanation
    assert "tiger8694" not in found[0].explanation


def _font(size: int) -> Any:
    if _FONT.exists():
        return ImageFont.truetype(str(_FONT), size)
    return ImageFont.load_default(size=size)


@pytest.mark.slow
def test_a_note_of_two_lines_passes_the_gate() -> None:
    pytest.importorskip("rapidocr")
    from companion.pictures import Subject

    photo = _desk_with((252, 232, 90), angle=0)
    draw = ImageDraw.Draw(photo)
    draw.text((580, 450), "wifi", font=_font(110), fill=(20, 40, 140))
    draw.text((580, 640), "tiger8694", font=_font(110), fill=(20, 40, 140))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=85)
    data = buffer.getvalue()
    asset = Asset("test", "DCIM/100APPLE/IMG_0003.JPG", len(data), 0, AssetKind.PHOTO)
    subject = Subject(asset, data)
    verdict = text.load(ScanSettings()).detect(subject)
    assert subject.cache["text_boxes"] < text.GATE_LINES  # below the gate for other photos
    assert [f.category for f in verdict.findings] == ["credentials"], verdict.note
    assert notes.find_note(photo) is not None
