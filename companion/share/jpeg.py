"""A JPEG's metadata taken out without touching its pixels.

A JPEG is a list of marker segments, then the entropy-coded scan data. Dropping the EXIF needs no
re-encode: the segments are rewritten and the scan data, from the first SOS marker to EOI, is
copied byte for byte. What goes:

- every APPn segment (EXIF and its GPS, maker notes and embedded thumbnail in APP1, XMP in APP1,
  IPTC in APP13, FlashPix and MPF in APP2, JFIF and its thumbnail in APP0...) and every COM;
- whatever follows the primary image's EOI (the MPF secondary images, such as an HDR gain map,
  are appended there).

What stays, because the picture needs it to be shown right:

- the orientation: an iPhone stores a portrait photo sideways and says so in EXIF; rotating the
  pixels would re-encode them, so a minimal EXIF is written back carrying the Orientation tag
  alone (and, with ``--keep-date``, the capture date and its offset);
- an ICC profile that is a standard wide-gamut one (Display P3, as iPhones write): without it the
  colours would look washed out; it says nothing about the device that a Display P3 picture does
  not already say. Any other profile goes (an sRGB one is the default anyway);
- the Adobe APP14 segment, which tells a decoder how the colours were transformed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from companion.errors import CompanionError

SOI = b"\xff\xd8"
EOI = 0xD9
SOS = 0xDA
APP1, APP2, APP14, COM = 0xE1, 0xE2, 0xEE, 0xFE
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and the restart markers have no length
_ICC_MAGIC = b"ICC_PROFILE\x00"
_KEPT_PROFILES = (b"Display P3",)


class NotAJpeg(CompanionError):
    """The bytes are not a JPEG this module can read (cut short, no scan data)."""


@dataclass(frozen=True, slots=True)
class Kept:
    """What the clean copy keeps from the EXIF: the orientation and, if asked, the date."""

    orientation: int | None = None
    date: str | None = None  # EXIF "YYYY:MM:DD HH:MM:SS"
    offset: str | None = None  # "+02:00"


def clean_jpeg(data: bytes, kept: Kept) -> bytes:
    """``data`` without metadata: the segments rewritten, the scan data byte for byte."""
    if not data.startswith(SOI):
        raise NotAJpeg("not a JPEG: no start-of-image marker")
    out = [SOI]
    exif = minimal_exif(kept)
    if exif:
        out.append(_segment(APP1, exif))
    pos = 2
    while True:
        marker, start, end = _next_segment(data, pos)
        if marker == SOS:
            stop = _scan_end(data, end)
            out.append(data[start:stop])
            return b"".join(out)
        if _keeps(marker, data[start + 4 : end]):
            out.append(data[start:end])
        pos = end


def scan_data(data: bytes) -> bytes:
    """The bytes from the first SOS marker to the primary image's EOI, included: the pixels
    as coded. Two JPEGs with the same scan data show the same picture."""
    pos = 2
    while True:
        marker, start, end = _next_segment(data, pos)
        if marker == SOS:
            return data[start : _scan_end(data, end)]
        pos = end


def _keeps(marker: int, body: bytes) -> bool:
    if marker == APP14:
        return body.startswith(b"Adobe")
    if marker == APP2 and body.startswith(_ICC_MAGIC):
        return any(name in body[:512] for name in _KEPT_PROFILES) and body[12:14] == b"\x01\x01"
    return not (0xE0 <= marker <= 0xEF or marker == COM)


def _next_segment(data: bytes, pos: int) -> tuple[int, int, int]:
    """The marker at ``pos`` (fill bytes skipped), where its segment starts and ends."""
    while pos < len(data) and data[pos] != 0xFF:
        pos += 1  # garbage between segments: some writers leave it, decoders skip it
    while pos + 1 < len(data) and data[pos + 1] == 0xFF:
        pos += 1
    if pos + 4 > len(data):
        raise NotAJpeg("the JPEG ends before its image data")
    marker = data[pos + 1]
    if marker in _STANDALONE:
        return marker, pos, pos + 2
    length = int.from_bytes(data[pos + 2 : pos + 4], "big")
    end = pos + 2 + length
    if length < 2 or end > len(data):
        raise NotAJpeg("a JPEG segment runs past the end of the file")
    return marker, pos, end


def _scan_end(data: bytes, pos: int) -> int:
    """The end of the primary image (just after its EOI), from the end of its first SOS
    header. Progressive JPEGs hold more segments (tables, scans) between scans; an APPn or COM
    there would be kept as it is (no camera writes one)."""
    while True:
        found = data.find(b"\xff", pos)
        if found < 0 or found + 1 >= len(data):
            return len(data)  # no EOI: a truncated file, kept as decoders show it
        follower = data[found + 1]
        if follower in {0x00, 0xFF} or 0xD0 <= follower <= 0xD7:
            pos = found + 1 if follower == 0xFF else found + 2
            continue
        if follower == EOI:
            return found + 2
        _marker, _start, end = _next_segment(data, found)
        pos = end


def _segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(body) + 2).to_bytes(2, "big") + body


def minimal_exif(kept: Kept) -> bytes:
    """An EXIF block (``Exif\\0\\0`` and a TIFF structure) with the kept tags alone; empty when
    there is nothing to keep (an upright photo, no date asked)."""
    from PIL import Image

    exif = Image.Exif()
    if kept.orientation not in (None, 1):
        exif[0x0112] = kept.orientation
    if kept.date:
        sub = exif.get_ifd(0x8769)
        sub[0x9003] = kept.date
        if kept.offset:
            sub[0x9011] = kept.offset
    if not len(exif) and not kept.date:
        return b""
    block = exif.tobytes()
    return block if block.startswith(b"Exif\x00\x00") else b"Exif\x00\x00" + block


def read_kept(exif: object, *, keep_date: bool) -> Kept:
    """What to keep of a Pillow ``Image.Exif``: its orientation, and its date if asked."""
    from PIL import Image

    if not isinstance(exif, Image.Exif):
        return Kept()
    orientation = exif.get(0x0112)
    date = offset = None
    if keep_date:
        sub = exif.get_ifd(0x8769)
        date = _text(sub.get(0x9003) or exif.get(0x0132))
        offset = _text(sub.get(0x9011))
    return Kept(orientation if isinstance(orientation, int) else None, date, offset)


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return value.strip("\x00 ") or None if isinstance(value, str) else None


def jpeg_kept(data: bytes, *, keep_date: bool) -> Kept:
    """The orientation (and date) a JPEG's own EXIF gives; nothing if it has none."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return read_kept(image.getexif(), keep_date=keep_date)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return Kept()
