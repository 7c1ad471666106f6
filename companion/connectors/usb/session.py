"""The USB link's async side: a paired lockdown session and one AFC connection.

Everything here runs on the connector's private loop (``aioloop.py``); the connector
(``connector.py``) waits for it with timeouts. Together with ``translate.py``, the only place that
imports pymobiledevice3.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from companion.connectors.usb import pairing
from companion.connectors.usb.iphone import (
    APP_KEYS,
    ORIGINALS,
    choose_device,
    device_info,
    file_stat,
    safe_name,
)
from companion.connectors.usb.options import UsbOptions
from companion.connectors.usb.photosdb import PhotoRecord
from companion.connectors.usb.roll import FileStat, mutation_folder
from companion.connectors.usb.translate import is_link_failure
from companion.model import DeviceInfo

if TYPE_CHECKING:
    from pymobiledevice3.lockdown import LockdownClient
    from pymobiledevice3.services.afc import AfcService

PHOTOS_DB = "PhotoData/Photos.sqlite"
AFC_CHUNK = 4 * 1024 * 1024  # the largest read AFC serves in one reply
CALL_TIMEOUT = 60.0  # seconds without an answer before the phone counts as gone
PREFETCH = 2  # chunks read ahead of a file opened on its own
READ_AHEAD_BUDGET = 4 * AFC_CHUNK  # bytes read ahead across the files of a backup
STAT_IN_FLIGHT = 64  # stat requests on the wire at once
# No file on a phone is larger than its storage; without an answer, a bound no iPhone reaches.
DEFAULT_CAPACITY = 4 * 1024**4
TRUST_PROMPT = "Unlock your iPhone and tap Trust, then enter its passcode (waiting {secs:.0f} s)."


class Session:
    """A paired lockdown session and one AFC connection. Every method runs on the link's loop."""

    def __init__(
        self, lockdown: LockdownClient, afc: AfcService, capacity: int = DEFAULT_CAPACITY
    ) -> None:
        self.lockdown = lockdown
        self.afc = afc
        self.capacity = capacity  # bytes of storage: no read goes on past it
        self.values: dict[str, Any] = dict(lockdown.all_values)
        self.udid = str(self.values.get("UniqueDeviceID") or lockdown.identifier)

    async def aclose(self) -> None:
        """Close AFC and lockdown; a link that is already gone closes quietly."""
        with contextlib.suppress(Exception):
            await self.afc.aclose()
        with contextlib.suppress(Exception):
            await self.lockdown.close()

    async def listdir(self, path: str) -> list[str]:
        from pymobiledevice3.exceptions import AfcFileNotFoundError

        try:
            return [n for n in await self.afc.listdir(path) if safe_name(n)]
        except AfcFileNotFoundError:
            return []

    async def stat_raw(self, path: str) -> dict[str, str]:
        """The phone's GET_FILE_INFO answer as it came. pymobiledevice3's own ``stat`` turns
        times into ``datetime``s and raises on one no calendar holds (the year 30000); the
        raw answer never does, so one odd file cannot stop a listing. ``_do_operation`` is
        the client's own request path (the release is pinned in pyproject.toml)."""
        from pymobiledevice3.services.afc import AfcOpcode, list_to_dict

        request = path.encode("utf-8") + b"\0"
        answer = await self.afc._do_operation(AfcOpcode.GET_FILE_INFO, request, path)
        return dict(list_to_dict(answer))

    async def describe(self, path: str) -> FileStat | None:
        """Size and date of ``path`` if it is a regular file; None for anything else. A file the
        phone will not describe comes back with its ``problem``; only a lost link raises."""
        from pymobiledevice3.exceptions import AfcException, AfcFileNotFoundError

        try:
            raw = await self.stat_raw(path)
        except AfcFileNotFoundError:
            return _problem(f"the iPhone listed {path} but could not find it when asked")
        except AfcException as exc:
            return _problem(f"the iPhone would not describe {path} (AFC status {exc.status})")
        except Exception as exc:
            if is_link_failure(exc):
                raise
            return _problem(f"the iPhone answered oddly about {path} ({type(exc).__name__})")
        parsed = file_stat(raw, path)
        if isinstance(parsed, str):
            return _problem(parsed)
        kind, size, mtime = parsed
        return FileStat(size, mtime) if kind == "S_IFREG" else None

    async def stat_many(self, paths: list[str]) -> dict[str, FileStat]:
        """Sizes and dates of the regular files among ``paths``, each with its ``problem`` if
        the phone would not describe it.

        A few workers share the list, so ``STAT_IN_FLIGHT`` requests are always on the wire
        (the phone answers them in order) without a task per file. A file's fault stays that
        file's; only a lost link stops the listing (raised as itself, not as a group).
        """
        found: dict[str, FileStat] = {}
        todo = iter(paths)

        async def worker() -> None:
            for path in todo:  # shared: each path is taken by exactly one worker
                described = await self.describe(path)
                if described is not None:
                    found[path] = described

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(STAT_IN_FLIGHT, len(paths))):
                    group.create_task(worker())
        except BaseExceptionGroup as group_error:
            raise group_error.exceptions[0] from None
        return found

    async def list_originals(self) -> dict[str, FileStat]:
        """Every file in the folders where the Photos app keeps originals: the camera's
        (``DCIM/1xxAPPLE``) and iCloud Photos' (``PhotoData/CPLAssets/groupN``, photos taken on
        another device and kept on this one). A folder the phone will not list is reported as
        one unreadable entry, and the others are listed."""
        names: list[str] = []
        refused: dict[str, FileStat] = {}
        for top in ORIGINALS:
            for folder in sorted(await self.listdir(top)):
                path = f"{top}/{folder}"
                names += [f"{path}/{n}" for n in await self._listing(path, refused)]
        return {**await self.stat_many(names), **refused}

    async def list_edits(self, records: dict[str, PhotoRecord]) -> dict[str, FileStat]:
        """Edit renders and recipes of the rows marked as edited."""
        folders = [mutation_folder(r) for r in records.values() if r.adjusted]
        refused: dict[str, FileStat] = {}
        listings = await asyncio.gather(*(self._listing(f, refused) for f in folders))
        names = [f"{f}/{n}" for f, listing in zip(folders, listings, strict=True) for n in listing]
        return {**await self.stat_many(names), **refused}

    async def _listing(self, folder: str, refused: dict[str, FileStat]) -> list[str]:
        """The names in ``folder``; a folder the phone will not list goes into ``refused``
        (one unreadable entry, reported as failed) instead of stopping the listing."""
        from pymobiledevice3.exceptions import AfcException

        try:
            return await self.listdir(folder)
        except AfcException as exc:
            refused[folder] = _problem(
                f"the iPhone would not list the folder {folder} (AFC status {exc.status})"
            )
            return []

    async def read_whole(self, path: str) -> bytearray:
        """A whole file (the library database), or an empty one if it does not exist. Read into
        one growing buffer: the library can weigh hundreds of megabytes."""
        from pymobiledevice3.exceptions import AfcFileNotFoundError

        try:
            handle = await self.afc.fopen(path)
        except AfcFileNotFoundError:
            return bytearray()
        try:
            data = bytearray()
            while chunk := await self.afc.fread(handle, AFC_CHUNK):
                data += chunk
            return data
        finally:
            await self.afc.fclose(handle)

    def read_files(self, paths: list[str], budget: int) -> Prefetch:
        """Start reading ``paths`` in order, ``budget`` bytes ahead at most."""
        return Prefetch(self.afc, paths, budget, self.capacity)

    async def browse_apps(self, kind: str) -> list[dict[str, Any]]:
        from pymobiledevice3.services.installation_proxy import InstallationProxyService

        async with InstallationProxyService(lockdown=self.lockdown) as proxy:
            return list(await proxy.browse({"ApplicationType": kind}, list(APP_KEYS)))


async def open_session(
    udid: str | None, options: UsbOptions, notify: Callable[[str], None] | None = None
) -> Session:
    """Find the phone, pair if needed (telling the person, through ``notify``, to tap Trust),
    open AFC."""
    from pymobiledevice3.exceptions import PairingDialogResponsePendingError
    from pymobiledevice3.lockdown import create_using_usbmux
    from pymobiledevice3.services.afc import AfcService
    from pymobiledevice3.usbmux import list_devices as mux_devices

    address = options.usbmux_address
    listed = await mux_devices(usbmux_address=address)
    serial = choose_device([(d.serial, d.connection_type) for d in listed], udid)
    records = pairing.records_folder(options.pair_records, serial)
    try:  # pair_timeout=0: if the Trust dialog is up, say so before waiting for it
        lockdown = await create_using_usbmux(
            serial=serial,
            autopair=True,
            pair_timeout=0,
            usbmux_address=address,
            pairing_records_cache_folder=records,
        )
    except PairingDialogResponsePendingError:
        if notify is not None:
            notify(TRUST_PROMPT.format(secs=options.trust_timeout))
        lockdown = await create_using_usbmux(
            serial=serial,
            autopair=True,
            pair_timeout=options.trust_timeout,
            usbmux_address=address,
            pairing_records_cache_folder=records,
        )
    finally:  # a record is written before a pairing can still fail
        pairing.keep_private(records)
    afc = AfcService(lockdown)
    try:
        await afc.__aenter__()  # type: ignore[no-untyped-call]
        capacity = await _capacity(afc)
    except BaseException:
        await lockdown.close()
        raise
    return Session(lockdown, afc, capacity)


async def _capacity(afc: AfcService) -> int:
    """The phone's storage in bytes (AFC's device info), or a bound no iPhone reaches."""
    from pymobiledevice3.exceptions import AfcException

    try:
        info = await afc.get_device_info()  # type: ignore[no-untyped-call]
        return max(int(info.get("FSTotalBytes", DEFAULT_CAPACITY)), 1)
    except (AfcException, ValueError, TypeError):
        return DEFAULT_CAPACITY


def _problem(reason: str) -> FileStat:
    return FileStat(0, 0, reason)


async def describe_devices(options: UsbOptions) -> list[DeviceInfo]:
    from pymobiledevice3.exceptions import PasswordRequiredError
    from pymobiledevice3.lockdown import create_using_usbmux
    from pymobiledevice3.usbmux import list_devices as mux_devices

    address = options.usbmux_address
    serials = sorted({d.serial for d in await mux_devices(usbmux_address=address)})
    found = []
    for serial in serials:
        try:  # autopair=False: no record is written, but one may be copied in
            lockdown = await create_using_usbmux(
                serial=serial,
                autopair=False,
                usbmux_address=address,
                pairing_records_cache_folder=pairing.records_folder(options.pair_records, serial),
            )
        except PasswordRequiredError:  # a session was tried, so it trusts us: but it is locked
            found.append(device_info({"UniqueDeviceID": serial}, trusted=True, locked=True))
            continue
        try:
            found.append(device_info(dict(lockdown.all_values), trusted=lockdown.paired))
        finally:
            await lockdown.close()
    return found


@contextlib.contextmanager
def default_usbmux(address: str | None) -> Iterator[None]:
    """Make ``address`` the default usbmuxd while a session opens.

    pymobiledevice3 saves a new pair record through the *default* usbmuxd, whatever address it
    was given (docs/design/usb-protocol-notes.md, pitfall 1); without this, the first pairing
    with a phone behind another address fails after the record was written.
    """
    if not address:
        yield
        return
    before = os.environ.get(_USBMUX_ENV)
    os.environ[_USBMUX_ENV] = address
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(_USBMUX_ENV, None)
        else:
            os.environ[_USBMUX_ENV] = before


_USBMUX_ENV = "USBMUXD_SOCKET_ADDRESS"


class Prefetch:
    """Reads files one after another into per-file queues, at most ``budget`` bytes ahead of
    the consumer, so the link keeps moving while the vault encrypts and syncs.

    ``take(path)`` gives the next chunk of ``path``: bytes, ``b""`` at its real end (whatever
    its listing said, up to ``ceiling`` bytes), or the exception that stopped it. A file the
    phone refuses or answers oddly about ends in its exception and the next file is read; a
    lost link ends everything. ``claim(path)`` drops the files before ``path`` (the consumer
    did not want them after all). Every method runs on the link's loop.
    """

    def __init__(self, afc: AfcService, paths: list[str], budget: int, ceiling: int) -> None:
        self._afc = afc
        self._order = list(paths)
        self._queues: dict[str, asyncio.Queue[bytes | BaseException]] = {
            path: asyncio.Queue() for path in paths
        }
        self._dropped: set[str] = set()
        self._budget = budget
        self._ceiling = ceiling
        self._buffered = 0
        self._room = asyncio.Event()
        self._next = 0  # index of the next file the consumer will ask for
        self.lost_at: str | None = None  # the file being sent when the link dropped
        self.task = asyncio.create_task(self._read_all(self._order))

    async def claim(self, path: str) -> bool:
        """True if ``path`` is among the files still ahead (those before it are dropped)."""
        if path not in self._order[self._next :] or path in self._dropped:
            return False
        index = self._order.index(path, self._next)
        for skipped in self._order[self._next : index]:
            self._drop(skipped)
        self._next = index + 1
        return True

    def drop(self, path: str) -> None:
        """The consumer stopped reading ``path`` early: forget what is left of it."""
        self._drop(path)

    async def take(self, path: str) -> bytes | BaseException:
        item = await self._queues[path].get()
        if isinstance(item, bytes):
            self._release(len(item))
        return item

    def _drop(self, path: str) -> None:
        self._dropped.add(path)
        queue = self._queues[path]
        while not queue.empty():
            item = queue.get_nowait()
            if isinstance(item, bytes):
                self._release(len(item))

    def _release(self, count: int) -> None:
        self._buffered -= count
        self._room.set()

    async def _read_all(self, paths: list[str]) -> None:
        for path in paths:
            if path not in self._dropped and not await self._read(path):
                return

    async def _read(self, path: str) -> bool:
        """Read one file into its queue; False when the link is gone (stop everything)."""
        queue = self._queues[path]
        try:
            handle = await self._afc.fopen(path)
        except Exception as exc:  # this file only, unless the link went with it
            queue.put_nowait(exc)
            return self._goes_on(path, exc)
        try:
            count = 0
            while path not in self._dropped:
                while self._buffered >= self._budget:
                    self._room.clear()
                    await self._room.wait()
                chunk = await self._afc.fread(handle, AFC_CHUNK)
                self._buffered += len(chunk)
                queue.put_nowait(chunk)
                count += len(chunk)
                if not chunk or count > self._ceiling:  # past the ceiling: the consumer stops
                    break
        except Exception as exc:
            queue.put_nowait(exc)
            return self._goes_on(path, exc)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._afc.fclose(handle), 10)
        return True

    def _goes_on(self, path: str, exc: Exception) -> bool:
        """False (stop reading) if ``exc`` lost the link, remembering on which file."""
        if is_link_failure(exc):
            self.lost_at = path
            return False
        return True
