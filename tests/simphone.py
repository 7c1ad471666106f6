"""A tiny phone for protocol tests of the simulated iPhone: a few files, a device, three apps."""

from __future__ import annotations

import plistlib
import socket
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any

UDID = "00008110-000A1B2C3D4E5F60"
BIG = 5 * 1024 * 1024 + 7  # over the 4 MiB AFC read limit, so reads are split

DEVICE: dict[str, object] = {
    "UniqueDeviceID": UDID,
    "SerialNumber": "F4GXK1ABCD12",
    "DeviceName": "Test iPhone",
    "ProductType": "iPhone14,5",
    "ProductVersion": "17.5.1",
    "BuildVersion": "21F90",
    "HardwareModel": "D17AP",
    "DeviceClass": "iPhone",
    "UniqueChipID": 2911231547338798,
    "WiFiAddress": "a4:c3:37:12:34:56",
    "TimeZone": "Europe/Paris",
}

APPS: list[dict[str, object]] = [
    {
        "CFBundleIdentifier": "com.example.chat",
        "CFBundleDisplayName": "Chat",
        "ApplicationType": "User",
        "NSPhotoLibraryUsageDescription": "Send photos to your friends.",
    },
    {
        "CFBundleIdentifier": "com.example.maps",
        "CFBundleDisplayName": "Maps Plus",
        "ApplicationType": "User",
        "NSLocationWhenInUseUsageDescription": "Show where you are.",
    },
    {
        "CFBundleIdentifier": "com.apple.mobileslideshow",
        "CFBundleDisplayName": "Photos",
        "ApplicationType": "System",
    },
]


@dataclass(frozen=True)
class TinyPhone:
    media_root: Path
    device: Mapping[str, object] = field(default_factory=lambda: dict(DEVICE))
    apps: Sequence[Mapping[str, object]] = field(default_factory=lambda: list(APPS))


def tiny_phone(root: Path, *, seed: int = 7) -> TinyPhone:
    """A media root with DCIM/100APPLE (a small JPG, a HEIC, a big MOV) and an empty folder."""
    rng = Random(seed)
    folder = root / "Media" / "DCIM" / "100APPLE"
    folder.mkdir(parents=True)
    (folder / "IMG_0001.JPG").write_bytes(b"\xff\xd8\xff" + rng.randbytes(3000))
    (folder / "IMG_0002.HEIC").write_bytes(rng.randbytes(10_000))
    (folder / "IMG_0003.MOV").write_bytes(rng.randbytes(BIG))
    (root / "Media" / "PhotoData").mkdir()
    return TinyPhone(root / "Media")


def _connect(address: str, timeout: float) -> socket.socket:
    if ":" in address:
        host, _, port = address.rpartition(":")
        return socket.create_connection((host, int(port)), timeout=timeout)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(address)
    return sock


class RawMux:
    """A bare usbmuxd client speaking the plist framing, for what the library does not expose."""

    def __init__(self, address: str, timeout: float = 5.0) -> None:
        self.sock = _connect(address, timeout)
        self.tag = 0

    def send(self, message: dict[str, Any], version: int = 1, kind: int = 8) -> int:
        self.tag += 1
        payload = plistlib.dumps(message)
        self.sock.sendall(struct.pack("<4I", 16 + len(payload), version, kind, self.tag) + payload)
        return self.tag

    def receive(self) -> tuple[int, Any]:
        """(tag, plist or raw payload) of the next packet."""
        length, version, _kind, tag = struct.unpack("<4I", self._exactly(16))
        payload = self._exactly(length - 16)
        return tag, plistlib.loads(payload) if version == 1 else payload

    def _exactly(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("usbmuxd closed the connection")
            data += chunk
        return data

    def close(self) -> None:
        self.sock.close()
