"""The seam between companion and a source of photos.

A connector lists what a source holds and opens byte streams; it never writes to the vault and
never decides what to back up. Contract (checked for every connector by
``tests/connector_contract.py``):

- ``info()`` is cheap and does not read assets.
- ``list_assets()`` yields each asset once, in a stable order, reading no file contents: sizes and
  modification stamps come from the source's directory listing or database. Two calls on an
  unchanged source yield equal assets.
- ``open(asset)`` returns a fresh binary stream positioned at 0 that yields the file's bytes to
  its real end, whatever the listing said (a phone's listing can be wrong: a size of -1, a
  petabyte, a file still being written). Whether they add up to ``asset.size`` is the
  consumer's check (the vault's: ``SizeMismatch``). A file that changes *while* it is read
  raises ``SourceChanged`` where the source can tell; one that cannot be read, or went away,
  ``SourceUnavailable``. A stream never grows without bound: past what the source could hold
  it raises ``SourceUnavailable``.
- Errors raised are ``CompanionError`` subclasses only; anything wrong with one file is a
  ``SourceUnavailable`` for that file, never an error that stops the whole run. Only losing
  the source itself (``DeviceError``: a cable pulled) stops a run.

Optional abilities are separate protocols a connector may also satisfy: ``Prober``,
``Shareable``, ``ReadAhead``, ``Preparable``, ``Reconnectable``, ``AppLister``, ``Selective``,
``Remover`` (takes assets off the source) and ``RemovalChecker`` (tells what became of them).

What a caller tells a connector is a ``ConnectOptions``: how to reach the person (``notify``
one way, ``prompt`` both ways: a connector that needs an answer and has no ``prompt`` raises a
``UsageError`` with a hint, never waits), what to list (``include_trashed``), and each
connector's own settings, fetched by type (``options.settings(UsbOptions)``), so this seam
names no connector's fields.

A connector that holds a link (a USB session) also has ``close()``; callers use
``contextlib.closing`` or call it when done. Connectors without one need no closing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO, Protocol, TypeVar, runtime_checkable

from companion.errors import UsageError
from companion.model import AppInfo, Asset, DeviceInfo

S = TypeVar("S")


class Ask(Protocol):
    """Asks the person ``question`` and returns what they typed, never empty (a two-factor
    code, an account name); with ``secret`` it is typed without echo. The person cancelling
    (Ctrl-C) stops the command, as any of the caller's prompts does."""

    def __call__(self, question: str, *, secret: bool = False) -> str: ...


@dataclass(frozen=True, slots=True)
class ConnectOptions:
    """What a caller may tell any connector; each uses what concerns it.

    ``notify`` receives one line for the person when the source needs them (for a phone: "Unlock
    your iPhone and tap Trust"); library code never prints. ``prompt`` asks the person and waits
    for the answer; None means nobody can answer (no terminal), and a connector that needs an
    answer calls ``ask``, which then raises. ``include_trashed`` also lists what the source keeps
    in Recently Deleted, for sources that have one. ``per_connector`` holds settings values of
    the connectors' own types (at most one of each type), read with ``settings``.
    """

    notify: Callable[[str], None] | None = None
    prompt: Ask | None = None
    include_trashed: bool = False
    per_connector: tuple[object, ...] = ()

    def __post_init__(self) -> None:
        kinds = [type(value) for value in self.per_connector]
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"one settings value per connector type, got {kinds}")

    def settings(self, kind: type[S]) -> S:
        """The settings of type ``kind`` the caller gave, else ``kind()``: its defaults."""
        for value in self.per_connector:
            if isinstance(value, kind):
                return value
        return kind()

    def ask(self, question: str, *, secret: bool = False, hint: str) -> str:
        """The person's answer to ``question``. Without ``prompt`` nobody can answer: a
        ``UsageError`` carrying ``hint`` (how to give the answer some other way)."""
        if self.prompt is None:
            raise UsageError(f"nobody can answer {question!r}: there is no terminal", hint=hint)
        return self.prompt(question, secret=secret)


@runtime_checkable
class Connector(Protocol):
    """A source of assets. See the module docstring for the contract."""

    @property
    def source(self) -> str:
        """The source spec this connector was built from, e.g. ``folder:/media/DCIM``."""
        ...

    def info(self) -> DeviceInfo: ...

    def list_assets(self) -> Iterator[Asset]: ...

    def open(self, asset: Asset) -> BinaryIO: ...


@runtime_checkable
class Prober(Protocol):
    """A connector that can fill in capture time and similar facts by reading an asset's header.

    ``probe`` reads at most the file's metadata (EXIF, QuickTime atoms), never the whole payload,
    and returns the asset with those fields filled; it never raises for unreadable metadata (the
    asset comes back unchanged), only ``SourceUnavailable`` when the file itself is gone.
    A backup probes only the assets it is about to store, so a re-run with nothing new reads
    nothing.
    """

    def probe(self, asset: Asset) -> Asset: ...


@runtime_checkable
class Shareable(Protocol):
    """A connector that other processes can rebuild, so a backup can read several files at once.

    ``worker_spec()`` returns a source spec for which ``connectors.connect`` builds an equivalent
    connector in another process (same files, same listing). Connectors bound to one link (a USB
    session) or to objects that cannot cross a process boundary do not offer it.
    """

    def worker_spec(self) -> str: ...


@runtime_checkable
class ReadAhead(Protocol):
    """A connector over a link that can start reading the next files before they are opened.

    ``read_ahead(assets)`` is a hint: these assets will be opened next, in this order. The
    connector may read them ahead within a small memory budget; opening one out of order drops
    what was read ahead of it, opening one not in the list drops everything. Only a caller that
    really opens them calls it (a dry run does not).
    """

    def read_ahead(self, assets: Sequence[Asset]) -> None: ...


@runtime_checkable
class Preparable(Protocol):
    """A connector whose link takes time to open (pairing, TLS), which it can start early.

    ``prepare()`` returns at once; the link opens in the background while the caller does
    something else (unlocks the vault). Errors surface at the first real use, not here.
    """

    def prepare(self) -> None: ...


@runtime_checkable
class Reconnectable(Protocol):
    """A connector over a link that can drop (a cable), and be opened again.

    ``reconnect(within)`` forgets the dropped link and tries to open a new one for up to
    ``within`` seconds (the phone was unplugged and plugged back, or the link hiccupped); True
    when it is open again, False when the source did not come back. What was read ahead is
    gone: the caller asks again for what it still needs.
    """

    def reconnect(self, within: float) -> bool: ...


@runtime_checkable
class AppLister(Protocol):
    """A connector to a phone that can say which apps are installed and what they declare.

    ``list_apps`` returns user-installed apps (``system=True`` ones only when asked), sorted by
    bundle id, each with the usage descriptions of its Info.plist; it reads nothing else.
    """

    def list_apps(self, *, include_system: bool = False) -> list[AppInfo]: ...


@runtime_checkable
class Selective(Protocol):
    """A connector that lists only part of what it was pointed at, and can say what it skipped.

    ``left_out()``, after a full ``list_assets()``: how many photos and videos were seen but not
    listed, by folder relative to the source (``""`` for its top), most first. A ``folder:``
    media root lists only ``DCIM/`` and counts what lies beside it, from directory entries alone.
    """

    def left_out(self) -> dict[str, int]: ...


class RemovalState(StrEnum):
    """Where an asset chosen for removal stands on its source."""

    PRESENT = "still there"
    TRASHED = "in Recently Deleted"  # the source keeps it for a while (``Removal.purge_on``)
    QUARANTINED = "moved to quarantine"
    GONE = "gone"


@dataclass(frozen=True, slots=True)
class Removal:
    """What became of one asset: ``where`` names the place it was moved to (a quarantine file),
    ``purge_on`` the day a source's Recently Deleted will drop it for good."""

    asset: Asset
    state: RemovalState
    where: Path | None = None
    purge_on: date | None = None


@runtime_checkable
class Remover(Protocol):
    """A connector that can take assets off its source itself.

    ``remove(assets, quarantine=DIR)`` moves each asset's file under ``DIR`` (keeping its path
    relative to the source), never overwriting; with ``quarantine=None`` it deletes (a source
    with a Recently Deleted moves it there). It acts on exactly the assets given, in order, and
    returns one ``Removal`` per asset; a file it cannot move is a ``SourceUnavailable`` for that
    file, raised after the others were done (no partial move of one file: a move is a rename, or
    a copy checked then an unlink). A source where
    removing files would damage a library (a mounted phone's DCIM beside ``PhotoData/``) refuses
    with a ``UsageError`` before touching anything.
    """

    def remove(self, assets: Sequence[Asset], *, quarantine: Path | None) -> list[Removal]: ...


@runtime_checkable
class RemovalChecker(Protocol):
    """A connector that cannot remove (a phone over USB: deleting over AFC corrupts the Photos
    library) but can tell, by reading its library again, what became of assets the person
    deleted themselves: ``removal_states`` returns one ``Removal`` per asset, in order
    (``TRASHED`` with its purge day, ``GONE``, or ``PRESENT``)."""

    def removal_states(self, assets: Sequence[Asset]) -> list[Removal]: ...
