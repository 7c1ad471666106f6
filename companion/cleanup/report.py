"""What a cleanup did, and what became of the removed photos since: plain values for the command
to render, and the words that tell a person where to find a photo in the Photos app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from companion.connectors import RemovalState
from companion.errors import UnsafeDelete
from companion.model import Asset, AssetKind


@dataclass(frozen=True, slots=True)
class GroupResult:
    """One chosen group in a report: ``name`` the primary's file name, ``size`` the bytes of
    all its files, ``detail`` what happened or why not, in words."""

    key: str
    name: str
    size: int
    detail: str


@dataclass(frozen=True, slots=True)
class CleanupReport:
    """What one run did: ``removed`` (moved or deleted), ``by_hand`` (for the person to delete
    in the source's own app; ``detail`` says where to find each), ``would_remove`` (a dry run),
    ``refused`` (not ready when re-checked: ``detail`` says why), ``still_present`` (a file the
    source would not give up: ``detail`` says which and why). ``freed_bytes``: of the files
    removed (in a dry run, that would be)."""

    source: str
    method: str
    removed: tuple[GroupResult, ...] = ()
    by_hand: tuple[GroupResult, ...] = ()
    would_remove: tuple[GroupResult, ...] = ()
    refused: tuple[GroupResult, ...] = ()
    still_present: tuple[GroupResult, ...] = ()
    freed_bytes: int = 0
    dry_run: bool = False

    def error(self) -> UnsafeDelete | None:
        """The error the command ends with when groups were refused (exit 14), else None."""
        if not self.refused:
            return None
        names = ", ".join(r.name for r in self.refused)
        return UnsafeDelete(
            f"{len(self.refused)} chosen item(s) left on the source: the vault holds no "
            f"verified copy of them as they are now ({names})"
        )


@dataclass(frozen=True, slots=True)
class GroupCheck:
    """One group the person was to delete, as the source shows it now: ``state`` is that of
    its least removed file (a Live Photo whose movie is still there is still there);
    ``purge_on`` the day Recently Deleted drops it; ``where`` how to find it in Photos."""

    key: str
    name: str
    state: RemovalState
    purge_on: date | None
    where: str


@dataclass(frozen=True, slots=True)
class CheckReport:
    """``cleanup --check``: every group planned for deletion by hand on ``source``, in the
    order they were planned."""

    source: str
    groups: tuple[GroupCheck, ...]

    def in_state(self, state: RemovalState) -> tuple[GroupCheck, ...]:
        return tuple(g for g in self.groups if g.state is state)


def where_in_photos(asset: Asset) -> str:
    """How to find ``asset`` in the Photos app: what it is, the day, its albums."""
    what = "a screenshot" if asset.screenshot else "a photo"
    if asset.live_group is not None:
        what = "a Live Photo"
    elif asset.kind is AssetKind.VIDEO:
        what = "a video"
    parts = [f"{asset.name}, {what}"]
    if asset.captured_at is not None:
        parts.append(f"taken on {_day(asset.captured_at)}")
    if asset.albums:
        label = "album" if len(asset.albums) == 1 else "albums"
        parts.append(f"in the {label} {', '.join(asset.albums)}")
    if asset.hidden:
        parts.append("in the Hidden album")
    return ", ".join(parts)


def _day(when: datetime) -> str:
    return f"{when.day} {when:%B %Y}"
