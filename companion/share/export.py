"""Writing the clean copies: each chosen file decrypted from the vault, cleaned, written.

Photos are decrypted in memory (checked against the catalogue's SHA-256) and cleaned there
(``clean_photo``). A video is never held in memory nor written anywhere in clear: it is remuxed
straight from the vault, its plaintext read where the container asks, a 64 KiB chunk at a time
(``Vault.reader``), after a first pass has checked it against the catalogue. Every file lands
through ``folder.write_new``: complete or absent.

A file that cannot be read or cleaned (damaged in the vault, not a picture, a video FFmpeg
refuses) is left out and named in the report, never written as it was.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from companion.errors import CompanionError, PartialFailure
from companion.model import AssetKind, StoredAsset
from companion.share import folder as out
from companion.share.choose import Item
from companion.share.jpeg import clean_jpeg, jpeg_kept, minimal_exif
from companion.share.picture import reencode
from companion.share.png import clean_png
from companion.share.video import remux
from companion.vault import Vault
from companion.vault.sniff import HEAD_BYTES, extension

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


@dataclass(frozen=True, slots=True)
class Options:
    format: str = "keep"  # "keep" or "jpeg"
    max_side: int | None = None
    keep_date: bool = False


@dataclass(frozen=True, slots=True)
class Written:
    name: str  # the original's name
    path: Path  # where the clean copy is
    bytes: int


@dataclass
class ShareReport:
    """What a share did (or, with ``dry_run``, would do)."""

    folder: Path
    dry_run: bool = False
    written: list[Written] = field(default_factory=list)
    would_write: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)  # left out: the scan flagged them
    not_scanned: list[str] = field(default_factory=list)  # left out: never scanned
    included: list[str] = field(default_factory=list)  # flagged or not scanned, asked for
    unreadable: dict[str, str] = field(default_factory=dict)  # left out: name -> why
    bytes: int = 0

    def error(self) -> PartialFailure | None:
        if not self.unreadable:
            return None
        count = len(self.unreadable)
        return PartialFailure(
            f"{count} file{'s' * (count != 1)} could not be shared",
            hint="Run 'companion verify --full' to see if the vault's copies are damaged.",
        )


def export(
    vault: Vault,
    items: list[Item],
    folder: Path,
    options: Options,
    report: ShareReport,
    progress: Progress | None = None,
) -> None:
    """Write a clean copy of each of ``items`` into ``folder``; each result goes in ``report``."""
    total = sum(item.shared.asset.size for item in items)
    done = 0
    for item in items:
        try:
            report.written.append(_one(vault, item, folder, options))
            report.bytes += report.written[-1].bytes
        except CompanionError as exc:
            report.unreadable[item.name] = exc.message
        done += item.shared.asset.size
        if progress is not None:
            progress(done, total)


def _one(vault: Vault, item: Item, folder: Path, options: Options) -> Written:
    stored = item.shared
    when = item.original.asset.captured_at if options.keep_date else None
    if stored.asset.kind is AssetKind.VIDEO:
        path = _video(vault, stored, folder, item.name, options)
    else:
        data, ext = clean_photo(vault.plaintext(stored), options)
        name = out.file_name(item.name, ext, kind="photo")
        path = out.write_bytes(folder, name, data, when)
    if when is not None:
        stamp = int(when.timestamp() * 1e9)
        with contextlib.suppress(OverflowError, ValueError, OSError):
            os.utime(path, ns=(stamp, stamp))
    return Written(item.name, path, path.stat().st_size)


def clean_photo(data: bytes, options: Options) -> tuple[bytes, str]:
    """A photo's bytes with nothing but the picture, and their extension (module docstring of
    each format's module: ``jpeg``, ``png``, ``picture``)."""
    kind = extension(data[:HEAD_BYTES])
    want_jpeg = options.format == "jpeg"
    if options.max_side is not None and _larger(data, options.max_side):
        return reencode(
            data,
            "jpeg" if want_jpeg else "same",
            max_side=options.max_side,
            keep_date=options.keep_date,
        )
    if kind == "jpg":
        return clean_jpeg(data, jpeg_kept(data, keep_date=options.keep_date)), "jpg"
    if kind == "png" and not want_jpeg:
        kept = jpeg_kept(data, keep_date=options.keep_date)
        return clean_png(data, minimal_exif(kept)), "png"
    target = "jpeg" if want_jpeg else ("heic" if kind == "heic" else "png")
    return reencode(data, target, max_side=None, keep_date=options.keep_date)


def _larger(data: bytes, side: int) -> bool:
    from PIL import Image, UnidentifiedImageError

    from companion.share.picture import register_heif

    register_heif()
    try:
        with Image.open(io.BytesIO(data)) as image:
            return max(image.size) > side
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False  # said by the cleaning itself


def _video(vault: Vault, stored: StoredAsset, folder: Path, name: str, options: Options) -> Path:
    """Remux straight from the vault: the plaintext is read where the container asks (its index
    may be at the end), a 64 KiB chunk at a time, checked against the catalogue first; no
    plaintext copy is ever written, not even a temporary one."""
    with vault.reader(stored) as plain:
        container = "mp4" if extension(plain.read(HEAD_BYTES)) == "mp4" else "mov"
        plain.seek(0)

        def fill(temp: Path) -> None:
            plain.seek(0)
            remux(plain, temp, container, keep_date=options.keep_date)

        return out.write_new(folder, out.file_name(name, container, kind="video"), fill)


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(HEAD_BYTES)
