"""The ``usb:`` connector: an iPhone on a cable, its camera roll read over AFC.

``usb`` picks the only connected iPhone; ``usb:UDID`` a given one. The usbmuxd address comes from
``UsbOptions.usbmux_address``, else ``USBMUXD_SOCKET_ADDRESS``, else the system's, so the same
code talks to a real usbmuxd or to the simulated iPhone. The library is asyncio; each connector
runs it on a private ``Loop`` and waits with timeouts.

What is read, and how (``roll.py`` decides what each file becomes):
- the folders of originals, one directory read each: the camera's ``DCIM/1xxAPPLE`` and iCloud
  Photos' ``PhotoData/CPLAssets/groupN`` (photos from another device, kept on this one); then
  every file's size and date with ``stat`` requests kept in flight on one AFC connection
  (answered in order, so the round trips overlap instead of adding up);
- ``PhotoData/Photos.sqlite`` and its ``-wal``, into memory only (``photosdb.py``), read
  again once if the copy came out torn; without it the folders alone, and the person is told;
- the edit renders under ``PhotoData/Mutations/`` of the rows the library marks as edited.
Nothing is ever written or deleted on the phone: deleting DCIM files behind the Photos library's
back leaves broken photos in the Photos app, so this connector has no remover. It can tell what
became of photos the person deleted in the Photos app (``removal_states``, ``removals.py``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import io
import logging
import time
from collections.abc import Coroutine, Iterator, Sequence
from pathlib import PurePosixPath
from typing import Any, BinaryIO, TypeVar

from companion.connectors.base import ConnectOptions, Removal
from companion.connectors.metadata import read_facts
from companion.connectors.streams import ChunkStream, SeekableFile
from companion.connectors.usb.aioloop import Loop, settle, wait
from companion.connectors.usb.iphone import (
    app_info,
    check_path,
    check_usbmux_address,
    device_info,
)
from companion.connectors.usb.options import UsbOptions
from companion.connectors.usb.photosdb import LibraryUnreadable, PhotoRecord, read_library
from companion.connectors.usb.removals import removal_states, snapshot
from companion.connectors.usb.roll import Roll, assemble
from companion.connectors.usb.session import (
    AFC_CHUNK,
    CALL_TIMEOUT,
    PHOTOS_DB,
    PREFETCH,
    READ_AHEAD_BUDGET,
    Prefetch,
    Session,
    default_usbmux,
    open_session,
)
from companion.connectors.usb.translate import translate, translate_file
from companion.errors import (
    CloudOnly,
    CompanionError,
    DeviceDisconnected,
    DeviceError,
    SourceUnavailable,
)
from companion.model import AppInfo, Asset, AssetKind, DeviceInfo

__all__ = ["UsbConnector", "open_usb"]

logger = logging.getLogger(__name__)
T = TypeVar("T")


def open_usb(rest: str, options: ConnectOptions) -> UsbConnector:
    """The registry's factory: ``usb`` or ``usb:UDID``."""
    return UsbConnector(rest.strip() or None, options)


class UsbConnector:
    """An iPhone over USB. Satisfies ``Connector``, ``Prober``, ``ReadAhead``, ``Preparable``,
    ``Reconnectable``, ``AppLister`` and ``RemovalChecker``; ``close()`` when done.

    The link opens on first use, as ``options.settings(UsbOptions)`` says, pairing if needed
    (``options.notify`` then receives "Unlock your iPhone and tap Trust"). Errors:
    ``DeviceNotFound``, ``DeviceLocked``, ``TrustDenied``, ``TrustTimeout`` when the link cannot
    open; ``DeviceDisconnected`` when it drops, which stops the run unless ``reconnect`` brings
    it back; ``CloudOnly`` or ``SourceUnavailable`` for one file, whatever the phone answered
    about it (an odd listing, an error status, an answer the client cannot parse): no file's
    fault ever stops the others.
    """

    def __init__(self, udid: str | None = None, options: ConnectOptions | None = None) -> None:
        self._wanted = udid
        self._options = options or ConnectOptions()
        self._usb = self._options.settings(UsbOptions)
        check_usbmux_address(self._usb.usbmux_address)
        self._loop: Loop | None = None
        self._session: Session | None = None
        self._cloud_only: frozenset[str] = frozenset()
        self._unreadable: dict[str, str] = {}
        self._ahead: Prefetch | None = None
        self._opening: concurrent.futures.Future[Session] | None = None
        self._usbmux_env: contextlib.AbstractContextManager[None] | None = None
        self.library_note: str | None = None  # why Photos.sqlite was not used, if it was not

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT) -> T:
        return self._wait(self._submit(coro), timeout)

    def _submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        if self._loop is None:
            coro.close()
            raise DeviceDisconnected("the link to the iPhone is closed")
        return self._loop.submit(coro)

    def _wait(
        self,
        future: concurrent.futures.Future[T],
        timeout: float = CALL_TIMEOUT,
        path: str | None = None,
    ) -> T:
        """The result of a call on the link; failures become ours. With ``path``, the call
        concerns that one file: anything but a lost link is that file's failure."""
        try:
            return wait(future, timeout)
        except CompanionError:
            raise
        except TimeoutError as exc:
            self._forget_session()
            raise DeviceDisconnected(f"the iPhone stopped answering for {timeout:.0f} s") from exc
        except Exception as exc:
            if path is not None:
                error = translate_file(exc, path, self._wanted)
            else:
                error = translate(exc, self._wanted, self._usb.trust_timeout)
            if isinstance(error, DeviceDisconnected):
                error = self._dropped(error)
            raise error from exc

    def _dropped(self, error: DeviceDisconnected) -> DeviceDisconnected:
        """Forget the dead link; name the file it dropped on, when the read-ahead was sending
        one (a drop hits every request in flight, and the one that noticed first may be
        another file's header probe)."""
        ahead = self._ahead
        if ahead is not None and ahead.lost_at is None and self._loop is not None:
            with contextlib.suppress(Exception):  # let the loop finish taking the drop in
                self._loop.run(settle(), 1)
        lost = ahead.lost_at if ahead is not None else None
        self._forget_session()
        if lost is None:
            return error
        return DeviceDisconnected(f"the iPhone was disconnected while it sent {lost}")

    def _run_file(self, coro: Coroutine[Any, Any, T], path: str) -> T:
        return self._wait(self._submit(coro), CALL_TIMEOUT, path)

    def _forget_session(self) -> None:
        """The link dropped: the next call reconnects (a replugged phone works again)."""
        self._cancel_read_ahead()
        session, self._session = self._session, None
        if session is not None and self._loop is not None:
            self._loop.submit(session.aclose())

    def prepare(self) -> None:
        """Start opening the link now (``Preparable``); the first real call waits for it."""
        if self._session is None and self._opening is None:
            self._loop = self._loop or Loop("companion-usb")
            # pymobiledevice3 reads the variable when it saves a new pair record, on the loop's
            # thread, possibly after this returns: it stays set until the link is open.
            self._usbmux_env = default_usbmux(self._usb.usbmux_address)
            self._usbmux_env.__enter__()
            self._opening = self._submit(
                open_session(self._wanted, self._usb, self._options.notify)
            )

    def _connected(self) -> Session:
        if self._session is None:
            self.prepare()
            opening, self._opening = self._opening, None
            assert opening is not None
            try:
                self._session = self._wait(opening, self._usb.trust_timeout + CALL_TIMEOUT)
            finally:
                env, self._usbmux_env = self._usbmux_env, None
                if env is not None:
                    env.__exit__(None, None, None)
        return self._session

    def reconnect(self, within: float) -> bool:
        """``Reconnectable``: drop the dead link and open a new one, trying for ``within``
        seconds (a phone replugged, a link that hiccupped); True once it is open again."""
        self._forget_session()
        deadline = time.monotonic() + within
        while True:
            try:
                self._connected()
            except DeviceError as exc:
                self._opening = None
                if time.monotonic() >= deadline:
                    logger.info("the iPhone did not come back: %s", exc)
                    return False
                time.sleep(0.5)
            else:
                logger.info("the link to the iPhone was opened again")
                return True

    def close(self) -> None:
        """Close the link and stop its thread. Safe to call twice."""
        self._cancel_read_ahead()
        env, self._usbmux_env, self._opening = self._usbmux_env, None, None
        if env is not None:
            env.__exit__(None, None, None)
        session, loop = self._session, self._loop
        self._session = self._loop = None
        if loop is None:
            return
        if session is not None:
            with contextlib.suppress(Exception):  # closing a dead link must not mask an error
                loop.run(session.aclose(), 10)
        loop.close()

    def __enter__(self) -> UsbConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def source(self) -> str:
        return f"usb:{self._connected().udid}"

    def info(self) -> DeviceInfo:
        return device_info(self._connected().values, trusted=True)

    def list_assets(self) -> Iterator[Asset]:
        yield from self.roll().assets

    def roll(self) -> Roll:
        """Everything on the camera roll, and which of it is only in iCloud."""
        session = self._connected()
        # The stats go out first; the library is copied and parsed here while they are answered.
        listing = self._submit(session.list_originals())
        records = self._library(session)
        files = self._wait(listing, CALL_TIMEOUT * 10)
        if records:
            files.update(self._run(session.list_edits(records), CALL_TIMEOUT * 10))
        roll = assemble(self.source, files, records, include_trashed=self._options.include_trashed)
        self._cloud_only = roll.cloud_only
        self._unreadable = dict(roll.unreadable)
        return roll

    def _check_readable(self, asset: Asset) -> None:
        check_path(asset.path)
        if asset.path in self._cloud_only:
            raise CloudOnly(
                f"{asset.path} is only in iCloud, not on the iPhone (Optimize iPhone Storage)"
            )
        problem = self._unreadable.get(asset.path)
        if problem is not None:
            raise SourceUnavailable(
                problem,
                hint="It is asked again on the next run; if it stays, open it in the Photos "
                "app or restart the iPhone.",
            )

    def open(self, asset: Asset) -> BinaryIO:
        self._check_readable(asset)
        session = self._connected()
        reader = self._ahead
        if reader is None or not self._run(reader.claim(asset.path)):
            self._cancel_read_ahead()
            reader = self._run(_start(session, [asset.path], AFC_CHUNK * PREFETCH))
        done = False

        def next_chunk() -> bytes:
            nonlocal done
            item = self._run(reader.take(asset.path))
            if isinstance(item, BaseException):
                done = True
                error = translate_file(item, asset.path, self._wanted)
                if isinstance(error, DeviceDisconnected):
                    error = self._dropped(error)
                raise error from item
            done = not item
            return item

        def stop() -> None:
            if not done and self._loop is not None:
                self._loop.call(reader.drop, asset.path)

        stream = ChunkStream(next_chunk, session.capacity, asset.path, stop)
        return io.BufferedReader(stream, AFC_CHUNK)

    def read_ahead(self, assets: Sequence[Asset]) -> None:
        """Start reading ``assets`` in this order, a few chunks ahead of whoever opens them
        (``ReadAhead``): while the vault encrypts and syncs one file, the next one is already
        on its way. Opening anything else drops what was read ahead."""
        self._cancel_read_ahead()
        skip = self._cloud_only | self._unreadable.keys()
        paths = [a.path for a in assets if a.path not in skip]
        if paths:
            self._ahead = self._run(_start(self._connected(), paths, READ_AHEAD_BUDGET))

    def _cancel_read_ahead(self) -> None:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and self._loop is not None:
            self._loop.cancel(ahead.task)

    def probe(self, asset: Asset) -> Asset:
        """Capture time and screenshot flag from the file's header, when the library did not
        give them (it could not be read, or the file is newer than its row). Reads headers
        only, with seeks; checks the file is still there either way."""
        self._check_readable(asset)
        session = self._connected()
        known = asset.captured_at is not None and asset.screenshot is not None
        if known or asset.kind not in (AssetKind.PHOTO, AssetKind.VIDEO):
            described = self._run_file(session.describe(asset.path), asset.path)
            if described is None:
                raise SourceUnavailable(f"{asset.path} is no longer a file on the iPhone")
            if described.problem:
                raise SourceUnavailable(described.problem)
            return asset
        handle = self._run_file(session.afc.fopen(asset.path), asset.path)
        # Header parsers treat any exception as "no facts"; a link that dropped meanwhile must
        # still stop the run, so failures are noted on the way out of each call.
        failures: list[CompanionError] = []

        def noted(coro: Coroutine[Any, Any, T]) -> T:
            try:
                return self._run_file(coro, asset.path)
            except CompanionError as exc:
                failures.append(exc)
                raise

        try:
            raw = SeekableFile(
                lambda n: noted(session.afc.fread(handle, min(n, AFC_CHUNK))),
                lambda offset: noted(session.afc.fseek(handle, offset, io.SEEK_SET)),
                asset.size,
            )
            facts = read_facts(io.BufferedReader(raw, 64 * 1024), PurePosixPath(asset.path).suffix)
        finally:
            if not failures:  # a file-level refusal to close is harmless; a lost link is not
                with contextlib.suppress(SourceUnavailable):
                    self._wait(self._submit(session.afc.fclose(handle)), 10, asset.path)
        if failures:
            raise failures[0]
        if facts is None:
            return asset
        return dataclasses.replace(
            asset,
            captured_at=asset.captured_at or facts.captured_at,
            screenshot=asset.screenshot if asset.screenshot is not None else facts.screenshot,
        )

    def removal_states(self, assets: Sequence[Asset]) -> list[Removal]:
        """``RemovalChecker``: the library and the assets' folders read again; writes nothing."""
        session = self._connected()
        return removal_states(assets, lambda: self._run(snapshot(session, assets), 300))

    def list_apps(self, *, include_system: bool = False) -> list[AppInfo]:
        session = self._connected()
        raw = self._run(session.browse_apps("Any" if include_system else "User"))
        apps = (app_info(entry) for entry in raw)
        return sorted((a for a in apps if a is not None), key=lambda a: a.bundle_id)

    def _library(self, session: Session) -> dict[str, PhotoRecord] | None:
        """The library rows, or None (and a note for the person) if it cannot be read."""
        error: SourceUnavailable | None = None
        for _attempt in range(2):  # a copy taken while the phone writes can come out torn
            try:
                db = self._wait(self._submit(session.read_whole(PHOTOS_DB)), 300, PHOTOS_DB)
                wal_path = PHOTOS_DB + "-wal"
                wal = self._wait(self._submit(session.read_whole(wal_path)), 300, wal_path)
                if not db:
                    raise LibraryUnreadable("the iPhone has no Photos library database")
                return read_library(db, wal)
            except SourceUnavailable as exc:  # LibraryUnreadable, or a read the phone refused
                error = exc
        self.library_note = (
            f"{error}; backing up the photo folders alone, DCIM and iCloud Photos' "
            "(albums, hidden and favourite flags, edits and Recently Deleted are unknown)"
        )
        logger.warning("%s", self.library_note)
        if self._options.notify is not None:
            self._options.notify(self.library_note)
        return None


async def _start(session: Session, paths: list[str], budget: int) -> Prefetch:
    return session.read_files(paths, budget)
