"""A small JPEG of a stored photo or video, made in memory for the review page.

The caller decrypts an object into memory and hands its bytes here; ``companion.pictures``
decodes them the way the scan does (a JPEG's draft, a HEIC's embedded thumbnail, a video's first
keyframe with PyAV), and Pillow encodes the result as a JPEG into a buffer. No file is written,
not even a temporary one: the thumbnail's bytes go to the browser and nowhere else.

Objects are bounded like the scan bounds them, so a review holds no more in memory than a scan
worker: the caller asks ``too_large`` before it decrypts, and ``thumbnail_of`` refuses bytes over
the bound whatever it was told.
"""

from __future__ import annotations

import io
import logging
import warnings
from typing import Any

from companion.model import Asset, AssetKind
from companion.pictures import Subject

log = logging.getLogger(__name__)

# The scan's bounds (companion.sensitivity.scan), which the cleanup layer may not import: a
# picture the scan looked at can be shown, a longer movie is shown without a picture.
MAX_VIDEO_BYTES = 100 * 1000 * 1000
MAX_IMAGE_BYTES = 200 * 1000 * 1000
MAX_PX = 320
QUALITY = 80
_ORIENTATION = 0x0112  # EXIF: how the camera was held


def too_large(asset: Asset, size: int | None = None) -> bool:
    """True when an object of ``size`` bytes (by default the asset's listed size) is over the
    bound for its kind and must not be decrypted for a thumbnail."""
    limit = MAX_VIDEO_BYTES if asset.kind is AssetKind.VIDEO else MAX_IMAGE_BYTES
    return (asset.size if size is None else size) > limit


def thumbnail_of(plaintext: bytes, asset: Asset, *, max_px: int = MAX_PX) -> bytes | None:
    """The JPEG bytes of a picture of the asset (a video: its first keyframe), its longest side
    at most ``max_px``, upright, with no metadata; None when the bytes are over the bound or
    cannot be decoded (a missing decoder library included).

    ``asset`` says what the bytes are: its kind (photo or video) and its name (a HEIC's
    embedded thumbnail is used only for a ``.heic`` name, which spares a full decode).
    """
    if too_large(asset, len(plaintext)):
        log.debug("no thumbnail: %d bytes is over the bound", len(plaintext))
        return None
    subject = Subject(asset, plaintext)
    image = subject.reduced()
    if image is None:
        log.debug("no thumbnail: %s", subject.problem())
        return None
    if asset.kind is not AssetKind.VIDEO:
        image = _upright(image, _orientation(plaintext))
    image = image.copy()  # the subject's cached picture is not ours to shrink
    image.thumbnail((max_px, max_px))
    if image.mode != "RGB":
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=QUALITY)  # no exif= given: none is written
    return out.getvalue()


def _orientation(plaintext: bytes) -> int | None:
    """The EXIF orientation of a JPEG (a HEIC's decoder turns its pictures upright itself)."""
    if not plaintext.startswith(b"\xff\xd8"):
        return None
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = Image.open(io.BytesIO(plaintext)).getexif().get(_ORIENTATION)
    except Exception:  # no readable EXIF: as it is
        return None
    return value if isinstance(value, int) else None


def _upright(image: Any, orientation: int | None) -> Any:
    from PIL import Image

    turns = {
        2: (Image.Transpose.FLIP_LEFT_RIGHT,),
        3: (Image.Transpose.ROTATE_180,),
        4: (Image.Transpose.FLIP_TOP_BOTTOM,),
        5: (Image.Transpose.TRANSPOSE,),
        6: (Image.Transpose.ROTATE_270,),
        7: (Image.Transpose.TRANSVERSE,),
        8: (Image.Transpose.ROTATE_90,),
    }.get(orientation or 1, ())
    for turn in turns:
        image = image.transpose(turn)
    return image
