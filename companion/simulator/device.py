"""What the simulated iPhone is and remembers: identity, trust, cable, faults.

``Device`` is the phone's state as its services see it. It lives on the simulator's event loop:
only coroutines and callbacks running there touch it (the ``Simulator`` hops onto the loop for
``unplug``/``plug``/``tap_trust``). ``Faults`` is the exception: a plain mutable dataclass that a
test flips from any thread, read afresh by the services on every request.

``TrustStore`` is the phone's memory of hosts that paired (by HostID, with the certificates they
brought) plus usbmuxd's pair records, optionally kept in ``state_dir`` as a small plist.
"""

from __future__ import annotations

import asyncio
import logging
import os
import plistlib
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from companion.simulator.keys import DeviceKey, generate_device_key, load_device_key

log = logging.getLogger(__name__)

LOCKDOWN_PORT = 62078
# Ports lockdownd hands out for services come from the dynamic range, as on a real phone.
_FIRST_SERVICE_PORT = 49152
_STATE_FILE = "simulated-iphone-state.plist"


class PhoneContent(Protocol):
    """What the simulator needs from a sample phone (``SamplePhone`` or any look-alike)."""

    @property
    def media_root(self) -> Path: ...
    @property
    def device(self) -> Mapping[str, object]: ...
    @property
    def apps(self) -> Sequence[Mapping[str, object]]: ...


@dataclass
class Faults:
    """Misbehaviours a test switches on, from any thread, while the phone runs.

    - ``locked``: passcode-locked; Pair, StartSession and StartService answer PasswordProtected.
    - ``trust``: what the Trust dialog does for a host that never paired: "accept" (tapped at
      once), "pending" (PairingDialogResponsePending until ``Simulator.tap_trust()``) or "deny"
      (UserDeniedPairing).
    - ``cut_after_bytes``: the cable is pulled once this many AFC file-content bytes have been
      served since the last plug: every connection of the device drops and it detaches until
      ``Simulator.plug()``. One-shot: it resets to None when it fires.
    - ``io_error_paths`` / ``cloud_only_paths``: media-root-relative paths whose AFC READ fails
      with IO_ERROR (20) / READ_ERROR (4, an "Optimize iPhone Storage" placeholder).
    - ``link_rate``: bytes per second AFC READ replies are paced to (USB 2 gives about 32e6).

    Listing faults, keyed by media-root-relative path like ``io_error_paths``:

    - ``listed_sizes``: GET_FILE_INFO reports this ``st_size`` (any int: -1, 2**50, the real
      size plus or minus some bytes); READ still serves the real file and ends where it ends.
    - ``listed_mtimes``: GET_FILE_INFO reports this ``st_mtime`` and ``st_birthtime``, in
      nanoseconds, sent as the decimal string whatever it is (beyond int64, or before 1970).
    - ``ghost_paths``: names READ_DIR of their folder lists (sorted in with the real names)
      although nothing is there; GET_FILE_INFO and FILE_OPEN of them answer OBJECT_NOT_FOUND (8).

    Read faults:

    - ``io_error_at``: path -> byte offset. READs are served until the handle reaches the
      offset (a READ that would cross it stops short, at the offset); any READ from the offset
      on answers IO_ERROR (20). Every open of the file behaves so.
    - ``drop_link_at``: path -> byte offset. The READ reply that crosses the offset sends its
      DATA header for the full count and the file bytes up to the offset, then the phone aborts
      that one AFC connection; the device stays plugged and a new connection works at once.
    - ``drop_link_times``: how many more times ``drop_link_at`` may fire (None: every time);
      each firing takes one off, and at 0 it fires no more.
    """

    locked: bool = False
    trust: str = "accept"
    cut_after_bytes: int | None = None
    io_error_paths: frozenset[str] = frozenset()
    cloud_only_paths: frozenset[str] = frozenset()
    link_rate: float | None = None
    listed_sizes: dict[str, int] = field(default_factory=dict)
    listed_mtimes: dict[str, int] = field(default_factory=dict)
    ghost_paths: frozenset[str] = frozenset()
    io_error_at: dict[str, int] = field(default_factory=dict)
    drop_link_at: dict[str, int] = field(default_factory=dict)
    drop_link_times: int | None = None


@dataclass(frozen=True, slots=True)
class Stats:
    """Counters since start: AFC file bytes sent, usbmux connections, connections to services."""

    afc_bytes_served: int
    usbmux_connections: int
    device_connections: int


class TrustStore:
    """Hosts the phone trusts and usbmuxd's pair records; persisted when given a folder."""

    def __init__(self, state_dir: Path | None) -> None:
        self._path = state_dir / _STATE_FILE if state_dir is not None else None
        saved = self._load()
        key_pem = saved.get("DevicePrivateKey")
        self.device_key: DeviceKey = (
            load_device_key(key_pem) if isinstance(key_pem, bytes) else generate_device_key()
        )
        self.buid: str = str(saved.get("BUID") or str(uuid.uuid4()).upper())
        self.hosts: dict[str, dict[str, Any]] = dict(saved.get("TrustedHosts", {}))
        self.pair_records: dict[str, bytes] = dict(saved.get("PairRecords", {}))
        if self._path is not None and not saved:
            self.save()

    def _load(self) -> dict[str, Any]:
        if self._path is None or not self._path.exists():
            return {}
        with self._path.open("rb") as stream:
            loaded = plistlib.load(stream)
        return loaded if isinstance(loaded, dict) else {}

    def trust(self, host_id: str, record: Mapping[str, Any]) -> None:
        """Remember a host that paired, with the certificates its PairRecord carried."""
        kept = ("DeviceCertificate", "HostCertificate", "RootCertificate", "SystemBUID")
        self.hosts[host_id] = {name: record[name] for name in kept if name in record}
        self.save()

    def forget(self, host_id: str) -> bool:
        """Drop a host (Unpair, or "Reset Location & Privacy"); whether it was known."""
        known = self.hosts.pop(host_id, None) is not None
        self.save()
        return known

    def save(self) -> None:
        """Write the state plist atomically; it holds the device private key, hence 0600."""
        if self._path is None:
            return
        state = {
            "DevicePrivateKey": self.device_key.private_pem,
            "BUID": self.buid,
            "TrustedHosts": self.hosts,
            "PairRecords": self.pair_records,
        }
        self._path.parent.mkdir(parents=True, exist_ok=True)
        partial = self._path.with_suffix(".partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as stream:
            plistlib.dump(state, stream, fmt=plistlib.FMT_BINARY)
        partial.replace(self._path)


ServiceHandler = Callable[["Device", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass(eq=False)
class Device:
    """The phone as its services see it, on the simulator's event loop."""

    phone: PhoneContent
    faults: Faults
    trust: TrustStore
    services: Mapping[str, ServiceHandler] = field(default_factory=dict)
    plugged: bool = True
    device_id: int = 1
    trust_tapped: bool = False
    afc_bytes_served: int = 0
    usbmux_connections: int = 0
    device_connections: int = 0
    _bytes_since_plug: int = 0
    _next_port: int = _FIRST_SERVICE_PORT
    _ports: dict[int, str] = field(default_factory=dict)
    _open: set[asyncio.StreamWriter] = field(default_factory=set)
    _listeners: set[asyncio.Queue[dict[str, Any]]] = field(default_factory=set)

    @property
    def udid(self) -> str:
        return str(self.phone.device["UniqueDeviceID"])

    def attached_message(self) -> dict[str, Any]:
        """usbmuxd's description of the phone, as ListDevices and Listen give it."""
        properties = {
            "ConnectionSpeed": 480000000,
            "ConnectionType": "USB",
            "DeviceID": self.device_id,
            "LocationID": 0x14100000,
            "ProductID": 0x12A8,
            "SerialNumber": self.udid,
            "USBSerialNumber": self.udid.replace("-", ""),
        }
        return {"MessageType": "Attached", "DeviceID": self.device_id, "Properties": properties}

    def open_port(self, service: str) -> int:
        """A fresh port for one connection to ``service`` (lockdownd's StartService)."""
        port = self._next_port
        self._next_port = _FIRST_SERVICE_PORT + (port + 1 - _FIRST_SERVICE_PORT) % 16000
        self._ports[port] = service
        return port

    def take_port(self, port: int) -> str | None:
        """The service waiting on ``port``; a port serves one connection, then closes."""
        return self._ports.pop(port, None)

    def connected(self, writer: asyncio.StreamWriter) -> None:
        self.device_connections += 1
        self._open.add(writer)

    def disconnected(self, writer: asyncio.StreamWriter) -> None:
        self._open.discard(writer)

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._listeners.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._listeners.discard(queue)

    def afc_budget(self) -> int | None:
        """File bytes AFC may still send before the cable is pulled (None: no limit)."""
        limit = self.faults.cut_after_bytes
        return None if limit is None else max(0, limit - self._bytes_since_plug)

    def served(self, count: int) -> None:
        """Count AFC file bytes sent; pull the cable when the fault's budget is spent."""
        self.afc_bytes_served += count
        self._bytes_since_plug += count
        budget = self.afc_budget()
        if budget == 0:
            log.info("simulated cable pull after %d bytes", self._bytes_since_plug)
            self.faults.cut_after_bytes = None
            self.unplug()

    def unplug(self) -> None:
        """The cable comes out: every device connection drops, listeners hear Detached."""
        if not self.plugged:
            return
        self.plugged = False
        self._ports.clear()
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()
        self.notify({"MessageType": "Detached", "DeviceID": self.device_id})

    def plug(self) -> None:
        """The cable goes back in: a new usbmux DeviceID, as usbmuxd gives on re-attach."""
        if self.plugged:
            return
        self.plugged = True
        self.device_id += 1
        self._bytes_since_plug = 0
        self.notify(self.attached_message())

    def notify(self, message: dict[str, Any]) -> None:
        for queue in self._listeners:
            queue.put_nowait(message)

    def stats(self) -> Stats:
        return Stats(self.afc_bytes_served, self.usbmux_connections, self.device_connections)
