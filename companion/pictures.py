"""An asset's bytes as pictures: decoded lazily, reduced first, never written to disk.

The scan's detectors look at these pictures; anything else that shows a stored photo (a review
page, a shared copy) can too, without loading a detector. Pillow, pillow-heif and PyAV are
imported when a picture is first decoded, never when this module is.

The cheap view is the reduced image: a JPEG decoded with ``draft`` (the decoder skips detail it
does not need), a HEIC's embedded thumbnail when it is large enough, a PNG as it is, each scaled
to about 1024 px. The full image is decoded only when asked for (the scan reads QR codes and
text in screenshots from it). A video gives a few keyframes. Bytes that cannot be decoded give
no image and a ``problem`` in words ("not a readable picture (unknown format)", "the picture is
cut short"); the scan then counts the file as ``unreadable`` and goes on (a missing decoder
library is a problem too, but not the file's).
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from typing import Any

from companion.model import Asset, AssetKind

log = logging.getLogger(__name__)

REDUCED = 1024  # longest side of the reduced image, in pixels
THUMBNAIL_MIN = 256  # a HEIC thumbnail smaller than this is not used
VIDEO_FRAMES = 4
FRAME_SIDE = 640  # a keyframe for the nudity models (their inputs are 320 and 224 px)
# An iPhone's largest pictures (48 MP, panoramas of about 63 MP) fit; a decompression bomb (a
# few kilobytes that decode to gigabytes) does not, and is skipped with the reason.
MAX_PIXELS = 100_000_000
_STILL_SUFFIXES = (".jpg", ".jpeg", ".heic", ".heif", ".png", ".gif", ".webp", ".tif", ".tiff")


def is_image(asset: Asset) -> bool:
    return asset.kind is AssetKind.PHOTO or asset.name.lower().endswith(_STILL_SUFFIXES)


def is_video(asset: Asset) -> bool:
    return asset.kind is AssetKind.VIDEO


class Subject:
    """One asset's bytes (held in memory by the caller) with cached decoded views."""

    def __init__(self, asset: Asset, data: bytes) -> None:
        self.asset = asset
        self.cache: dict[str, Any] = {}
        self._data = data
        self._reduced: Any = None
        self._full: Any = None
        self._frames: list[Any] | None = None
        self._problem: str | None = None
        self._unreadable: str | None = None
        self._tried: set[str] = set()

    def problem(self) -> str | None:
        self.reduced()
        return self._problem

    def unreadable(self) -> str | None:
        """Why these bytes could not be decoded, if a view was asked for and failed on them;
        decodes nothing itself (a scan whose detectors decode nothing tells nothing here)."""
        return self._unreadable

    def _failed(self, exc: Exception) -> None:
        self._problem = _describe(exc, self._data, video=is_video(self.asset))
        if not isinstance(exc, ImportError):  # a missing library is not the file's fault
            self._unreadable = self._problem

    def _open(self) -> Any:
        from PIL import Image

        _register_heif()
        return Image.open(io.BytesIO(self._data))

    def reduced(self) -> Any:
        """The image, longest side about ``REDUCED`` pixels, RGB; None if it cannot be decoded."""
        if "reduced" in self._tried:
            return self._reduced
        self._tried.add("reduced")
        if not is_image(self.asset):
            frames = self.frames()
            self._reduced = frames[0] if frames else None
            return self._reduced
        try:
            thumbnail = self._thumbnail()
            self.cache["from_thumbnail"] = thumbnail is not None
            self._reduced = _reduce(thumbnail or self._decode(reduced=True))
        except Exception as exc:  # any decoder error: this asset is skipped, not the scan
            self._failed(exc)
        return self._reduced

    def full(self) -> Any:
        """The whole image, RGB; None if it cannot be decoded (or is not an image)."""
        if "full" in self._tried:
            return self._full
        self._tried.add("full")
        if not is_image(self.asset):
            return None
        try:
            self._full = self._decode(reduced=False)
        except Exception as exc:
            self._failed(exc)
        return self._full

    def frames(self) -> list[Any]:
        """What a whole-picture detector looks at: the reduced image, or a video's keyframes."""
        if self._frames is None:
            if is_video(self.asset):
                self._frames = self._keyframes()
            else:
                image = self.reduced()
                self._frames = [image] if image is not None else []
        return self._frames

    def gps(self) -> tuple[float, float] | None:
        """Latitude and longitude from the EXIF GPS tags, if the photo has them."""
        if "gps" not in self.cache:
            self.cache["gps"] = _gps(self) if is_image(self.asset) else None
        gps: tuple[float, float] | None = self.cache["gps"]
        return gps

    def _thumbnail(self) -> Any:
        """A HEIC's embedded thumbnail when it is at least ``THUMBNAIL_MIN`` px (about 6 ms,
        against up to two seconds for the full decode)."""
        if not self.asset.name.lower().endswith((".heic", ".heif")) or self._data[4:8] != b"ftyp":
            return None  # not a HEIF inside (a JPEG named .HEIC): Pillow finds out what it is
        import pillow_heif

        primary: Any = pillow_heif.open_heif(io.BytesIO(self._data))[0]
        sides: list[int] = list(primary.info.get("thumbnails") or ())
        for index, side in enumerate(sides):
            if side >= THUMBNAIL_MIN:
                return primary.get_thumbnail(index).to_pillow()
        return None

    def _decode(self, *, reduced: bool) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns on damaged EXIF; the pixels are fine
            image = self._open()
            if reduced and image.format == "JPEG":
                image.draft("RGB", (REDUCED, REDUCED))
            width, height = image.size
            if width * height > MAX_PIXELS:  # decoding would take gigabytes: a bomb, or no photo
                raise ValueError(f"{width}x{height} pixels is too large to look at")
            image.load()
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        return image

    def _keyframes(self) -> list[Any]:
        """A few evenly spread keyframes of a video, reduced (needs PyAV; none without it).

        Keyframes are reduced to ``FRAME_SIDE`` as they are decoded and at most ``2 *
        VIDEO_FRAMES`` are kept (every other one is dropped when the list fills, then every
        second keyframe is kept, and so on), so a long 4K movie never holds more than a few small
        pictures in memory.
        """
        try:
            import av
        except ImportError:
            self._problem = "video frames need PyAV (pip install av)"
            return []
        kept: list[Any] = []
        stride, seen = 1, 0
        try:
            with av.open(io.BytesIO(self._data), mode="r") as container:
                if not container.streams.video:
                    self._problem = "no video track"
                    return []
                stream = container.streams.video[0]
                stream.codec_context.skip_frame = "NONKEY"
                frame: Any
                for frame in container.decode(stream):
                    if seen % stride == 0:
                        kept.append(_reduce(frame.to_image(), FRAME_SIDE))
                        if len(kept) >= 2 * VIDEO_FRAMES:
                            kept, stride = kept[::2], stride * 2
                    seen += 1
        except Exception as exc:  # an unreadable movie is skipped, not the scan
            self._failed(exc)
            return []
        step = max(1, len(kept) // VIDEO_FRAMES)
        return kept[::step][:VIDEO_FRAMES]


def _reduce(image: Any, side: int = REDUCED) -> Any:
    if image is None:
        return None
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    if max(image.size) > side:
        image = image.copy()
        image.thumbnail((side, side))
    return image


_OBJECT_REPR = re.compile(r"\s*<[^<>]* at 0x[0-9a-fA-F]+>")  # "<_io.BytesIO object at 0x...>"
_CUT_SHORT = ("truncated", "broken data stream", "unexpected end", "premature end")


def _describe(exc: Exception, data: bytes, *, video: bool = False) -> str:
    """Why bytes could not be decoded, in words a person reads (never a Python object's repr).

    Pillow says "cannot identify image file <_io.BytesIO ...>" (``UnidentifiedImageError``) for
    bytes of no format it knows, "image file is truncated" or "Truncated File Read" (``OSError``)
    for a picture that stops early; pillow-heif's ``ValueError`` says "Invalid input: ..." for a
    damaged HEIF; PyAV's ``InvalidDataError`` for a movie it cannot parse.
    """
    what = "video" if video else "picture"
    text = _OBJECT_REPR.sub("", str(exc)).strip()
    text = text.splitlines()[0] if text else type(exc).__name__
    if isinstance(exc, ImportError):
        return f"cannot decode: {exc.name or text} is not installed"
    if not data:
        return f"not a readable {what} (an empty file)"
    if any(word in text.lower() for word in _CUT_SHORT):
        return f"the {what} is cut short"
    if type(exc).__name__ in ("UnidentifiedImageError", "InvalidDataError"):
        return f"not a readable {what} (unknown format)"
    if text.startswith("Invalid input"):  # pillow-heif: "Invalid input: No 'meta' box: ..."
        detail = text.rsplit(": ", 1)[-1].rstrip(".")
        return f"not a readable {what} (damaged HEIF: {detail[:1].lower()}{detail[1:80]})"
    if type(exc).__name__ == "DecompressionBombError" or "too large" in text:
        return f"not looked at: {text[:120]}"
    return f"not a readable {what} ({text[:120]})"


_heif_registered = False


def _register_heif() -> None:
    global _heif_registered  # noqa: PLW0603 (once per process)
    if not _heif_registered:
        import pillow_heif

        pillow_heif.register_heif_opener()
        _heif_registered = True


def _gps(subject: Subject) -> tuple[float, float] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = subject._open()
            exif = image.getexif()
            info = exif.get_ifd(0x8825)  # GPSInfo
    except Exception:  # no readable EXIF: no position
        return None
    try:
        lat = _degrees(info[2], info.get(1, "N"), "S")
        lon = _degrees(info[4], info.get(3, "E"), "W")
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def _degrees(dms: Any, ref: Any, negative: str) -> float:
    d, m, s = (float(x) for x in dms)
    value = d + m / 60 + s / 3600
    ref = ref.decode() if isinstance(ref, bytes) else str(ref)
    return -value if ref.strip().upper().startswith(negative) else value
