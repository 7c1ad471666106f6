"""Capture facts from a media file's header: EXIF, HEIF item boxes, QuickTime atoms, PNG chunks.

Used by connectors that can seek in a file (``FolderConnector.probe``). Every reader takes a
seekable binary stream positioned anywhere and reads metadata only: JPEG/TIFF/PNG through Pillow's
lazy ``Image.open`` (headers, up to the first image data), HEIF and QuickTime by walking boxes with
seeks, so a movie's ``mdat`` or a photo's pixels are never read. pillow_heif is not used: its opener
reads the whole file into memory before it parses anything.

``read_facts`` never raises for bad metadata: these are hostile bytes from a phone or a disk, and a
damaged header only means the facts stay unknown.
"""

from __future__ import annotations

import logging
import re
import struct
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from PIL.Image import Exif

logger = logging.getLogger(__name__)

# Real iPhone screen sizes (portrait); a PNG of exactly one of these, either way up, is a
# screenshot. The simulator keeps its own list: the phone does not read our code.
_SCREENS = {
    (640, 1136), (750, 1334), (828, 1792), (1080, 1920), (1080, 2340), (1125, 2436),
    (1170, 2532), (1179, 2556), (1206, 2622), (1242, 2208), (1242, 2688), (1284, 2778),
    (1290, 2796), (1320, 2868),
}  # fmt: skip
_SCREENSHOT = "Screenshot"  # what iOS writes in UserComment (EXIF and XMP) of a screenshot
_XMP_SCREENSHOT = re.compile(r">\s*Screenshot\s*<")
_QT_EPOCH = datetime(1904, 1, 1, tzinfo=UTC)
_CREATION_KEY = b"com.apple.quicktime.creationdate"
_MAX_BOX = 4 << 20  # a metadata box larger than this is not metadata: refuse to read it

# EXIF tags (TIFF/EP and Exif 2.31 numbering)
_EXIF_IFD = 0x8769
_IMAGE_DESCRIPTION = 0x010E
_DATE_TIME_ORIGINAL = 0x9003
_OFFSET_TIME = 0x9010
_OFFSET_TIME_ORIGINAL = 0x9011
_USER_COMMENT = 0x9286


@dataclass(frozen=True, slots=True)
class HeaderFacts:
    """What a header told us; ``None`` means the header does not say."""

    captured_at: datetime | None = None
    screenshot: bool | None = None


class _Malformed(ValueError):
    """A box or atom that does not fit where it claims to be."""


def read_facts(stream: BinaryIO, suffix: str) -> HeaderFacts | None:
    """Read the facts of a file whose name ends in ``suffix`` (``.HEIC``, any case).

    Returns ``None`` when the format has no reader or the header cannot be understood.
    """
    reader = _READERS.get(suffix.lower())
    if reader is None:
        return None
    try:
        # Pillow warns (on stderr, to the person) about every damaged EXIF block; a damaged
        # header is an ordinary answer here ("unknown"), logged at debug level below.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return reader(stream)
    except Exception as exc:
        logger.debug("unreadable %s header: %s", suffix, exc)
        return None


def _read_pillow(stream: BinaryIO, formats: tuple[str, ...]) -> HeaderFacts:
    """JPEG and TIFF: Pillow parses the markers or IFDs and stops before the pixels.

    ``formats`` pins the decoder so that odd bytes behind a ``.JPG`` name never reach another
    Pillow plugin.
    """
    from PIL import Image

    with Image.open(stream, formats=formats) as image:
        exif = image.getexif()
        return HeaderFacts(_exif_time(exif), _exif_says_screenshot(exif))


def _read_png(stream: BinaryIO) -> HeaderFacts:
    """PNG: size from IHDR, EXIF from ``eXIf`` and XMP from ``iTXt``, all before IDAT.

    ``image.getexif()`` is avoided on purpose: for PNG it decodes the whole image when the
    ``eXIf`` chunk is not found before the pixels.
    """
    from PIL import Image

    with Image.open(stream, formats=("PNG",)) as image:
        width, height = image.size
        exif = Image.Exif()
        raw_exif = image.info.get("exif")
        if isinstance(raw_exif, bytes):
            exif.load(raw_exif)
        xmp = image.info.get("XML:com.adobe.xmp")
    screen = (width, height) in _SCREENS or (height, width) in _SCREENS
    tagged = _exif_says_screenshot(exif) or (
        isinstance(xmp, str) and "UserComment" in xmp and bool(_XMP_SCREENSHOT.search(xmp))
    )
    return HeaderFacts(_exif_time(exif), screen or tagged)


def _read_heif(stream: BinaryIO) -> HeaderFacts:
    """HEIF/HEIC: find the ``Exif`` item through ``meta/iinf`` and ``meta/iloc``, read only it."""
    from PIL import Image

    end = _stream_size(stream)
    meta = next((box for box in _stream_boxes(stream, 0, end) if box[0] == b"meta"), None)
    if meta is None:
        return HeaderFacts()
    body = _read_span(stream, meta[1], meta[2])
    blob = _heif_exif_item(stream, body)
    if blob is None or len(blob) < 4:
        return HeaderFacts(screenshot=False)
    # The item starts with a 32-bit offset from its end to the TIFF header ("Exif\0\0" usually).
    (skip,) = struct.unpack_from(">I", blob)
    exif = Image.Exif()
    exif.load(blob[4 + skip :])
    return HeaderFacts(_exif_time(exif), _exif_says_screenshot(exif))


def _heif_exif_item(stream: BinaryIO, meta: bytes) -> bytes | None:
    """The bytes of the ``Exif`` item of a HEIF ``meta`` box body, or ``None``."""
    children = {kind: (start, stop) for kind, start, stop in _boxes(meta, 4, len(meta))}
    if b"iinf" not in children or b"iloc" not in children:
        return None
    exif_id = _exif_item_id(meta, *children[b"iinf"])
    if exif_id is None:
        return None
    extents = _item_extents(meta, *children[b"iloc"]).get(exif_id)
    if not extents or sum(length for _, length in extents) > _MAX_BOX:
        return None
    return b"".join(_read_span(stream, offset, offset + length) for offset, length in extents)


def _exif_item_id(data: bytes, start: int, stop: int) -> int | None:
    """Item id of the first ``infe`` whose type is ``Exif`` (ISO/IEC 23008-12, infe v2/v3)."""
    version = data[start]
    first = start + (6 if version == 0 else 8)  # version/flags, then a 16- or 32-bit count
    for kind, body, _ in _boxes(data, first, stop):
        if kind != b"infe" or data[body] < 2:
            continue
        if data[body] == 2:
            item_id, item_type = struct.unpack_from(">H2x4s", data, body + 4)
        else:
            item_id, item_type = struct.unpack_from(">I2x4s", data, body + 4)
        if item_type == b"Exif":
            return int(item_id)
    return None


def _item_extents(data: bytes, start: int, stop: int) -> dict[int, list[tuple[int, int]]]:
    """``iloc``: item id -> (file offset, length) extents, for items stored in the file itself.

    Field widths are declared in the box (0, 4 or 8 bytes); versions 1 and 2 add a construction
    method (0 = file offset; the others point into ``idat`` or other items and are skipped).
    """
    cursor = _Cursor(data, start, stop)
    version = cursor.uint(1)
    cursor.uint(3)  # flags
    sizes = cursor.uint(2)
    offset_size, length_size = sizes >> 12, (sizes >> 8) & 15
    base_size, index_size = (sizes >> 4) & 15, (sizes & 15) if version in (1, 2) else 0
    id_size = 4 if version == 2 else 2
    extents: dict[int, list[tuple[int, int]]] = {}
    for _ in range(cursor.uint(id_size)):
        item_id = cursor.uint(id_size)
        method = cursor.uint(2) & 15 if version in (1, 2) else 0
        cursor.uint(2)  # data reference index
        base = cursor.uint(base_size)
        spans = []
        for _ in range(cursor.uint(2)):
            cursor.uint(index_size)
            offset = base + cursor.uint(offset_size)
            spans.append((offset, cursor.uint(length_size)))
        if method == 0:
            extents[item_id] = spans
    return extents


def _read_quicktime(stream: BinaryIO) -> HeaderFacts:
    """MOV/MP4: ``moov`` holds the dates; ``mdat`` (before or after it) is stepped over.

    Preference: ``com.apple.quicktime.creationdate`` (local time with its offset, what the Photos
    app shows), then a ``©day`` text, then ``mvhd``'s creation time (UTC; zero means unknown).
    """
    end = _stream_size(stream)
    moov = next((box for box in _stream_boxes(stream, 0, end) if box[0] == b"moov"), None)
    if moov is None:
        return HeaderFacts()
    keyed: datetime | None = None
    day: datetime | None = None
    header: datetime | None = None
    for kind, start, stop in _stream_boxes(stream, moov[1], moov[2]):
        if kind == b"mvhd":
            header = _mvhd_time(_read_span(stream, start, stop))
        elif kind == b"meta":
            found_key, found_day = _meta_dates(_read_span(stream, start, stop))
            keyed, day = keyed or found_key, day or found_day
        elif kind == b"udta":
            day = day or _udta_date(_read_span(stream, start, stop))
    return HeaderFacts(captured_at=keyed or day or header)


def _mvhd_time(body: bytes) -> datetime | None:
    version = body[0]
    (seconds,) = struct.unpack_from(">Q" if version == 1 else ">I", body, 4)
    return _QT_EPOCH + timedelta(seconds=seconds) if seconds else None


def _meta_dates(body: bytes) -> tuple[datetime | None, datetime | None]:
    """(creationdate key, ``©day`` item) from a ``meta`` body, QuickTime or MP4 style.

    QuickTime's ``meta`` starts with its children (``hdlr`` first); MP4's is a full box whose
    children follow a version/flags word.
    """
    first = 0 if body[4:8] == b"hdlr" else 4
    keys: list[bytes] = []
    items: list[tuple[bytes, bytes]] = []
    for kind, start, stop in _boxes(body, first, len(body)):
        if kind == b"keys":
            # Each key: size, namespace (``mdta``), name; the namespace sits where a type would.
            keys = [body[s:e] for _, s, e in _boxes(body, start + 8, stop)]
        elif kind == b"ilst":
            items = [(k, _data_value(body, s, e)) for k, s, e in _boxes(body, start, stop)]
    keyed = day = None
    for item_type, value in items:
        if item_type == b"\xa9day":
            day = day or _parse_iso(value)
            continue
        (index,) = struct.unpack(">I", item_type)
        if 0 < index <= len(keys) and keys[index - 1] == _CREATION_KEY:
            keyed = keyed or _parse_iso(value)
    return keyed, day


def _data_value(data: bytes, start: int, stop: int) -> bytes:
    """The payload of an ``ilst`` item's ``data`` atom (after its type and locale words)."""
    for kind, body, end in _boxes(data, start, stop):
        if kind == b"data":
            return data[body + 8 : end]
    return b""


def _udta_date(body: bytes) -> datetime | None:
    """``udta/©day`` in QuickTime's text layout: 16-bit length, 16-bit language, text."""
    for kind, start, stop in _boxes(body, 0, len(body)):
        if kind == b"\xa9day" and stop - start >= 4:
            (length,) = struct.unpack_from(">H", body, start)
            return _parse_iso(body[start + 4 : min(stop, start + 4 + length)])
        if kind == b"meta":
            keyed, day = _meta_dates(body[start:stop])
            if keyed or day:
                return keyed or day
    return None


def _parse_iso(raw: bytes) -> datetime | None:
    """An ISO 8601 date with an offset (``+0200``, ``+02:00`` or ``Z``); naive text is unknown."""
    try:
        value = datetime.fromisoformat(raw.decode("utf-8").strip("\x00 \n"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _exif_time(exif: Exif) -> datetime | None:
    """DateTimeOriginal in its OffsetTimeOriginal (or OffsetTime); no offset, no answer.

    Without an offset the local time names no instant, and guessing this computer's zone would
    misdate every photo taken while travelling.
    """
    sub = exif.get_ifd(_EXIF_IFD)
    text, offset = sub.get(_DATE_TIME_ORIGINAL), sub.get(_OFFSET_TIME_ORIGINAL)
    if offset is None:
        offset = sub.get(_OFFSET_TIME)
    if not isinstance(text, str) or not isinstance(offset, str):
        return None
    match = re.fullmatch(r"([+-])(\d\d):(\d\d)", offset.strip("\x00 "))
    if match is None:
        return None
    try:
        local = datetime.strptime(text.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:  # "0000:00:00 00:00:00" and other placeholders
        return None
    minutes = int(match[2]) * 60 + int(match[3])
    zone = timezone(timedelta(minutes=-minutes if match[1] == "-" else minutes))
    return local.replace(tzinfo=zone)


def _exif_says_screenshot(exif: Exif) -> bool:
    """True when UserComment or ImageDescription says ``Screenshot``, as iOS writes them."""
    comment = exif.get_ifd(_EXIF_IFD).get(_USER_COMMENT)
    if isinstance(comment, bytes):
        # UserComment is an 8-byte charset prefix then text; dropping NULs also reads the ASCII
        # subset of the UNICODE (UTF-16) variant.
        comment = comment[8:].decode("ascii", "ignore").replace("\x00", "")
    description = exif.get(_IMAGE_DESCRIPTION)
    return any(isinstance(v, str) and v.strip() == _SCREENSHOT for v in (comment, description))


class _Cursor:
    """Reads big-endian unsigned integers of declared widths from a span of bytes."""

    def __init__(self, data: bytes, start: int, stop: int) -> None:
        self.data, self.position, self.stop = data, start, stop

    def uint(self, width: int) -> int:
        if self.position + width > self.stop:
            raise _Malformed("box ends inside a field")
        value = int.from_bytes(self.data[self.position : self.position + width], "big")
        self.position += width
        return value


def _boxes(data: bytes, start: int, stop: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, body start, body end) of each box in ``data[start:stop]``."""
    position = start
    while position + 8 <= stop:
        size, kind = struct.unpack_from(">I4s", data, position)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, position + 8)
            header = 16
        elif size == 0:  # "extends to the end of its container"
            size = stop - position
        if size < header or position + size > stop:
            raise _Malformed(f"box {kind!r} of size {size} does not fit")
        yield kind, position + header, position + size
        position += size


def _stream_boxes(stream: BinaryIO, start: int, stop: int) -> Iterator[tuple[bytes, int, int]]:
    """Like ``_boxes`` but on a file, seeking from header to header: bodies are never read."""
    position = start
    while position + 8 <= stop:
        stream.seek(position)
        head = stream.read(16)
        if len(head) < 8:
            return
        size, kind = struct.unpack_from(">I4s", head)
        header = 8
        if size == 1 and len(head) == 16:
            (size,) = struct.unpack_from(">Q", head, 8)
            header = 16
        elif size == 0:
            size = stop - position
        if size < header or position + size > stop:
            raise _Malformed(f"atom {kind!r} of size {size} does not fit")
        yield kind, position + header, position + size
        position += size


def _read_span(stream: BinaryIO, start: int, stop: int) -> bytes:
    if stop - start > _MAX_BOX:
        raise _Malformed(f"metadata box of {stop - start} bytes")
    stream.seek(start)
    data = stream.read(stop - start)
    if len(data) != stop - start:
        raise _Malformed("file ends inside a box")
    return data


def _stream_size(stream: BinaryIO) -> int:
    return stream.seek(0, 2)


# Registered by file name suffix (lower case): one reader per container format.
_READERS: dict[str, Callable[[BinaryIO], HeaderFacts]] = {
    ".jpg": partial(_read_pillow, formats=("JPEG", "MPO")),
    ".jpeg": partial(_read_pillow, formats=("JPEG", "MPO")),
    ".tif": partial(_read_pillow, formats=("TIFF",)),
    ".tiff": partial(_read_pillow, formats=("TIFF",)),
    ".dng": partial(_read_pillow, formats=("TIFF",)),
    ".png": _read_png,
    ".heic": _read_heif,
    ".heif": _read_heif,
    ".mov": _read_quicktime,
    ".mp4": _read_quicktime,
    ".m4v": _read_quicktime,
}
