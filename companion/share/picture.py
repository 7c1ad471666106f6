"""Photos that cannot keep their pixels as coded: decoded, then written again with nothing but
the picture.

That is a HEIC (pillow-heif has no way to drop a HEIF's metadata items without encoding the
image again: it reads a picture into pixels and writes pixels; so with ``--format keep`` a HEIC
is encoded again as a HEIC, and with ``--format jpeg`` as a JPEG), a photo made smaller
(``--max-side``), and any other format Pillow reads (GIF, WebP, TIFF...: written as PNG).

The decoded picture is turned upright (the orientation applied, so none is written), its colours
converted to sRGB when it carries another profile (Display P3 from an iPhone), and it is written
with no EXIF, XMP, ICC profile or thumbnail: only what ``jpeg.minimal_exif`` gives (the date,
with ``--keep-date``). A HEIC's depth map, HDR gain map and Live Photo link are other items of
the file, never decoded, so never written.
"""

from __future__ import annotations

import io
from typing import Any

from companion.errors import CompanionError
from companion.share.jpeg import Kept, clean_jpeg, minimal_exif, read_kept

JPEG_QUALITY = 92
HEIC_QUALITY = 90
# x265's default preset takes 20-40 s for one 12 MP photo on a small machine; "ultrafast" about a
# sixth of that for a file of about the same size at the same quality setting.
HEIC_PRESET = "ultrafast"


class Unreadable(CompanionError):
    """The bytes are not a picture Pillow (with pillow-heif) can decode."""


def reencode(
    data: bytes, target: str, *, max_side: int | None, keep_date: bool
) -> tuple[bytes, str]:
    """The picture in ``data`` written again as ``target`` ("jpeg", "heic", "png", or "same":
    JPEG for a JPEG, HEIC for a HEIC, PNG otherwise); returns the bytes and their extension."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    register_heif()
    try:
        with Image.open(io.BytesIO(data)) as opened:
            fmt = (opened.format or "").upper()
            kept = read_kept(opened.getexif(), keep_date=keep_date)
            image = ImageOps.exif_transpose(opened)
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise Unreadable(f"not a picture that can be read: {exc}") from exc
    if target == "same":
        target = {"JPEG": "jpeg", "HEIF": "heic", "PNG": "png"}.get(fmt, "png")
    image = _in_srgb(image)
    if max_side is not None and max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    dated = Kept(None, kept.date, kept.offset)
    written = _write(image, target, minimal_exif(dated))
    if target == "jpeg":  # Pillow adds a JFIF segment (a resolution): the same rewrite drops it
        written = clean_jpeg(written, dated)
    return written, {"jpeg": "jpg"}.get(target, target)


def _write(image: Any, target: str, exif: bytes) -> bytes:
    """``image`` encoded as ``target`` with no metadata but ``exif`` (possibly empty)."""
    from PIL import Image

    image.info.clear()  # nothing read from the original may ride along into the new file
    buffer = io.BytesIO()
    params: dict[str, Any] = {"exif": exif} if exif else {}
    if target == "jpeg":
        if image.mode not in ("RGB", "L"):
            flat = Image.new("RGB", image.size, (255, 255, 255))
            rgba = image.convert("RGBA")
            flat.paste(rgba, mask=rgba.getchannel("A"))
            image = flat
        image.save(buffer, "JPEG", quality=JPEG_QUALITY, **params)
    elif target == "heic":
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        params["enc_params"] = {"preset": HEIC_PRESET}
        image.save(buffer, "HEIF", quality=HEIC_QUALITY, **params)
    else:
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P", "1", "I;16"):
            image = image.convert("RGBA")
        image.save(buffer, "PNG", **params)
    return buffer.getvalue()


def _in_srgb(image: Any) -> Any:
    """``image`` with its colours in sRGB: converted from its ICC profile if it has one that is
    not sRGB already (an untagged picture is shown as sRGB)."""
    profile = image.info.get("icc_profile")
    if not profile:
        return image
    from PIL import ImageCms

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        if "srgb" in (ImageCms.getProfileDescription(source) or "").lower():
            return image
        mode = "RGBA" if "A" in image.getbands() else "RGB"
        converted = ImageCms.profileToProfile(
            image.convert(mode), source, ImageCms.createProfile("sRGB"), outputMode=mode
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a profile that cannot be read: the pixels as they are
    return converted if converted is not None else image


def register_heif() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
