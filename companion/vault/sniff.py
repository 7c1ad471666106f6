"""What a file is, from its first bytes: for a name the vault must make up (a recovered object,
a restored file whose name was nothing but spaces)."""

from __future__ import annotations

HEAD_BYTES = 32  # enough for every signature below

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}


def extension(head: bytes) -> str:
    """A lower-case extension without the dot (``jpg``, ``heic``, ``mov``...), ``bin`` when the
    bytes are none of the photo and video formats a phone writes."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return "heic"
        if brand == b"qt  ":
            return "mov"
        return "mp4"
    if head.startswith(b"<?xml"):
        return "aae"  # in a camera roll, an XML property list is an edit's recipe
    return "bin"
