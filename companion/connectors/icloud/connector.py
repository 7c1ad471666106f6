"""The ``icloud:`` connector: an Apple ID's iCloud Photos library, read over the web.

``icloud:APPLE_ID`` names the account; a bare ``icloud`` is the one account signed in on this
computer (``companion icloud login``), and asks for the Apple ID when there is none.

What is read, and how:
- the library's indexes, page by page by rank (``listing.py``): the person's library and each
  shared library they take part in (``IcloudOptions.shared``), the Hidden album, with
  ``include_trashed`` Recently Deleted; or only the pictures of some albums
  (``IcloudOptions.albums``). Each picture's files carry the names of the albums holding it
  (``albums.py``);
- each picture's files as ``records.files_of`` names them: the original, its Live Photo movie,
  its edit's full-size render;
- each file's bytes from its signed download URL, streamed (``download.py``); a backup that
  says which files it reads next (``read_ahead``) gets up to ``IcloudOptions.downloads`` of
  them downloaded at once, each on a session of its own, through bounded buffers
  (``prefetch.py``).

The source is ``icloud:<apple id>``; each original's ``uid`` is its iCloud record name. Only
``remove`` changes iCloud: it moves pictures of the person's own library to Recently Deleted
(``removals.py``), for cleanup; a shared library's are refused (they belong to every participant).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from companion.connectors.base import ConnectOptions, Removal
from companion.connectors.icloud import listing, removals
from companion.connectors.icloud.account import ZONE, Account
from companion.connectors.icloud.download import Downloads
from companion.connectors.icloud.options import IcloudOptions, check_apple_id, known_accounts
from companion.connectors.icloud.prefetch import Job, Prefetch
from companion.connectors.icloud.records import CloudFile, Link, files_of, link
from companion.errors import SourceUnavailable, UsageError
from companion.model import Asset, DeviceInfo

__all__ = ["IcloudConnector", "open_icloud"]

log = logging.getLogger(__name__)

RENEW_BATCH = 100  # record names renewed by one lookup when download links expire


def open_icloud(rest: str, options: ConnectOptions) -> IcloudConnector:
    """The registry's factory: ``icloud`` or ``icloud:APPLE_ID``."""
    return IcloudConnector(rest.strip() or None, options)


class IcloudConnector:
    """An Apple ID's iCloud Photos library. Satisfies ``Connector``, ``Preparable`` and
    ``ReadAhead``; ``close()`` when done.

    Signing in happens at the first use that needs it (``info`` does), as ``signin.py`` says;
    its errors (a refused password or code, web access off, a library still indexed, too many
    503 answers, an expired session that cannot be renewed) stop the run. A file that cannot be
    downloaded is that file's ``SourceUnavailable``.
    """

    def __init__(
        self,
        apple_id: str | None = None,
        options: ConnectOptions | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._options = options or ConnectOptions()
        self._icloud = self._options.settings(IcloudOptions)
        self._apple_id = check_apple_id(apple_id) if apple_id else None
        self._sleep = sleep
        self._account: Account | None = None
        self._downloads: Downloads | None = None
        self._ahead: Prefetch | None = None
        self._lookups = threading.Lock()  # download threads renew links through pyicloud
        self._files: dict[str, CloudFile] = {}
        self._zones: list[listing.Zone] | None = None
        self._zone_ids: dict[str, Mapping[str, Any]] = {}
        self._renewed: dict[str, Link] = {}  # links renewed ahead of their downloads

    @property
    def apple_id(self) -> str:
        if self._apple_id is None:
            self._apple_id = _choose_account(self._icloud, self._options)
        return self._apple_id

    @property
    def source(self) -> str:
        return f"icloud:{self.apple_id}"

    @property
    def account(self) -> Account:
        if self._account is None:
            self._account = Account(self.apple_id, self._icloud, self._options, self._sleep)
        return self._account

    def prepare(self) -> None:
        """Start signing in with the stored session now (``Preparable``)."""
        self.account.start()

    def info(self) -> DeviceInfo:
        """The account, once signed in (lists nothing)."""
        self.account.open()
        return DeviceInfo(
            source=self.source,
            name=f"iCloud Photos of {self.apple_id}",
            model="iCloud Photos",
            identifier=self.apple_id,
        )

    def list_assets(self) -> Iterator[Asset]:
        for found in self._walk(trashed=self._options.include_trashed, albums=self._icloud.albums):
            yield from self._listed(found)

    def _walk(self, *, trashed: bool, albums: tuple[str, ...] = ()) -> Iterator[listing.Found]:
        chosen = self._zones
        if chosen is None:
            chosen = self._zones = listing.zones(self.account, shared=self._icloud.shared)
        return listing.walk(self.account, chosen, trashed=trashed, only_albums=albums)

    def _listed(self, found: listing.Found) -> Iterator[Asset]:
        def files(whole_tag: bool) -> list[CloudFile]:
            return files_of(
                self.source,
                found.asset,
                found.master,
                whole_tag=whole_tag,
                albums=found.albums,
                zone=found.zone.name,
            )

        listed = files(False)
        if any(_clashes(self._files.get(f.asset.path), f) for f in listed):
            listed = files(True)
        for file in listed:
            self._files[file.asset.path] = file
            self._zone_ids.setdefault(file.zone, found.zone.zone_id)
            yield file.asset

    def open(self, asset: Asset) -> BinaryIO:
        file = self._files.get(asset.path)
        if file is None:
            raise SourceUnavailable(
                f"{asset.path} is not in the iCloud Photos library of {self.apple_id}",
                hint="It may have been deleted since it was listed; list the library again.",
            )
        ahead = self._ahead
        if ahead is not None:
            stream = ahead.take(asset.path)
            if stream is not None:
                return stream
            if not ahead.knows(asset.path):  # not in the order told: drop what was read ahead
                self._stop_read_ahead()
        if self._downloads is None:
            self._downloads = Downloads(self._icloud, self._sleep)
        return self._start(file, self._downloads)

    def read_ahead(self, assets: Sequence[Asset]) -> None:
        """Start downloading ``assets`` in this order, up to ``IcloudOptions.downloads`` at
        once, each on a session of its own (``ReadAhead``, ``prefetch.py``)."""
        self._stop_read_ahead()
        files = [self._files[a.path] for a in assets if a.path in self._files]
        if not files:
            return
        jobs = [Job(f.asset.path, functools.partial(self._start, f)) for f in files]
        self._ahead = Prefetch(
            jobs, self._icloud.downloads, lambda: Downloads(self._icloud, self._sleep)
        )

    def _start(self, file: CloudFile, downloads: Downloads) -> BinaryIO:
        with self._lookups:
            renewed = self._renewed.pop(file.asset.path, None)
        link_now = Link(renewed.url if renewed else file.url, file.asset.size)
        return downloads.open(file.asset.path, link_now, lambda: self._refresh(file))

    def _stop_read_ahead(self) -> None:
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead.stop()

    def _refresh(self, file: CloudFile) -> Link | None:
        """Where ``file`` can be downloaded now and its size, from its records as they are
        now; None if iCloud no longer has it. Links expire together (an hour or so after the
        listing), so one lookup renews the links of the files listed after this one too
        (``RENEW_BATCH`` records), kept for when their downloads need them. One lookup at a
        time: pyicloud's session is not shared."""
        with self._lookups:
            if file.asset.path in self._renewed:
                return self._renewed.pop(file.asset.path)
            batch = self._next_files(file)
            names = list(dict.fromkeys(n for f in batch for n in (f.record, f.master)))
            records = self.account.lookup(names, zone=self._zone_id(file))
            found = {r.get("recordName"): r for r in records if "serverErrorCode" not in r}
            for other in batch[1:]:
                asset, master = found.get(other.record), found.get(other.master)
                renewed = link(asset, master, other.role) if asset and master else None
                if renewed is not None:
                    self._renewed[other.asset.path] = renewed
        asset, master = found.get(file.record), found.get(file.master)
        if asset is None or master is None:
            return None
        return link(asset, master, file.role)

    def _next_files(self, file: CloudFile) -> list[CloudFile]:
        """``file`` and the files listed after it in its zone, up to ``RENEW_BATCH`` records."""
        order = list(self._files)
        start = order.index(file.asset.path) if file.asset.path in order else len(order)
        batch, names = [file], {file.record, file.master}
        for path in order[start + 1 :]:
            other = self._files[path]
            if other.zone != file.zone or path in self._renewed:
                continue
            if len(names | {other.record, other.master}) > RENEW_BATCH:
                break
            names |= {other.record, other.master}
            batch.append(other)
        return batch

    def close(self) -> None:
        """Close the HTTP connections; the session stays kept. Safe to call twice."""
        self._stop_read_ahead()
        downloads, self._downloads = self._downloads, None
        if downloads is not None:
            downloads.close()
        if self._account is not None:
            self._account.close()

    def __enter__(self) -> IcloudConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Cleanup (``Remover``, ``RemovalChecker``): pictures moved to Recently Deleted, throttled,
    # each confirmed by reading its record again (``removals.py``).
    _throttle: removals.Throttle | None = None
    _listed_everything = False

    def remove(self, assets: Sequence[Asset], *, quarantine: Path | None) -> list[Removal]:
        """Move each asset's picture to Recently Deleted; a quarantine folder is refused."""
        removals.refuse_quarantine(quarantine)
        if not assets:
            return []
        if self._throttle is None:
            self._throttle = removals.Throttle(self._sleep)
        return removals.remove(self.account, self._file_of, assets, self._throttle)

    def removal_states(self, assets: Sequence[Asset]) -> list[Removal]:
        """What iCloud shows now for each asset's picture (reads only)."""
        names = [self._record_of(asset, assets) for asset in assets]
        return removals.removal_states(self.account, names, assets)

    def _file_of(self, asset: Asset) -> CloudFile | None:
        """The listed file ``asset`` is; the library, hidden and deleted alike, listed once
        when it was not listed yet."""
        if asset.path not in self._files and not self._listed_everything:
            self._listed_everything = True
            for found in self._walk(trashed=True):
                for _ in self._listed(found):
                    pass
        return self._files.get(asset.path)

    def _zone_id(self, file: CloudFile) -> Mapping[str, Any]:
        return self._zone_ids.get(file.zone, ZONE)

    def _record_of(self, asset: Asset, others: Sequence[Asset]) -> str | None:
        """The record name of ``asset``'s picture: listed, its own ``uid``, its original's
        among ``others`` (a Live Photo movie, an edit), else from a listing of everything."""
        if asset.path in self._files:
            return self._files[asset.path].record
        original = next((o for o in others if o.uid and _same_picture(o, asset)), None)
        if original is not None:
            return original.uid
        file = self._file_of(asset)
        return file.record if file is not None else None


def _clashes(known: CloudFile | None, new: CloudFile) -> bool:
    """Whether another picture already has this path (two names and short tags alike)."""
    return known is not None and known.record != new.record


def _choose_account(icloud: IcloudOptions, options: ConnectOptions) -> str:
    """The Apple ID of a bare ``icloud``: the one signed in here, else asked."""
    known = known_accounts(icloud)
    if len(known) == 1:
        return known[0]
    if known:
        raise UsageError(
            f"several Apple IDs are signed in on this computer: {', '.join(known)}",
            hint="Name one: --from icloud:APPLE_ID.",
        )
    answer = options.ask(
        "Apple ID (the e-mail address you sign in to iCloud with)",
        hint="Name the account: --from icloud:APPLE_ID, or sign in first with "
        "'companion icloud login APPLE_ID'.",
    )
    return check_apple_id(answer)


def _same_picture(original: Asset, other: Asset) -> bool:
    """Whether ``other`` is ``original`` itself, its Live Photo movie or its edit."""
    if original.path in (other.path, other.edited_of):
        return True
    return other.live_group is not None and other.live_group == original.live_group
