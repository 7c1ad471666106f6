"""Taking files off a ``folder:`` source (``Remover``): moved into a quarantine folder, or deleted.

Each file goes under the quarantine folder at its path relative to the source
(``DCIM/100APPLE/IMG_0007.HEIC``), never over another file: a name already taken becomes
``IMG_0007 (2).HEIC``, then ``(3)``... On the same file system a move is a hard link then an
unlink (the atomic no-clobber rename; for a moment both names exist, so a crash loses nothing);
on file systems without hard links, a check then a rename. Across file systems the file is
copied into a new file, synced, compared by size, and only then removed from the source.

Before anything is touched, two refusals (``UsageError``):
- a source that is a mounted phone (its media root holds ``PhotoData/`` beside ``DCIM/``):
  removing files there is the same as deleting over AFC, it leaves the Photos library pointing
  at missing files;
- a quarantine folder inside the source: the next backup would list the quarantined files.

Each file is checked just before it moves: a regular file (never a link) with the size and
modification time the asset says, else it is left where it is (``SourceChanged``).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import logging
import os
import shutil
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from companion.connectors.base import Removal, RemovalState
from companion.errors import SourceChanged, SourceUnavailable, UsageError
from companion.model import Asset
from companion.portable import durable, files

logger = logging.getLogger(__name__)

_NO_HARD_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.EOPNOTSUPP)
_COPY_CHUNK = 1024 * 1024


def remove_files(
    root: Path, source: str, assets: Sequence[Asset], quarantine: Path | None
) -> list[Removal]:
    """Move each of ``assets`` (of the folder ``root``, named ``source``) under ``quarantine``,
    or delete it when ``quarantine`` is None; one ``Removal`` per asset, in order.

    The refusals come first, even for no assets (a caller can ask before it acts). A file that
    cannot be moved is left in place and is a ``SourceUnavailable`` raised once the others are
    done (the first of them, if several failed).
    """
    refuse_mounted_phone(root)
    target = _quarantine_folder(root, quarantine) if quarantine is not None else None
    done: list[Removal] = []
    failed: list[SourceUnavailable] = []
    for asset in assets:
        try:
            local = _checked_file(root, source, asset)
            if target is None:
                local.unlink()
                _sync_folder(local.parent)
                done.append(Removal(asset, RemovalState.GONE))
            else:
                where = _move(local, target.joinpath(*asset.path.split("/")))
                done.append(Removal(asset, RemovalState.QUARANTINED, where=where))
        except SourceUnavailable as exc:
            logger.warning("not removed: %s", exc)
            failed.append(exc)
        except OSError as exc:
            logger.warning("not removed: %s: %s", asset.path, exc)
            failed.append(
                SourceUnavailable(
                    f"cannot move {asset.path}: {exc.strerror}",
                    hint="Check the permissions of the file and of the quarantine folder, and "
                    "that both disks are still mounted.",
                )
            )
    if failed:
        raise failed[0]
    return done


def refuse_mounted_phone(root: Path) -> None:
    """``UsageError`` when ``root`` is, or is inside the ``DCIM/`` of, a phone's media root."""
    for media in (root, *root.parents):
        inside = media == root or root.is_relative_to(media / "DCIM")
        if inside and (media / "DCIM").is_dir() and (media / "PhotoData").is_dir():
            raise UsageError(
                f"{root} is a mounted iPhone ({media} holds PhotoData/ beside DCIM/): removing "
                "files there would leave broken photos in the Photos app",
                hint="Back the phone up over USB ('--from usb') and delete the photos in the "
                "Photos app; 'companion cleanup --check' then confirms they are gone.",
            )


def _quarantine_folder(root: Path, quarantine: Path) -> Path:
    target = quarantine.expanduser().resolve()
    if target == root or target.is_relative_to(root):
        raise UsageError(
            f"the quarantine folder {target} is inside the source {root}",
            hint="Choose a quarantine folder outside the photos folder, e.g. "
            "--quarantine ~/companion-quarantine.",
        )
    return target


def _checked_file(root: Path, source: str, asset: Asset) -> Path:
    """The asset's file, as a path that stays inside ``root``, if it is still the file the asset
    describes (a regular file of the same size and modification time)."""
    parts = asset.path.split("/")
    bad = asset.path.startswith("/") or "\x00" in asset.path or {"", ".", ".."} & set(parts)
    if asset.source != source or bad:
        raise SourceUnavailable(
            f"refusing to remove {asset.path!r}: not a file of {source}",
            hint="This asset did not come from this folder's listing.",
        )
    local = root.joinpath(*parts)
    if any(p.is_symlink() for p in (local, *local.parents) if p.is_relative_to(root)):
        raise SourceChanged(f"{asset.path} is now behind a symbolic link: left in place")
    try:
        now = local.lstat()
    except FileNotFoundError as exc:
        raise SourceUnavailable(
            f"{asset.path} is no longer in {root}",
            hint="It was moved or deleted since it was listed.",
        ) from exc
    if not stat.S_ISREG(now.st_mode) or (now.st_size, now.st_mtime_ns) != (
        asset.size,
        asset.mtime_ns,
    ):
        raise SourceChanged(
            f"{asset.path} changed since it was checked against the vault: left in place",
            hint="Back it up again, verify, and choose it again.",
        )
    return local


def _move(local: Path, wanted: Path) -> Path:
    """Move ``local`` to ``wanted`` or, if that name is taken, the first free ``name (N).ext``;
    returns where it went."""
    wanted.parent.mkdir(parents=True, exist_ok=True)
    for candidate in _names(wanted):
        try:
            os.link(local, candidate, follow_symlinks=False)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno == errno.EXDEV:
                return _copy_across(local, wanted)
            if exc.errno not in _NO_HARD_LINKS:
                raise
            if candidate.exists() or candidate.is_symlink():
                continue
            local.rename(candidate)  # no hard links here: checked, then renamed
        else:
            local.unlink()
        _sync_folder(candidate.parent)
        _sync_folder(local.parent)
        return candidate
    raise AssertionError("unreachable: names never run out")


def _copy_across(local: Path, wanted: Path) -> Path:
    """Copy to a new file (never an existing one), sync it, compare sizes, then unlink."""
    for candidate in _names(wanted):
        try:
            fd = files.create_new(candidate, 0o600)
        except FileExistsError:
            continue
        try:
            with local.open("rb") as source, os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(source, out, _COPY_CHUNK)
                out.flush()
                durable.sync(out.fileno())
            shutil.copystat(local, candidate, follow_symlinks=False)
            copied, original = candidate.stat().st_size, local.stat().st_size
            if copied != original:
                raise SourceChanged(
                    f"{local.name}: {copied} bytes copied of {original}: left in place",
                    hint="Check the disk of the quarantine folder, then run the command again.",
                )
        except BaseException:
            with contextlib.suppress(OSError):
                candidate.unlink()
            raise
        _sync_folder(candidate.parent)
        local.unlink()
        _sync_folder(local.parent)
        return candidate
    raise AssertionError("unreachable: names never run out")


def _names(wanted: Path) -> Iterator[Path]:
    """``IMG_0007.HEIC``, then ``IMG_0007 (2).HEIC``, ``IMG_0007 (3).HEIC``..."""
    yield wanted
    stem, suffix = _split(wanted.name)
    for number in itertools.count(2):
        yield wanted.with_name(f"{stem} ({number}){suffix}")


def _split(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    return (stem, dot + ext) if dot and stem else (name, "")


def _sync_folder(folder: Path) -> None:
    """Make a rename, link or unlink inside ``folder`` durable (where the file system can)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        durable.sync(fd)
    except OSError as exc:  # network and FUSE file systems may refuse a directory fsync
        logger.debug("cannot sync %s: %s", folder, exc)
    finally:
        os.close(fd)
