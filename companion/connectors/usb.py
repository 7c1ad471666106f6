"""``usb:`` sources: an iPhone on a cable, through usbmuxd, lockdown and AFC (pymobiledevice3).

The only module that imports pymobiledevice3 (lazily: ``companion --help`` never loads it). The
library is asyncio; each connector runs it on a private ``Loop`` and waits with timeouts, and
translates its exceptions into ours at this edge, with a hint a person can follow.

``usb`` picks the only connected iPhone; ``usb:UDID`` a given one. The usbmuxd address comes from
``ConnectOptions.usbmux_address``, else ``USBMUXD_SOCKET_ADDRESS``, else the system's, so the same
code talks to a real usbmuxd or to the simulated iPhone.

What is read, and how (``connectors.roll`` decides what each file becomes):
- the ``DCIM/`` folders, one directory read each, and every file's size and date with ``stat``
  requests sent many at a time on one AFC connection (answered in order, so the round trips
  overlap instead of adding up);
- ``PhotoData/Photos.sqlite`` and its ``-wal``, into memory only (``connectors.photosdb``), read
  again once if the copy came out torn; without it DCIM alone, and the person is told;
- the edit renders under ``PhotoData/Mutations/`` of the rows the library marks as edited.
Nothing is ever written or deleted on the phone: deleting DCIM files behind the Photos library's
back leaves broken photos in the Photos app, so this connector has no remover.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
from collections.abc import Coroutine, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from companion.connectors.aioloop import Loop
from companion.connectors.base import ConnectOptions
from companion.connectors.devicenames import marketing_name
from companion.connectors.photosdb import LibraryUnreadable, PhotoRecord, read_library
from companion.connectors.prefetch import CheckedStream
from companion.connectors.roll import FileStat, Roll, assemble, mutation_folder
from companion.errors import (
    CloudOnly,
    CompanionError,
    DeviceDisconnected,
    DeviceError,
    DeviceLocked,
    DeviceNotFound,
    SourceChanged,
    SourceUnavailable,
    TrustDenied,
    TrustTimeout,
)
from companion.model import AppInfo, Asset, DeviceInfo

if TYPE_CHECKING:
    from pymobiledevice3.lockdown import LockdownClient
    from pymobiledevice3.services.afc import AfcService

logger = logging.getLogger(__name__)
T = TypeVar("T")

PHOTOS_DB = "PhotoData/Photos.sqlite"
AFC_CHUNK = 4 * 1024 * 1024  # the largest read AFC serves in one reply
CALL_TIMEOUT = 60.0  # seconds without an answer before the phone counts as gone
_PREFETCH = 2  # chunks read ahead: reading overlaps hashing and encryption, memory stays small
_STAT_BATCH = 256  # stat requests in flight at once
TRUST_PROMPT = "Unlock your iPhone and tap Trust, then enter its passcode (waiting {secs:.0f} s)."
_APP_KEYS = [
    "CFBundleIdentifier",
    "CFBundleDisplayName",
    "CFBundleName",
    "CFBundleShortVersionString",
    "ApplicationType",
    "NSPhotoLibraryUsageDescription",
    "NSPhotoLibraryAddUsageDescription",
    "NSCameraUsageDescription",
    "NSLocationWhenInUseUsageDescription",
    "PHPhotoLibraryPreventAutomaticLimitedAccessAlert",
]


def open_usb(rest: str, options: ConnectOptions) -> UsbConnector:
    """The registry's factory: ``usb`` or ``usb:UDID``."""
    return UsbConnector(rest.strip() or None, options)


class UsbConnector:
    """An iPhone over USB. Satisfies ``Connector`` and ``AppLister``; ``close()`` when done.

    The link opens on first use, pairing if needed (``options.notify`` then receives "Unlock your
    iPhone and tap Trust"). Errors: ``DeviceNotFound``, ``DeviceLocked``, ``TrustDenied``,
    ``TrustTimeout`` when the link cannot open; ``DeviceDisconnected`` when it drops, which stops
    the run; ``CloudOnly``, ``SourceUnavailable`` or ``SourceChanged`` for one file.
    """

    def __init__(self, udid: str | None = None, options: ConnectOptions | None = None) -> None:
        self._wanted = udid
        self._options = options or ConnectOptions()
        self._loop: Loop | None = None
        self._session: _Session | None = None
        self._cloud_only: frozenset[str] = frozenset()
        self.library_note: str | None = None  # why Photos.sqlite was not used, if it was not

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT) -> T:
        if self._loop is None:
            coro.close()
            raise DeviceDisconnected("the link to the iPhone is closed")
        try:
            return self._loop.run(coro, timeout)
        except CompanionError:
            raise
        except TimeoutError as exc:
            raise DeviceDisconnected(f"the iPhone stopped answering for {timeout:.0f} s") from exc
        except Exception as exc:
            raise _translate(exc, self._wanted, self._options.trust_timeout) from exc

    def _connected(self) -> _Session:
        if self._session is None:
            self._loop = self._loop or Loop("companion-usb")
            with _default_usbmux(self._options.usbmux_address):
                self._session = self._run(
                    _open_session(self._wanted, self._options),
                    self._options.trust_timeout + CALL_TIMEOUT,
                )
        return self._session

    def close(self) -> None:
        """Close the link and stop its thread. Safe to call twice."""
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
        return _device_info(self._connected().values, trusted=True)

    def list_assets(self) -> Iterator[Asset]:
        yield from self.roll().assets

    def roll(self) -> Roll:
        """Everything on the camera roll, and which of it is only in iCloud."""
        session = self._connected()
        files = self._run(session.list_dcim(), CALL_TIMEOUT * 10)
        records = self._library(session)
        if records:
            files.update(self._run(session.list_edits(records), CALL_TIMEOUT * 10))
        roll = assemble(self.source, files, records, include_trashed=self._options.include_trashed)
        self._cloud_only = roll.cloud_only
        return roll

    def open(self, asset: Asset) -> BinaryIO:
        _check_path(asset.path)
        if asset.path in self._cloud_only:
            raise CloudOnly(
                f"{asset.path} is only in iCloud, not on the iPhone (Optimize iPhone Storage)"
            )
        session, loop = self._connected(), self._loop
        queue, task = self._run(session.start_reading(asset.path, asset.size))

        def next_chunk() -> bytes:
            item = self._run(queue.get())
            if isinstance(item, BaseException):
                raise _translate(item, self._wanted, path=asset.path) from item
            return item

        def stop() -> None:
            if loop is not None and not task.done():
                loop.cancel(task)

        stream = CheckedStream(next_chunk, asset.size, asset.path, stop)
        return io.BufferedReader(stream, AFC_CHUNK)

    def list_apps(self, *, include_system: bool = False) -> list[AppInfo]:
        session = self._connected()
        raw = self._run(session.browse_apps("Any" if include_system else "User"))
        apps = (_app_info(entry) for entry in raw)
        return sorted((a for a in apps if a is not None), key=lambda a: a.bundle_id)

    def _library(self, session: _Session) -> dict[str, PhotoRecord] | None:
        """The library rows, or None (and a note for the person) if it cannot be read."""
        error: SourceUnavailable | None = None
        for _attempt in range(2):  # a copy taken while the phone writes can come out torn
            try:
                db = self._run(session.read_small(PHOTOS_DB), CALL_TIMEOUT * 5)
                wal = self._run(session.read_small(PHOTOS_DB + "-wal"), CALL_TIMEOUT * 5)
                if not db:
                    raise LibraryUnreadable("the iPhone has no Photos library database")
                return read_library(db, wal)
            except SourceUnavailable as exc:  # LibraryUnreadable, or a read the phone refused
                error = exc
        self.library_note = (
            f"{error}; backing up the DCIM folders alone (albums, hidden and favourite flags, "
            "edits and Recently Deleted are unknown)"
        )
        logger.warning("%s", self.library_note)
        if self._options.notify is not None:
            self._options.notify(self.library_note)
        return None


class _Session:
    """A paired lockdown session and one AFC connection. Every method runs on the link's loop."""

    def __init__(self, lockdown: LockdownClient, afc: AfcService) -> None:
        self.lockdown = lockdown
        self.afc = afc
        self.values: dict[str, Any] = dict(lockdown.all_values)
        self.udid = str(self.values.get("UniqueDeviceID") or lockdown.identifier)

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self.afc.aclose()
        await self.lockdown.close()

    async def listdir(self, path: str) -> list[str]:
        from pymobiledevice3.exceptions import AfcFileNotFoundError

        try:
            return [n for n in await self.afc.listdir(path) if _safe_name(n)]
        except AfcFileNotFoundError:
            return []

    async def stat_many(self, paths: list[str]) -> dict[str, FileStat]:
        """Sizes and dates of regular files among ``paths`` (vanished ones are left out)."""
        from pymobiledevice3.exceptions import AfcFileNotFoundError

        found: dict[str, FileStat] = {}
        for start in range(0, len(paths), _STAT_BATCH):
            batch = paths[start : start + _STAT_BATCH]
            stats = await asyncio.gather(*(self.afc.stat(p) for p in batch), return_exceptions=True)
            for path, st in zip(batch, stats, strict=True):
                if isinstance(st, AfcFileNotFoundError):
                    continue
                if isinstance(st, BaseException):
                    raise st
                if st.get("st_ifmt") == "S_IFREG":
                    found[path] = FileStat(int(st["st_size"]), _mtime_ns(st["st_mtime"]))
        return found

    async def list_dcim(self) -> dict[str, FileStat]:
        names = []
        for folder in sorted(await self.listdir("DCIM")):
            names += [f"DCIM/{folder}/{n}" for n in await self.listdir(f"DCIM/{folder}")]
        return await self.stat_many(names)

    async def list_edits(self, records: dict[str, PhotoRecord]) -> dict[str, FileStat]:
        """Edit renders and recipes of the rows marked as edited."""
        folders = [mutation_folder(r) for r in records.values() if r.adjusted]
        listings = await asyncio.gather(*(self.listdir(f) for f in folders))
        names = [f"{f}/{n}" for f, listing in zip(folders, listings, strict=True) for n in listing]
        return await self.stat_many(names)

    async def read_small(self, path: str) -> bytes:
        """A whole file (the library database), or b"" if it does not exist."""
        from pymobiledevice3.exceptions import AfcFileNotFoundError

        try:
            handle = await self.afc.fopen(path)
        except AfcFileNotFoundError:
            return b""
        try:
            parts = []
            while chunk := await self.afc.fread(handle, AFC_CHUNK):
                parts.append(chunk)
            return b"".join(parts)
        finally:
            await self.afc.fclose(handle)

    async def start_reading(
        self, path: str, size: int
    ) -> tuple[asyncio.Queue[bytes | BaseException], asyncio.Task[None]]:
        queue: asyncio.Queue[bytes | BaseException] = asyncio.Queue(_PREFETCH)
        return queue, asyncio.create_task(self._produce(path, size, queue))

    async def _produce(self, path: str, size: int, queue: asyncio.Queue[Any]) -> None:
        """Read ``path`` chunk by chunk into ``queue``, ending with b"" or an exception."""
        try:
            handle = await self.afc.fopen(path)
        except Exception as exc:  # handed to the reader, who translates it
            await queue.put(exc)
            return
        try:
            count = 0
            while count <= size:  # one read past the end proves the file did not grow
                chunk = await self.afc.fread(handle, AFC_CHUNK)
                await queue.put(chunk)
                if not chunk:
                    return
                count += len(chunk)
        except Exception as exc:
            await queue.put(exc)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.afc.fclose(handle), 10)

    async def browse_apps(self, kind: str) -> list[dict[str, Any]]:
        from pymobiledevice3.services.installation_proxy import InstallationProxyService

        async with InstallationProxyService(lockdown=self.lockdown) as proxy:
            return list(await proxy.browse({"ApplicationType": kind}, list(_APP_KEYS)))


async def _open_session(udid: str | None, options: ConnectOptions) -> _Session:
    """Find the phone, pair if needed (telling the person to tap Trust), open AFC."""
    from pymobiledevice3.exceptions import PairingDialogResponsePendingError
    from pymobiledevice3.lockdown import create_using_usbmux
    from pymobiledevice3.services.afc import AfcService
    from pymobiledevice3.usbmux import select_device

    address = options.usbmux_address
    device = await select_device(udid, usbmux_address=address)
    if device is None:
        from pymobiledevice3.exceptions import DeviceNotFoundError, NoDeviceConnectedError

        raise DeviceNotFoundError(udid) if udid else NoDeviceConnectedError()
    records = options.pair_records
    try:  # pair_timeout=0: if the Trust dialog is up, say so before waiting for it
        lockdown = await create_using_usbmux(
            serial=device.serial,
            autopair=True,
            pair_timeout=0,
            usbmux_address=address,
            pairing_records_cache_folder=records,
        )
    except PairingDialogResponsePendingError:
        if options.notify is not None:
            options.notify(TRUST_PROMPT.format(secs=options.trust_timeout))
        lockdown = await create_using_usbmux(
            serial=device.serial,
            autopair=True,
            pair_timeout=options.trust_timeout,
            usbmux_address=address,
            pairing_records_cache_folder=records,
        )
    afc = AfcService(lockdown)
    try:
        await afc.__aenter__()  # type: ignore[no-untyped-call]
    except BaseException:
        await lockdown.close()
        raise
    return _Session(lockdown, afc)


def list_devices(options: ConnectOptions | None = None) -> list[DeviceInfo]:
    """The iPhones usbmuxd sees, with what each tells before (or after) it trusts us.

    Never pairs: an untrusted phone shows ``trusted=False`` and only what it tells anyone; a
    trusted phone that is locked shows ``locked=True``.
    """
    options = options or ConnectOptions()
    loop = Loop("companion-usb-devices")
    try:
        return loop.run(_describe_devices(options), CALL_TIMEOUT)
    except TimeoutError as exc:
        raise DeviceDisconnected("usbmuxd or an iPhone stopped answering") from exc
    except CompanionError:
        raise
    except Exception as exc:
        raise _translate(exc, None) from exc
    finally:
        loop.close()


async def _describe_devices(options: ConnectOptions) -> list[DeviceInfo]:
    from pymobiledevice3.exceptions import PasswordRequiredError
    from pymobiledevice3.lockdown import create_using_usbmux
    from pymobiledevice3.usbmux import list_devices as mux_devices

    address = options.usbmux_address
    serials = sorted({d.serial for d in await mux_devices(usbmux_address=address)})
    found = []
    for serial in serials:
        try:
            lockdown = await create_using_usbmux(
                serial=serial,
                autopair=False,
                usbmux_address=address,
                pairing_records_cache_folder=options.pair_records,
            )
        except PasswordRequiredError:
            found.append(DeviceInfo(f"usb:{serial}", "iPhone", identifier=serial, locked=True))
            continue
        try:
            found.append(_device_info(dict(lockdown.all_values), trusted=lockdown.paired))
        finally:
            await lockdown.close()
    return found


@contextlib.contextmanager
def _default_usbmux(address: str | None) -> Iterator[None]:
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


def _device_info(values: dict[str, Any], *, trusted: bool) -> DeviceInfo:
    udid = str(values.get("UniqueDeviceID", ""))
    product_type = _text(values.get("ProductType"))
    return DeviceInfo(
        source=f"usb:{udid}",
        name=_text(values.get("DeviceName")) or "iPhone",
        model=marketing_name(product_type),
        os_version=_text(values.get("ProductVersion")),
        identifier=udid,
        product_type=product_type,
        trusted=trusted,
        locked=False,
    )


def _app_info(entry: dict[str, Any]) -> AppInfo | None:
    bundle_id = _text(entry.get("CFBundleIdentifier"))
    if bundle_id is None:
        return None
    return AppInfo(
        bundle_id=bundle_id,
        name=_text(entry.get("CFBundleDisplayName"))
        or _text(entry.get("CFBundleName"))
        or bundle_id,
        version=_text(entry.get("CFBundleShortVersionString")),
        system=entry.get("ApplicationType") == "System",
        photo_usage=_text(entry.get("NSPhotoLibraryUsageDescription")),
        photo_add_usage=_text(entry.get("NSPhotoLibraryAddUsageDescription")),
        camera_usage=_text(entry.get("NSCameraUsageDescription")),
        location_usage=_text(entry.get("NSLocationWhenInUseUsageDescription")),
        prevents_limited_prompt=entry.get("PHPhotoLibraryPreventAutomaticLimitedAccessAlert")
        is True,
    )


def _safe_name(name: str) -> bool:
    """A listed name we handle: not hidden, no separator. Odd characters are kept (restore makes
    them safe); only a name that could reach another folder is refused."""
    if not name or name.startswith("."):  # ".", "..", and hidden system files
        return False
    if "/" in name or "\\" in name or "\0" in name:
        logger.warning("skipped a file the iPhone listed with an unusable name: %r", name)
        return False
    return True


_READABLE_TOPS = ("DCIM/", "PhotoData/Mutations/", "PhotoData/Photos.sqlite")


def _check_path(path: str) -> None:
    """Refuse to ask the phone for anything but a camera-roll path we could have listed."""
    parts = path.split("/")
    if not path.startswith(_READABLE_TOPS) or any(p in ("", ".", "..") for p in parts):
        raise SourceUnavailable(
            f"refusing to read {path!r}: not a camera-roll file",
            hint="Only files under DCIM/ and PhotoData/Mutations/ are read from an iPhone.",
        )


def _mtime_ns(value: object) -> int:
    """The phone's modification time in nanoseconds. pymobiledevice3 turns the phone's
    nanoseconds into a naive local ``datetime`` (microsecond precision); turning it back is
    exact to the microsecond and stable from run to run, which is what skipping needs."""
    if isinstance(value, datetime):
        return round(value.timestamp() * 1_000_000) * 1000
    if isinstance(value, int | float | str):
        return int(value)
    raise TypeError(f"unexpected modification time {value!r}")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


_USBMUXD_HINT = (
    "Install and start usbmuxd (Debian and Ubuntu: sudo apt install usbmuxd), or point "
    "USBMUXD_SOCKET_ADDRESS at a running one."
)


def _translate(
    exc: BaseException, udid: str | None, trust_timeout: float = 0, path: str | None = None
) -> CompanionError:
    """Our error for one of pymobiledevice3's (or a socket's), with what to do about it."""
    from pymobiledevice3 import exceptions as pm

    if isinstance(exc, CompanionError):
        return exc
    if isinstance(exc, pm.ConnectionFailedToUsbmuxdError):
        return DeviceNotFound("cannot reach usbmuxd (it talks to iPhones over USB)", _USBMUXD_HINT)
    if isinstance(exc, pm.DeviceNotFoundError):
        return DeviceNotFound(f"no iPhone with UDID {udid} is connected")
    if isinstance(exc, pm.NoDeviceConnectedError):
        return DeviceNotFound("no iPhone is connected")
    if isinstance(exc, pm.PasswordRequiredError | pm.PasscodeRequiredError):
        return DeviceLocked("the iPhone is locked")
    if isinstance(exc, pm.UserDeniedPairingError):
        return TrustDenied("the iPhone does not trust this computer (Don't Trust was tapped)")
    if isinstance(exc, pm.PairingDialogResponsePendingError):
        return TrustTimeout(f"nobody tapped Trust on the iPhone within {trust_timeout:.0f} s")
    if isinstance(exc, pm.AfcFileNotFoundError) and path:
        return SourceChanged(f"{path} is no longer on the iPhone")
    if isinstance(exc, pm.AfcException) and path:
        return SourceUnavailable(
            f"the iPhone could not read {path} (AFC status {exc.status})",
            hint="It is retried on the next run; if it keeps failing, open it in the Photos app.",
        )
    if isinstance(exc, pm.ConnectionTerminatedError | pm.MuxException | OSError | EOFError):
        return DeviceDisconnected("the iPhone was disconnected")
    if isinstance(exc, pm.PairingError | pm.NotPairedError | pm.FatalPairingError):
        return DeviceError(
            f"pairing with the iPhone failed ({type(exc).__name__})",
            hint="Unplug the iPhone, reconnect it, unlock it and tap Trust.",
        )
    return DeviceError(f"the iPhone answered unexpectedly: {type(exc).__name__}: {exc}")
