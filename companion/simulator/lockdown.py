"""lockdownd of the simulated iPhone (device port 62078).

Messages are a u32 big-endian length then a plist; every reply echoes ``Request``. Before a
session the phone tells any host a public subset of its values (enough to pair: versions, class,
identifiers, WiFiAddress, DevicePublicKey); a host that paired (remembered by HostID) can
StartSession, after which the same socket turns into TLS with the phone as server, presenting the
DeviceCertificate that host made at Pair. Then the full values and StartService are available.

Errors use the keys clients map: PasswordProtected, PairingDialogResponsePending,
UserDeniedPairing, InvalidHostID, InvalidService, SessionInactive, MissingValue, ...
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import plistlib
import shutil
import ssl
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from companion.simulator.device import Device
from companion.simulator.keys import certificate_matches_key, server_ssl_context

log = logging.getLogger(__name__)

_LENGTH = struct.Struct(">I")
_MAX_MESSAGE = 32 << 20

# What an iPhone tells a host it has never paired with (observed on iOS 15-17, trimmed).
_PRE_SESSION_KEYS = frozenset(
    {
        "ActivationState",
        "BasebandStatus",
        "BuildVersion",
        "CPUArchitecture",
        "ChipID",
        "DeviceClass",
        "DeviceColor",
        "DeviceName",
        "DevicePublicKey",
        "HardwareModel",
        "HardwarePlatform",
        "HostAttached",
        "PasswordProtected",
        "ProductName",
        "ProductType",
        "ProductVersion",
        "ProtocolVersion",
        "TelephonyCapability",
        "UniqueChipID",
        "UniqueDeviceID",
        "WiFiAddress",
    }
)
_DEFAULT_VALUES: dict[str, Any] = {
    "ActivationState": "Activated",
    "CPUArchitecture": "arm64e",
    "DeviceClass": "iPhone",
    "HostAttached": True,
    "ProductName": "iPhone OS",
    "ProtocolVersion": "2",
    "TelephonyCapability": True,
    "TimeZone": "UTC",
}
_DOMAIN_PREFIX = "com.apple."


async def read_plist(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """One length-prefixed plist; None when the peer hung up between messages."""
    try:
        (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    except asyncio.IncompleteReadError:
        return None
    if length > _MAX_MESSAGE:
        raise ValueError(f"plist message of {length} bytes")
    message = plistlib.loads(await reader.readexactly(length))
    if not isinstance(message, dict):
        raise ValueError("plist message is not a dictionary")
    return message


async def write_plist(writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
    """One length-prefixed XML plist, as Apple's services send them."""
    payload = plistlib.dumps(message)
    writer.write(_LENGTH.pack(len(payload)) + payload)
    await writer.drain()


@dataclass
class _Connection:
    """One lockdown connection: which host opened a session on it, if any."""

    device: Device
    host_id: str | None = None
    session_id: str | None = None

    @property
    def in_session(self) -> bool:
        return self.session_id is not None


async def serve_lockdown(
    device: Device, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Answer lockdown requests until the host hangs up or says Goodbye."""
    connection = _Connection(device)
    with contextlib.suppress(
        asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, ValueError
    ):
        while (request := await read_plist(reader)) is not None:
            name = str(request.get("Request", ""))
            if name == "StartSession":
                if not await _start_session(connection, request, writer):
                    return
                continue
            handler = _HANDLERS.get(name, _unknown)
            await write_plist(writer, {"Request": name, **handler(connection, request)})
            if name == "Goodbye":
                return


def _error(error: str) -> dict[str, Any]:
    return {"Error": error}


def device_values(device: Device) -> dict[str, Any]:
    """Every default-domain value: project defaults, then the phone's own, then live ones."""
    values = dict(_DEFAULT_VALUES)
    values.update(
        (key, value)
        for key, value in device.phone.device.items()
        if not key.startswith(_DOMAIN_PREFIX)
    )
    values["DevicePublicKey"] = device.trust.device_key.public_pem
    values["PasswordProtected"] = device.faults.locked
    return values


def _domain_values(device: Device, domain: str) -> dict[str, Any] | None:
    given = device.phone.device.get(domain)
    if isinstance(given, dict):
        return dict(given)
    if domain == "com.apple.disk_usage":
        usage = shutil.disk_usage(device.phone.media_root)
        return {
            "TotalDiskCapacity": usage.total,
            "TotalDataCapacity": usage.total,
            "TotalDataAvailable": usage.free,
        }
    return None


def _get_value(connection: _Connection, request: dict[str, Any]) -> dict[str, Any]:
    device = connection.device
    domain, key = request.get("Domain"), request.get("Key")
    if domain:
        values = _domain_values(device, str(domain))
        if values is None or not connection.in_session:
            return _error("MissingValue" if connection.in_session else "GetProhibited")
    else:
        values = device_values(device)
        if not connection.in_session:
            values = {k: v for k, v in values.items() if k in _PRE_SESSION_KEYS}
    if key is None:
        return {"Domain": domain, "Value": values} if domain else {"Value": values}
    if key not in values:
        return _error("MissingValue")
    reply: dict[str, Any] = {"Key": key, "Value": values[key]}
    if domain:
        reply["Domain"] = domain
    return reply


def _pair(connection: _Connection, request: dict[str, Any]) -> dict[str, Any]:
    device = connection.device
    record = request.get("PairRecord")
    if device.faults.locked:
        return _error("PasswordProtected")
    if not isinstance(record, dict) or not isinstance(record.get("HostID"), str):
        return _error("InvalidPairRecord")
    certificate = record.get("DeviceCertificate")
    if not isinstance(certificate, bytes) or not certificate_matches_key(
        certificate, device.trust.device_key
    ):
        return _error("InvalidPairRecord")
    host_id = record["HostID"]
    if host_id not in device.trust.hosts:
        verdict = _trust_dialog(device)
        if verdict is not None:
            return _error(verdict)
    device.trust.trust(host_id, record)
    log.info("simulated iPhone now trusts host %s", host_id)
    return {"EscrowBag": os.urandom(64)}


def _trust_dialog(device: Device) -> str | None:
    """The person's answer to "Trust This Computer?": None when they tapped Trust."""
    mode = device.faults.trust
    if mode == "deny":
        return "UserDeniedPairing"
    if mode == "pending":
        if not device.trust_tapped:
            return "PairingDialogResponsePending"
        device.trust_tapped = False
    return None


def _validate_pair(connection: _Connection, request: dict[str, Any]) -> dict[str, Any]:
    record = request.get("PairRecord")
    host_id = record.get("HostID") if isinstance(record, dict) else None
    return {} if host_id in connection.device.trust.hosts else _error("InvalidHostID")


def _unpair(connection: _Connection, request: dict[str, Any]) -> dict[str, Any]:
    record = request.get("PairRecord")
    host_id = record.get("HostID") if isinstance(record, dict) else request.get("HostID")
    if not isinstance(host_id, str) or not connection.device.trust.forget(host_id):
        return _error("InvalidHostID")
    return {}


async def _start_session(
    connection: _Connection, request: dict[str, Any], writer: asyncio.StreamWriter
) -> bool:
    """StartSession; on success the socket turns into TLS. False when the connection is lost."""
    device = connection.device
    host_id = request.get("HostID")
    host = device.trust.hosts.get(host_id) if isinstance(host_id, str) else None
    if device.faults.locked:
        reply = _error("PasswordProtected")
    elif host is None:
        reply = _error("InvalidHostID")
    elif connection.in_session:
        reply = _error("SessionActive")
    else:
        connection.host_id, connection.session_id = str(host_id), str(uuid.uuid4()).upper()
        reply = {"SessionID": connection.session_id, "EnableSessionSSL": True}
    await write_plist(writer, {"Request": "StartSession", **reply})
    if "Error" in reply or host is None:
        return True
    # The host sends its ClientHello right after reading the reply, and sent nothing after the
    # request, so the stream buffer is empty here and TLS starts at the right byte.
    context = server_ssl_context(host["DeviceCertificate"], device.trust.device_key)
    try:
        await writer.start_tls(context)
    except (ssl.SSLError, ConnectionError, OSError) as error:
        log.info("session TLS handshake failed: %s", error)
        return False
    return True


def _stop_session(connection: _Connection, request: dict[str, Any]) -> dict[str, Any]:
    if not connection.in_session or request.get("SessionID") != connection.session_id:
        return _error("InvalidSessionID" if connection.in_session else "SessionInactive")
    connection.session_id = None
    return {"Result": "Success"}


def _start_service(connection: _Connection, request: dict[str, Any]) -> dict[str, Any]:
    device = connection.device
    name = request.get("Service")
    if not connection.in_session:
        return _error("SessionInactive")
    if device.faults.locked:
        return _error("PasswordProtected")
    if not isinstance(name, str) or name not in device.services:
        return _error("InvalidService")
    # AFC and installation_proxy run in the clear on real phones too (EnableServiceSSL false).
    return {"Service": name, "Port": device.open_port(name), "EnableServiceSSL": False}


def _query_type(_connection: _Connection, _request: dict[str, Any]) -> dict[str, Any]:
    return {"Type": "com.apple.mobile.lockdown"}


def _goodbye(_connection: _Connection, _request: dict[str, Any]) -> dict[str, Any]:
    return {"Result": "Success"}


def _set_value(_connection: _Connection, _request: dict[str, Any]) -> dict[str, Any]:
    return _error("SetProhibited")


def _unknown(_connection: _Connection, _request: dict[str, Any]) -> dict[str, Any]:
    return _error("InvalidRequest")


_HANDLERS: dict[str, Callable[[_Connection, dict[str, Any]], dict[str, Any]]] = {
    "QueryType": _query_type,
    "GetValue": _get_value,
    "SetValue": _set_value,
    "RemoveValue": _set_value,
    "Pair": _pair,
    "ValidatePair": _validate_pair,
    "Unpair": _unpair,
    "StopSession": _stop_session,
    "StartService": _start_service,
    "Goodbye": _goodbye,
}
