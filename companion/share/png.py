"""A PNG's metadata taken out without touching its pixels: its chunks, filtered.

A PNG is a signature and a list of chunks; the pixels are the IDAT chunks, copied byte for byte.
Kept: what a decoder needs to show the picture (IHDR, PLTE, IDAT, IEND, tRNS) and how to show
its colours (gAMA, cHRM, sRGB, sBIT, and an ``iCCP`` profile only when it is a standard wide-gamut
one, Display P3, as iPhone screenshots carry). Everything else goes: text (tEXt, zTXt, iTXt, so
XMP too), EXIF (eXIf), times (tIME), the physical size (pHYs), Apple's own (iDOT) and any chunk
unknown here. An animated PNG keeps its first frame (its IDAT) and loses the animation.
"""

from __future__ import annotations

import zlib

from companion.errors import CompanionError

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_KEPT = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT"}
_KEPT_PROFILES = (b"Display P3",)


class NotAPng(CompanionError):
    """The bytes are not a PNG this module can read."""


def clean_png(data: bytes, exif: bytes = b"") -> bytes:
    """``data`` with only the chunks a viewer needs (module docstring); ``exif`` (an EXIF block
    from ``jpeg.minimal_exif``: the orientation, the date if asked) goes in an eXIf chunk."""
    if not data.startswith(SIGNATURE):
        raise NotAPng("not a PNG: no signature")
    out = [SIGNATURE]
    pos = len(SIGNATURE)
    while pos < len(data):
        if pos + 8 > len(data):
            raise NotAPng("the PNG is cut short")
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise NotAPng("a PNG chunk runs past the end of the file")
        if kind in _KEPT or (kind == b"iCCP" and _standard_profile(data[pos + 8 : end - 4])):
            out.append(data[pos:end])
            if kind == b"IHDR" and exif:
                out.append(_chunk(b"eXIf", exif.removeprefix(b"Exif\x00\x00")))
        pos = end
        if kind == b"IEND":
            break
    return b"".join(out)


def _standard_profile(body: bytes) -> bool:
    """An iCCP chunk (name, 0, method, compressed profile) whose profile is Display P3."""
    name, _, rest = body.partition(b"\x00")
    try:
        profile = zlib.decompress(rest[1:])
    except zlib.error:
        return False
    return bool(name) and any(p in profile[:1024] for p in _KEPT_PROFILES)


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body).to_bytes(4, "big")
    return len(body).to_bytes(4, "big") + kind + body + crc
