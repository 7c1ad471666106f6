"""What a photo's or video's first bytes say: a known picture format, or not a picture at all.

A backup keeps every file as it is, but a camera-roll file that is empty or whose first bytes
match no image or movie format (a failed copy, a placeholder, garbage named ``.JPG``) deserves a
word. The check looks at the first ``HEAD_BYTES`` bytes only, as they stream into the vault,
never decodes and never reads a file twice. Sidecars and other files are not checked.
"""

from __future__ import annotations

from companion.model import AssetKind

HEAD_BYTES = 16  # enough for every signature below

_PREFIXES = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",  # PNG
    b"GIF87a",
    b"GIF89a",
    b"II*\x00",  # TIFF, and DNG (a TIFF), little-endian
    b"MM\x00*",  # big-endian
    b"II+\x00",  # BigTIFF
    b"MM\x00+",
)
# ISO base media (HEIC, HEIF, AVIF, MP4, M4V) starts with an ``ftyp`` box; older QuickTime
# movies may start with another atom.
_BOXES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot", b"uuid")
_RIFF_FORMATS = (b"WEBP", b"AVI ")
_CHECKED = {AssetKind.PHOTO: "picture", AssetKind.VIDEO: "video"}


def is_known_format(head: bytes) -> bool:
    """True when ``head`` (a file's first bytes) starts like an image or movie companion knows."""
    if head.startswith(_PREFIXES) or head[4:8] in _BOXES:
        return True
    return head.startswith(b"RIFF") and head[8:12] in _RIFF_FORMATS


def unreadable(kind: AssetKind, head: bytes, size: int) -> str | None:
    """Why a photo or video whose first bytes are ``head`` (``size`` bytes in all) is not a
    readable picture, in words; None when it looks like one, or is not a photo or video."""
    what = _CHECKED.get(kind)
    if what is None:
        return None
    if size == 0:
        return f"not a readable {what} (an empty file); stored as it is"
    if is_known_format(head):
        return None
    return f"not a readable {what} (its first bytes are no known {what} format); stored as it is"
