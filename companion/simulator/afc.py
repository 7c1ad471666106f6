"""AFC (``com.apple.afc``): the simulated iPhone's media folder, /var/mobile/Media.

Every packet has a 40-byte little-endian header: magic ``CFA6LPAA``, entire length (header
included), this length (the header part; replies always say 40), packet number, operation.
Replies echo the request's packet number: the host routes replies by it, and a reply it cannot
route leaves a caller waiting forever. Failures are a STATUS packet holding an AFC error code.

Paths are mapped by ``mediaroot.MediaRoot``, which refuses anything that leaves the media root:
the phone never serves a byte from outside it. File contents stream from disk in slices, never
whole files in memory. ``afc_faults`` bends the answers to the ``Faults`` of the moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import stat
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum

from companion.simulator import afc_faults
from companion.simulator.device import Device
from companion.simulator.mediaroot import ERRNO_TO_AFC, AfcError, MediaRoot, Refused

log = logging.getLogger(__name__)

_MAGIC = b"CFA6LPAA"
_HEADER = struct.Struct("<8sQQQQ")
_MAX_READ = 4 * 1024 * 1024  # the largest READ a phone answers in one packet
_MAX_PACKET = 64 * 1024 * 1024
_SLICE = 256 * 1024


class Op(IntEnum):
    STATUS = 0x01
    DATA = 0x02
    READ_DIR = 0x03
    REMOVE_PATH = 0x08
    MAKE_DIR = 0x09
    GET_FILE_INFO = 0x0A
    GET_DEVINFO = 0x0B
    FILE_OPEN = 0x0D
    FILE_OPEN_RES = 0x0E
    READ = 0x0F
    WRITE = 0x10
    FILE_SEEK = 0x11
    FILE_TELL = 0x12
    FILE_TELL_RES = 0x13
    FILE_CLOSE = 0x14
    FILE_SET_SIZE = 0x15
    RENAME_PATH = 0x18
    FILE_LOCK = 0x1B
    REMOVE_PATH_AND_CONTENTS = 0x22


# fopen modes as AFC numbers them: r, r+, w, w+, a, a+
_OPEN_FLAGS = {
    1: os.O_RDONLY,
    2: os.O_RDWR,
    3: os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
    4: os.O_RDWR | os.O_CREAT | os.O_TRUNC,
    5: os.O_WRONLY | os.O_CREAT | os.O_APPEND,
    6: os.O_RDWR | os.O_CREAT | os.O_APPEND,
}
_U64 = struct.Struct("<Q")
_TWO_U64 = struct.Struct("<QQ")
_SEEK = struct.Struct("<QQq")


def _cstrings(payload: bytes, count: int) -> list[str]:
    parts = payload.split(b"\0")
    if len(parts) < count + 1:
        raise Refused(AfcError.INVALID_ARG)
    try:
        return [part.decode("utf-8") for part in parts[:count]]
    except UnicodeDecodeError:
        raise Refused(AfcError.INVALID_ARG) from None


def _unpack(layout: struct.Struct, payload: bytes) -> tuple[int, ...]:
    if len(payload) < layout.size:
        raise Refused(AfcError.INVALID_ARG)
    return layout.unpack_from(payload)


def _operation(number: int) -> Op | None:
    try:
        return Op(number)
    except ValueError:
        return None


def _pairs(values: dict[str, object]) -> bytes:
    return b"".join(f"{key}\0{value}\0".encode() for key, value in values.items())


@dataclass(frozen=True, slots=True)
class _OpenFile:
    descriptor: int
    relative: str  # media-root-relative, as faults name files


Reply = tuple[Op, bytes]


class AfcSession:
    """One AFC connection: requests answered in arrival order, open files closed at the end."""

    def __init__(
        self, device: Device, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.device = device
        self.reader = reader
        self.writer = writer
        self.media = MediaRoot(device.phone.media_root)
        self.files: dict[int, _OpenFile] = {}
        self.next_handle = 1
        self.plain: dict[Op, Callable[[bytes], Reply]] = {
            Op.READ_DIR: self.read_dir,
            Op.GET_FILE_INFO: self.file_info,
            Op.GET_DEVINFO: self.device_info,
            Op.FILE_OPEN: self.open,
            Op.FILE_CLOSE: self.close,
            Op.FILE_SEEK: self.seek,
            Op.FILE_TELL: self.tell,
            Op.FILE_SET_SIZE: self.set_size,
            Op.WRITE: self.write,
            Op.MAKE_DIR: self.make_dir,
            Op.REMOVE_PATH: self.remove,
            Op.REMOVE_PATH_AND_CONTENTS: lambda payload: self.remove(payload, contents=True),
            Op.RENAME_PATH: self.rename,
            Op.FILE_LOCK: lambda _payload: (Op.STATUS, _U64.pack(0)),
        }
        self.streaming: dict[Op, Callable[[int, bytes], Awaitable[None]]] = {Op.READ: self.read}

    async def run(self) -> None:
        try:
            while (request := await self._next()) is not None:
                number, operation, payload = request
                try:
                    known = _operation(operation)
                    streamed = self.streaming.get(known) if known is not None else None
                    if streamed is not None:
                        await streamed(number, payload)
                        continue
                    handler = self.plain.get(known) if known is not None else None
                    if handler is None:
                        raise Refused(AfcError.OP_NOT_SUPPORTED)
                    reply_op, data = handler(payload)
                except Refused as refusal:
                    reply_op, data = Op.STATUS, _U64.pack(refusal.status)
                except OSError as error:
                    status = ERRNO_TO_AFC.get(error.errno or 0, AfcError.IO_ERROR)
                    reply_op, data = Op.STATUS, _U64.pack(status)
                await self._send(number, reply_op, data)
        finally:
            for entry in self.files.values():
                os.close(entry.descriptor)
            self.files.clear()

    async def _next(self) -> tuple[int, int, bytes] | None:
        try:
            header = await self.reader.readexactly(_HEADER.size)
        except asyncio.IncompleteReadError:
            return None
        magic, entire, _this, number, operation = _HEADER.unpack(header)
        if magic != _MAGIC or not _HEADER.size <= entire <= _MAX_PACKET:
            log.warning("AFC packet with a bad header; closing")
            return None
        return number, operation, await self.reader.readexactly(entire - _HEADER.size)

    def _header(self, number: int, operation: Op, length: int) -> bytes:
        return _HEADER.pack(_MAGIC, _HEADER.size + length, _HEADER.size, number, operation)

    async def _send(self, number: int, operation: Op, data: bytes) -> None:
        self.writer.write(self._header(number, operation, len(data)) + data)
        await self.writer.drain()

    def read_dir(self, payload: bytes) -> Reply:
        real = self.media.real(_cstrings(payload, 1)[0])
        names = sorted(child.name for child in real.iterdir())
        names = afc_faults.listed_names(self.device.faults, self.media.relative(real), names)
        # The host drops the first two names unconditionally: they must be "." and "..".
        return Op.DATA, b"".join(f"{name}\0".encode() for name in [".", "..", *names])

    def file_info(self, payload: bytes) -> Reply:
        entry = self.media.entry(_cstrings(payload, 1)[0])
        relative = self.media.relative(entry)
        afc_faults.refuse_ghost(self.device.faults, relative)
        info = os.lstat(entry)
        kind = (
            "S_IFLNK"
            if stat.S_ISLNK(info.st_mode)
            else "S_IFDIR"
            if stat.S_ISDIR(info.st_mode)
            else "S_IFREG"
        )
        birth = getattr(info, "st_birthtime", None)
        values: dict[str, object] = {
            "st_size": info.st_size,
            "st_blocks": getattr(info, "st_blocks", -(-info.st_size // 512)),  # not on Windows
            "st_nlink": info.st_nlink,
            "st_ifmt": kind,
            "st_mtime": info.st_mtime_ns,
            "st_birthtime": int(birth * 1e9) if birth is not None else info.st_mtime_ns,
            "st_blksize": getattr(info, "st_blksize", 4096),
        }
        if kind == "S_IFLNK":
            values["LinkTarget"] = str(entry.readlink())
        afc_faults.listed_info(self.device.faults, relative, values)
        return Op.DATA, _pairs(values)

    def device_info(self, _payload: bytes) -> Reply:
        usage = shutil.disk_usage(self.media.root)
        values = {
            "Model": self.device.phone.device.get("ProductType", "iPhone"),
            "FSTotalBytes": usage.total,
            "FSFreeBytes": usage.free,
            "FSBlockSize": 4096,
        }
        return Op.DATA, _pairs(values)

    def open(self, payload: bytes) -> Reply:
        (mode,) = _unpack(_U64, payload)
        if mode not in _OPEN_FLAGS:
            raise Refused(AfcError.INVALID_ARG)
        real = self.media.real(_cstrings(payload[_U64.size :], 1)[0])
        afc_faults.refuse_ghost(self.device.faults, self.media.relative(real))
        if real.is_dir():
            raise Refused(AfcError.OBJECT_IS_DIR)
        flags = _OPEN_FLAGS[mode] | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
        descriptor = os.open(real, flags, 0o644)
        handle = self.next_handle
        self.next_handle += 1
        self.files[handle] = _OpenFile(descriptor, self.media.relative(real))
        return Op.FILE_OPEN_RES, _U64.pack(handle)

    def _file(self, handle: int) -> _OpenFile:
        entry = self.files.get(handle)
        if entry is None:
            raise Refused(AfcError.INVALID_ARG)
        return entry

    def close(self, payload: bytes) -> Reply:
        (handle,) = _unpack(_U64, payload)
        os.close(self._file(handle).descriptor)
        del self.files[handle]
        return Op.STATUS, _U64.pack(0)

    def seek(self, payload: bytes) -> Reply:
        handle, whence, offset = _unpack(_SEEK, payload)
        if whence not in (os.SEEK_SET, os.SEEK_CUR, os.SEEK_END):
            raise Refused(AfcError.INVALID_ARG)
        os.lseek(self._file(handle).descriptor, offset, whence)
        return Op.STATUS, _U64.pack(0)

    def tell(self, payload: bytes) -> Reply:
        (handle,) = _unpack(_U64, payload)
        position = os.lseek(self._file(handle).descriptor, 0, os.SEEK_CUR)
        return Op.FILE_TELL_RES, _U64.pack(position)

    def set_size(self, payload: bytes) -> Reply:
        handle, size = _unpack(_TWO_U64, payload)
        os.ftruncate(self._file(handle).descriptor, size)
        return Op.STATUS, _U64.pack(0)

    def write(self, payload: bytes) -> Reply:
        (handle,) = _unpack(_U64, payload)
        view = memoryview(payload)[_U64.size :]
        descriptor = self._file(handle).descriptor
        while view:
            view = view[os.write(descriptor, view) :]
        return Op.STATUS, _U64.pack(0)

    def make_dir(self, payload: bytes) -> Reply:
        self.media.forget()
        self.media.real(_cstrings(payload, 1)[0]).mkdir(parents=True, exist_ok=True)
        return Op.STATUS, _U64.pack(0)

    def remove(self, payload: bytes, *, contents: bool = False) -> Reply:
        entry = self.media.entry(_cstrings(payload, 1)[0])
        if entry == self.media.root:
            raise Refused(AfcError.PERM_DENIED)
        self.media.forget()
        if not entry.is_dir() or entry.is_symlink():
            entry.unlink()
        elif contents:
            shutil.rmtree(entry)
        else:
            entry.rmdir()
        return Op.STATUS, _U64.pack(0)

    def rename(self, payload: bytes) -> Reply:
        source, target = (self.media.entry(path) for path in _cstrings(payload, 2))
        if self.media.root in (source, target):
            raise Refused(AfcError.PERM_DENIED)
        self.media.forget()
        source.rename(target)
        return Op.STATUS, _U64.pack(0)

    async def read(self, number: int, payload: bytes) -> None:
        """READ: stream up to the asked size from the handle's position, honouring the faults."""
        try:
            handle, size = _unpack(_TWO_U64, payload)
            entry = self._file(handle)
            faults = self.device.faults
            if entry.relative in faults.io_error_paths:
                raise Refused(AfcError.IO_ERROR)
            if entry.relative in faults.cloud_only_paths:
                raise Refused(AfcError.READ_ERROR)
            position = os.lseek(entry.descriptor, 0, os.SEEK_CUR)
            remaining = os.fstat(entry.descriptor).st_size - position
            count = max(0, min(size, _MAX_READ, remaining))
            count = afc_faults.read_count(faults, entry.relative, position, count)
        except Refused as refusal:
            await self._send(number, Op.STATUS, _U64.pack(refusal.status))
            return
        drop = afc_faults.link_drop(faults, entry.relative, position, count)
        self.writer.write(self._header(number, Op.DATA, count))
        if drop is None:
            await _stream(self.device, self.writer, entry.descriptor, count)
            return
        await _stream(self.device, self.writer, entry.descriptor, drop)
        # The host holds the header and the bytes up to the offset; then only this link drops.
        self.writer.transport.set_write_buffer_limits(high=0)
        await self.writer.drain()
        self.writer.transport.abort()
        log.info("simulated AFC link drop at byte %d of %s", position + drop, entry.relative)
        raise ConnectionAbortedError("simulated AFC link drop")


async def _stream(
    device: Device, writer: asyncio.StreamWriter, descriptor: int, count: int
) -> None:
    """Send ``count`` file bytes in slices, paced to the link rate, cut where the fault says."""
    loop = asyncio.get_running_loop()
    started, sent = loop.time(), 0
    while sent < count:
        budget = device.afc_budget()
        piece = min(_SLICE, count - sent) if budget is None else min(_SLICE, count - sent, budget)
        chunk = os.read(descriptor, piece)
        if len(chunk) < piece:
            # The file shrank under us; keep the framing the header promised.
            chunk += bytes(piece - len(chunk))
        writer.write(chunk)
        if budget is not None and piece == budget:
            # Make sure the host really holds these bytes before the cable comes out.
            writer.transport.set_write_buffer_limits(high=0)
            await writer.drain()
        else:
            await writer.drain()
        sent += piece
        device.served(piece)
        if not device.plugged:
            raise ConnectionAbortedError("simulated cable pull")
        rate = device.faults.link_rate
        if rate:
            delay = started + sent / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)


async def serve_afc(
    device: Device, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """The AFC service handler (one connection); a host hanging up is not an error."""
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
        await AfcSession(device, reader, writer).run()
