"""usbmuxd as the simulated iPhone's host side: plist protocol version 1.

Every packet starts with a 16-byte little-endian header ``length, version, message, tag`` (the
length counts the header). Plist requests (version 1, message 8) carry a ``MessageType``; replies
echo the request's tag, and notifications after Listen use tag 0. ``Connect`` names a device port
in network byte order; after its ``Result 0`` the same socket becomes a raw pipe to that port, so
the service handler takes over the stream exactly where the Result ended.

Result numbers are usbmuxd's: 0 ok, 1 bad command, 2 bad device (also "no such pair record",
ENOENT), 3 connection refused, 6 bad version, 22 invalid argument. The old binary protocol
(version 0) is answered with a binary Result "bad command", as usbmuxd does for binary messages it
does not handle, and the connection stays usable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import plistlib
import struct
from typing import Any

from companion.simulator.device import LOCKDOWN_PORT, Device, ServiceHandler

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<IIII")
_PLIST_VERSION = 1
_BINARY_VERSION = 0
_MESSAGE_RESULT = 1
_MESSAGE_PLIST = 8
_MAX_PACKET = 1 << 20

RESULT_OK = 0
RESULT_BADCOMMAND = 1
RESULT_BADDEV = 2
RESULT_CONNREFUSED = 3
RESULT_BADVERSION = 6
RESULT_EINVAL = 22
_NO_SUCH_RECORD = 2  # usbmuxd answers a missing pair record with ENOENT


def pack_plist(message: dict[str, Any], tag: int) -> bytes:
    """One plist packet (version 1, message 8) in usbmuxd's framing."""
    payload = plistlib.dumps(message)
    return _HEADER.pack(_HEADER.size + len(payload), _PLIST_VERSION, _MESSAGE_PLIST, tag) + payload


def _result(number: int) -> dict[str, Any]:
    return {"MessageType": "Result", "Number": number}


def _port_from_network_order(value: int) -> int:
    """Connect's PortNumber is htons(port) read as a host integer: swap the two bytes back."""
    return ((value & 0xFF) << 8) | ((value >> 8) & 0xFF)


async def serve_usbmux(
    device: Device,
    lockdown: ServiceHandler,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    """Answer one client connection until it closes, listens, or becomes a device pipe."""
    device.usbmux_connections += 1
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
        while True:
            header = await reader.readexactly(_HEADER.size)
            length, version, message, tag = _HEADER.unpack(header)
            if not _HEADER.size <= length <= _MAX_PACKET:
                log.warning("usbmux packet of %d bytes refused", length)
                return
            payload = await reader.readexactly(length - _HEADER.size)
            if version == _BINARY_VERSION:
                writer.write(_binary_result(tag, RESULT_BADCOMMAND))
                await writer.drain()
                continue
            if version != _PLIST_VERSION or message != _MESSAGE_PLIST:
                await _send(writer, _result(RESULT_BADVERSION), tag)
                return
            try:
                request = plistlib.loads(payload)
            except (plistlib.InvalidFileException, ValueError):
                await _send(writer, _result(RESULT_BADCOMMAND), tag)
                continue
            if not isinstance(request, dict):
                await _send(writer, _result(RESULT_BADCOMMAND), tag)
                continue
            if not await _dispatch(device, lockdown, request, tag, reader, writer):
                return


def _binary_result(tag: int, number: int) -> bytes:
    return _HEADER.pack(_HEADER.size + 4, _BINARY_VERSION, _MESSAGE_RESULT, tag) + struct.pack(
        "<I", number
    )


async def _send(writer: asyncio.StreamWriter, message: dict[str, Any], tag: int) -> None:
    writer.write(pack_plist(message, tag))
    await writer.drain()


async def _dispatch(
    device: Device,
    lockdown: ServiceHandler,
    request: dict[str, Any],
    tag: int,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> bool:
    """Answer one request; False when the connection is finished with usbmux framing."""
    kind = request.get("MessageType")
    if kind == "Connect":
        # A refused Connect leaves the connection usable, as with usbmuxd.
        return not await _connect(device, lockdown, request, tag, reader, writer)
    if kind == "Listen":
        await _listen(device, tag, reader, writer)
        return False
    await _send(writer, _answer(device, kind, request), tag)
    return True


def _answer(device: Device, kind: object, request: dict[str, Any]) -> dict[str, Any]:
    """Replies to the one-shot requests (everything but Connect and Listen)."""
    records = device.trust.pair_records
    if kind == "ListDevices":
        return {"DeviceList": [device.attached_message()] if device.plugged else []}
    if kind == "ReadBUID":
        return {"BUID": device.trust.buid}
    if kind == "ReadPairRecord":
        record = records.get(str(request.get("PairRecordID")))
        return _result(_NO_SUCH_RECORD) if record is None else {"PairRecordData": record}
    if kind == "SavePairRecord":
        data = request.get("PairRecordData")
        identifier = request.get("PairRecordID")
        if not isinstance(data, bytes) or not isinstance(identifier, str):
            return _result(RESULT_EINVAL)
        records[identifier] = data
        device.trust.save()
        if device.plugged:
            device.notify({"MessageType": "Paired", "DeviceID": device.device_id})
        return _result(RESULT_OK)
    if kind == "DeletePairRecord":
        found = records.pop(str(request.get("PairRecordID")), None) is not None
        device.trust.save()
        return _result(RESULT_OK if found else _NO_SUCH_RECORD)
    log.info("usbmux request %r not understood", kind)
    return _result(RESULT_BADCOMMAND)


async def _connect(
    device: Device,
    lockdown: ServiceHandler,
    request: dict[str, Any],
    tag: int,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> bool:
    """Connect: refuse, or hand the socket to the service behind the port (True) until it ends."""
    if not device.plugged or request.get("DeviceID") != device.device_id:
        await _send(writer, _result(RESULT_BADDEV), tag)
        return False
    port = _port_from_network_order(int(request.get("PortNumber", 0)))
    handler: ServiceHandler | None = lockdown
    if port != LOCKDOWN_PORT:
        service = device.take_port(port)
        handler = None if service is None else device.services.get(service)
    if handler is None:
        await _send(writer, _result(RESULT_CONNREFUSED), tag)
        return False
    await _send(writer, _result(RESULT_OK), tag)
    device.connected(writer)
    try:
        await handler(device, reader, writer)
    finally:
        device.disconnected(writer)
    return True


async def _listen(
    device: Device, tag: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Listen: Result, the devices already attached, then every change until the client leaves."""
    queue = device.subscribe()
    try:
        await _send(writer, _result(RESULT_OK), tag)
        if device.plugged:
            await _send(writer, device.attached_message(), 0)
        # The client says nothing more; reading only tells us when it hangs up.
        hangup = asyncio.ensure_future(reader.read(1))
        try:
            while True:
                change = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({change, hangup}, return_when=asyncio.FIRST_COMPLETED)
                if change not in done:
                    change.cancel()
                    return
                await _send(writer, change.result(), 0)
        finally:
            hangup.cancel()
    finally:
        device.unsubscribe(queue)
