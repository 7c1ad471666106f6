"""``folder:`` sources: an iPhone camera roll exported to, or mounted as, a local folder.

``folder:PATH`` (``~`` expanded) may name the phone's media root (the folder holding ``DCIM/``),
a ``DCIM`` folder itself, or any folder of photos. When the root holds a ``DCIM`` folder only
``DCIM/`` is listed: beside it, a mounted phone keeps ``PhotoData/`` (thumbnails, a live
database) and app folders that are not the camera roll. Photos and videos beside ``DCIM/`` (an
export's ``other/holiday.jpg``) are counted per folder from directory entries alone, never
opened, so a backup can say what it left out (``left_out``); a phone's own folders are not
counted. Paths stay relative to the root given.

Listing walks depth-first in sorted name order and uses only directory entries and ``lstat``.
It skips hidden names (``.DS_Store``, AppleDouble ``._*`` files, ``.Trashes``), anything that is
not a regular file or a folder, every symbolic link (one pointing out of the root would leak
other files into the backup; one pointing inside would list a file twice or loop), and names
that are not valid UTF-8 (they could not be stored or shown faithfully), with a warning.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import re
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO

from companion.connectors.base import ConnectOptions, Removal
from companion.connectors.beside import count_beside_dcim
from companion.connectors.kinds import kind_of_suffix
from companion.connectors.metadata import read_facts
from companion.connectors.quarantine import remove_files
from companion.errors import SourceChanged, SourceUnavailable, UsageError
from companion.model import Asset, AssetKind, DeviceInfo
from companion.portable import files

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

logger = logging.getLogger(__name__)

_BUFFER_SIZE = 256 * 1024  # small reads are batched; reads at least this large go straight through
_LIVE_VIDEO = ".mov"
# IMG_E0007.JPG is the edited render of IMG_0007.*; IMG_O0007.AAE keeps IMG_0007's original
# adjustments. Both map back to the original's stem.
_EDITED = re.compile(r"(?P<prefix>IMG)_E(?P<number>\d{4})", re.IGNORECASE)
_ORIGINAL_ADJUSTMENTS = re.compile(r"(?P<prefix>IMG)_O(?P<number>\d{4})", re.IGNORECASE)


def open_folder(rest: str, options: ConnectOptions) -> FolderConnector:
    """The registry's factory for ``folder:``; no option concerns a folder."""
    return FolderConnector(rest)


class FolderConnector:
    """A folder of photos. Satisfies ``Connector``, ``Prober``, ``Shareable`` and ``Remover``."""

    def __init__(self, rest: str) -> None:
        """Build from the text after ``folder:``; the folder is checked when it is first used."""
        if not rest.strip():
            raise UsageError(
                "the folder: source needs a path", hint="Name it, e.g. folder:/media/iPhone/DCIM."
            )
        try:
            self._root = Path(rest).expanduser().resolve()
        except (OSError, RuntimeError) as exc:  # unknown ~user, symlink loop
            raise SourceUnavailable(
                f"cannot resolve folder {rest!r}: {exc}", hint="Check the path you gave."
            ) from exc
        self._left_out: dict[str, int] = {}

    @property
    def source(self) -> str:
        return f"folder:{self._root}"

    def worker_spec(self) -> str:
        """``Shareable``: a folder is the same folder from any process."""
        return self.source

    def info(self) -> DeviceInfo:
        self._check_root()
        return DeviceInfo(source=self.source, name=self._root.name or str(self._root))

    def list_assets(self) -> Iterator[Asset]:
        """Every regular file under the root (or under its ``DCIM/``), once, in sorted order."""
        self._check_root()
        dcim = self._root / "DCIM"
        if dcim.is_dir() and not dcim.is_symlink():
            logger.debug("%s holds DCIM/: listing the camera roll only", self._root)
            self._left_out = count_beside_dcim(self._root)
            yield from self._walk(dcim, "DCIM/", top=True)
        else:
            self._left_out = {}
            yield from self._walk(self._root, "", top=True)

    def left_out(self) -> dict[str, int]:
        """``Selective``: photos and videos beside ``DCIM/`` that the last listing skipped, by
        top folder (``""`` for files at the root itself), most first; empty when the root holds
        no ``DCIM/``. Counted from directory entries only (names, no file opened)."""
        return dict(self._left_out)

    def open(self, asset: Asset) -> BinaryIO:
        """A buffered stream of the file's bytes as they are now, to their end.

        The check that the file did not change while it was read completes when a read returns
        ``b""``. Raises ``SourceUnavailable`` if the file cannot be opened or read.
        """
        # No bigger buffer than the file needs: small files are many, and each buffer is zeroed.
        size = max(4096, min(_BUFFER_SIZE, asset.size + 1))
        return io.BufferedReader(_CheckedReader(self._open_fd(asset), asset), size)

    def probe(self, asset: Asset) -> Asset:
        """The asset with ``captured_at`` and ``screenshot`` read from its header, if it says."""
        if asset.kind not in (AssetKind.PHOTO, AssetKind.VIDEO):
            return asset
        with os.fdopen(self._open_fd(asset), "rb") as stream:
            facts = read_facts(stream, PurePosixPath(asset.name).suffix)
        if facts is None:
            return asset
        return dataclasses.replace(
            asset,
            captured_at=facts.captured_at or asset.captured_at,
            screenshot=asset.screenshot if facts.screenshot is None else facts.screenshot,
        )

    def remove(self, assets: Sequence[Asset], *, quarantine: Path | None) -> list[Removal]:
        """``Remover``: moved under ``quarantine`` or deleted (``quarantine.py``)."""
        return remove_files(self._root, self.source, assets, quarantine)

    def _check_root(self) -> None:
        if not self._root.is_dir():
            raise SourceUnavailable(
                f"folder {self._root} does not exist or is not a folder",
                hint="Check the path, and that the phone or disk is mounted.",
            )

    def _walk(self, folder: Path, prefix: str, top: bool = False) -> Iterator[Asset]:
        """Assets of ``folder`` (shown as ``prefix``) and, in name order, of its subfolders.

        An unreadable top folder is an unavailable source; an unreadable subfolder is skipped
        with a warning, so that one locked folder (a ``lost+found``, say) does not stop a backup.
        """
        try:
            with os.scandir(folder) as scan:
                entries = sorted((e for e in scan if _acceptable(e, prefix)), key=lambda e: e.name)
        except OSError as exc:
            if top:
                raise SourceUnavailable(
                    f"cannot list {folder}: {exc.strerror}",
                    hint="Check that the folder is readable and still mounted.",
                ) from exc
            logger.warning("skipping unreadable folder %r: %s", prefix, exc.strerror)
            return
        files = _stat_files(entries, prefix)
        links = _Links.of(files)
        for entry in entries:
            if entry.name in files:
                yield self._asset(prefix, files[entry.name], links)
            elif entry.is_dir(follow_symlinks=False):
                yield from self._walk(Path(entry.path), f"{prefix}{entry.name}/")

    def _asset(self, prefix: str, file: _File, links: _Links) -> Asset:
        edited_of, sidecar_of = links.edited_of.get(file.name), links.sidecar_of.get(file.name)
        return Asset(
            source=self.source,
            path=prefix + file.name,
            size=file.size,
            mtime_ns=file.mtime_ns,
            kind=file.kind,
            live_group=prefix + file.stem if file.name in links.live else None,
            edited_of=prefix + edited_of if edited_of else None,
            sidecar_of=prefix + sidecar_of if sidecar_of else None,
        )

    def _open_fd(self, asset: Asset) -> int:
        """A read-only descriptor of the asset's regular file, never through a symbolic link."""
        parts = asset.path.split("/")
        if asset.path.startswith("/") or "\x00" in asset.path or {"", ".", ".."} & set(parts):
            raise SourceUnavailable(
                f"refusing to open {asset.path!r}: not a plain path inside {self._root}",
                hint="This asset did not come from this folder's listing.",
            )
        local = self._root.joinpath(*parts)
        try:
            # Not through a link: a file swapped for a symlink since the listing is refused; a
            # file swapped for a FIFO does not hang the open (portable.files).
            fd = files.open_no_follow(local)
        except FileNotFoundError as exc:
            raise SourceUnavailable(
                f"{asset.path} is no longer in {self._root}",
                hint="It was moved or deleted since the listing; run the command again.",
            ) from exc
        except OSError as exc:
            raise SourceUnavailable(
                f"cannot open {asset.path}: {exc.strerror}",
                hint="Check the file's permissions and that the disk is still mounted.",
            ) from exc
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise SourceChanged(f"{asset.path} is no longer a regular file")
        return fd


class _CheckedReader(io.RawIOBase):
    """The bytes of one file as it is when opened, proven at the end not to have changed while
    they were read.

    The listing's size is not checked here (the vault compares it with what was read, and a
    backup then reads once more and stores the file as read). What is checked is this read:
    going past the size the open file had, or reaching the end with another size or
    modification time than at the open, raises ``SourceChanged`` (a torn copy is never
    stored). OS errors become ``SourceUnavailable``. Not seekable, and no ``fileno()``: a
    consumer must go through these checks.
    """

    def __init__(self, fd: int, asset: Asset) -> None:
        super().__init__()
        self._file = io.FileIO(fd, "rb", closefd=True)
        self._asset = asset
        opened = os.fstat(fd)
        self._opened = (opened.st_size, opened.st_mtime_ns)
        self._position = 0
        self._verified = False

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer: WriteableBuffer) -> int:
        try:
            count = self._file.readinto(buffer) or 0
        except OSError as exc:
            raise SourceUnavailable(
                f"reading {self._asset.path} failed: {exc.strerror}",
                hint="Check that the disk or phone is still connected, then run again.",
            ) from exc
        self._position += count
        if self._position > self._opened[0]:
            raise SourceChanged(f"{self._asset.path} grew while it was read")
        if count == 0 and memoryview(buffer).nbytes > 0:
            self._verify_end()
        return count

    def readall(self) -> bytes:
        # The default reads in small chunks; ask for everything that is left (plus one byte, to
        # see the end) at once instead.
        parts: list[bytes] = []
        while part := self.read(max(self._opened[0] - self._position, 0) + 1):
            parts.append(part)
        return b"".join(parts)

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()

    def _verify_end(self) -> None:
        if self._verified:
            return
        now = os.fstat(self._file.fileno())
        if (self._position, (now.st_size, now.st_mtime_ns)) != (self._opened[0], self._opened):
            raise SourceChanged(
                f"{self._asset.path} changed while it was read (read {self._position} bytes "
                f"of {self._opened[0]}, now {now.st_size})"
            )
        self._verified = True


def _stem_and_suffix(name: str) -> tuple[str, str]:
    """As ``PurePosixPath(name).stem`` and ``.suffix.lower()``, without building a path object
    (listing a large camera roll calls this for every file, several times)."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or not ext:
        return name, ""
    return stem, "." + ext.lower()


@dataclasses.dataclass(frozen=True, slots=True)
class _File:
    name: str
    size: int
    mtime_ns: int
    stem: str = dataclasses.field(init=False)
    suffix: str = dataclasses.field(init=False)
    kind: AssetKind = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        stem, suffix = _stem_and_suffix(self.name)
        object.__setattr__(self, "stem", stem)
        object.__setattr__(self, "suffix", suffix)
        object.__setattr__(self, "kind", kind_of_suffix(suffix))


@dataclasses.dataclass(frozen=True, slots=True)
class _Links:
    """How the files of one folder relate, by name: Live Photo halves, edits, edit recipes."""

    live: frozenset[str]
    edited_of: dict[str, str]
    sidecar_of: dict[str, str]

    @classmethod
    def of(cls, files: dict[str, _File]) -> _Links:
        by_stem: dict[str, list[_File]] = {}
        for file in files.values():
            by_stem.setdefault(file.stem, []).append(file)
        live: set[str] = set()
        for group in by_stem.values():
            movies = [f for f in group if f.suffix == _LIVE_VIDEO]
            photos = [f for f in group if f.kind is AssetKind.PHOTO]
            if movies and photos:
                live.update(f.name for f in movies + photos)
        edited_of: dict[str, str] = {}
        sidecar_of: dict[str, str] = {}
        for file in files.values():
            if file.kind is AssetKind.SIDECAR:
                original = _sidecar_original(file, by_stem)
                if original is not None:
                    sidecar_of[file.name] = original.name
            else:
                original = _edit_original(file, by_stem)
                if original is not None:
                    edited_of[file.name] = original.name
        return cls(frozenset(live), edited_of, sidecar_of)


def _sidecar_original(sidecar: _File, by_stem: dict[str, list[_File]]) -> _File | None:
    """The photo (or else video) that ``IMG_0007.AAE`` or ``IMG_O0007.AAE`` describes."""
    stem = _original_stem(sidecar.stem, _ORIGINAL_ADJUSTMENTS) or sidecar.stem
    media = [f for f in by_stem.get(stem, []) if f.kind in (AssetKind.PHOTO, AssetKind.VIDEO)]
    return _pick(media, sidecar.suffix, prefer=AssetKind.PHOTO)


def _edit_original(edited: _File, by_stem: dict[str, list[_File]]) -> _File | None:
    """For ``IMG_E0007.JPG``, the ``IMG_0007.*`` of the same kind (same extension first)."""
    stem = _original_stem(edited.stem, _EDITED)
    if stem is None or edited.kind not in (AssetKind.PHOTO, AssetKind.VIDEO):
        return None
    same_kind = [f for f in by_stem.get(stem, []) if f.kind is edited.kind]
    return _pick(same_kind, edited.suffix, prefer=edited.kind)


def _original_stem(stem: str, pattern: re.Pattern[str]) -> str | None:
    match = pattern.fullmatch(stem)
    return f"{match['prefix']}_{match['number']}" if match else None


def _pick(candidates: Sequence[_File], suffix: str, prefer: AssetKind) -> _File | None:
    """The original among same-stem files: same extension first, then the preferred kind."""
    ranked = sorted(candidates, key=lambda f: (f.suffix != suffix, f.kind is not prefer, f.name))
    return ranked[0] if ranked else None


def _acceptable(entry: os.DirEntry[str], prefix: str) -> bool:
    """False for hidden names and names that are not UTF-8 (logged: they are not backed up)."""
    if entry.name.startswith("."):
        return False
    try:
        entry.name.encode("utf-8")
    except UnicodeEncodeError:
        # os.scandir decodes undecodable bytes as lone surrogates; show the raw bytes instead.
        logger.warning("skipping %r: its name is not valid UTF-8", os.fsencode(prefix + entry.name))
        return False
    return True


def _stat_files(entries: Sequence[os.DirEntry[str]], prefix: str) -> dict[str, _File]:
    """Regular files among ``entries``, by name, from ``lstat`` (no file is opened)."""
    files: dict[str, _File] = {}
    for entry in entries:
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            info = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            logger.debug("%r vanished while listing", prefix + entry.name)
            continue
        files[entry.name] = _File(entry.name, info.st_size, info.st_mtime_ns)
    return files
