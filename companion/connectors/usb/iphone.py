"""Facts about an iPhone that need no connection: names, paths, app and device records.

Pure functions of the USB connector (``connector.py``, the only code that talks to the
phone): which phone to use among those connected, which names from a listing are safe,
which paths may be read, and how lockdown values and Info.plist keys become our records.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from typing import Any

from companion.errors import DeviceNotFound, SourceUnavailable, UsageError
from companion.model import AppInfo, DeviceInfo

logger = logging.getLogger(__name__)

# Info.plist keys asked of installation_proxy for each app.
APP_KEYS = (
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
)
# Where the Photos app keeps originals: the camera's folders, and iCloud Photos' (photos taken on
# another device, kept on this one; the library's ZDIRECTORY names them the same way).
ORIGINALS = ("DCIM", "PhotoData/CPLAssets")
READABLE_TOPS = (
    "DCIM/",
    "PhotoData/CPLAssets/",
    "PhotoData/Mutations/",
    "PhotoData/Photos.sqlite",
)

# Apple's model identifiers and the names people know them by (unknown ones are shown as is).
_NAMES: dict[str, str] = {
    "iPhone10,1": "iPhone 8", "iPhone10,4": "iPhone 8",
    "iPhone10,2": "iPhone 8 Plus", "iPhone10,5": "iPhone 8 Plus",
    "iPhone10,3": "iPhone X", "iPhone10,6": "iPhone X",
    "iPhone11,2": "iPhone XS", "iPhone11,4": "iPhone XS Max", "iPhone11,6": "iPhone XS Max",
    "iPhone11,8": "iPhone XR",
    "iPhone12,1": "iPhone 11", "iPhone12,3": "iPhone 11 Pro", "iPhone12,5": "iPhone 11 Pro Max",
    "iPhone12,8": "iPhone SE (2nd generation)",
    "iPhone13,1": "iPhone 12 mini", "iPhone13,2": "iPhone 12",
    "iPhone13,3": "iPhone 12 Pro", "iPhone13,4": "iPhone 12 Pro Max",
    "iPhone14,4": "iPhone 13 mini", "iPhone14,5": "iPhone 13",
    "iPhone14,2": "iPhone 13 Pro", "iPhone14,3": "iPhone 13 Pro Max",
    "iPhone14,6": "iPhone SE (3rd generation)",
    "iPhone14,7": "iPhone 14", "iPhone14,8": "iPhone 14 Plus",
    "iPhone15,2": "iPhone 14 Pro", "iPhone15,3": "iPhone 14 Pro Max",
    "iPhone15,4": "iPhone 15", "iPhone15,5": "iPhone 15 Plus",
    "iPhone16,1": "iPhone 15 Pro", "iPhone16,2": "iPhone 15 Pro Max",
    "iPhone17,3": "iPhone 16", "iPhone17,4": "iPhone 16 Plus",
    "iPhone17,1": "iPhone 16 Pro", "iPhone17,2": "iPhone 16 Pro Max", "iPhone17,5": "iPhone 16e",
    "iPhone18,3": "iPhone 17", "iPhone18,1": "iPhone 17 Pro", "iPhone18,2": "iPhone 17 Pro Max",
    "iPhone18,4": "iPhone Air",
}  # fmt: skip


def marketing_name(product_type: str | None) -> str | None:
    """ "iPhone15,2" -> "iPhone 14 Pro"; an unknown identifier comes back unchanged."""
    if product_type is None:
        return None
    return _NAMES.get(product_type, product_type)


def choose_device(devices: list[tuple[str, str]], wanted: str | None) -> str:
    """The serial to use among usbmuxd's ``(serial, connection type)`` entries.

    With a UDID, the matching phone (dashes do not matter); without one, the only phone. A phone
    seen over both USB and Wi-Fi counts once. Several phones and no UDID is a usage error: a
    backup must never guess which phone it is copying.
    """
    serials = sorted({serial for serial, _kind in devices})
    if wanted is not None:
        matches = [s for s in serials if s.replace("-", "") == wanted.replace("-", "")]
        if matches:
            return matches[0]
        seen = ", ".join(serials) or "none"
        raise DeviceNotFound(
            f"no iPhone with UDID {wanted} is connected (connected: {seen})",
            hint="Check the UDID with 'companion devices'; connect and unlock the iPhone.",
        )
    if not serials:
        raise DeviceNotFound("no iPhone is connected")
    if len(serials) > 1:
        raise UsageError(
            f"{len(serials)} iPhones are connected",
            hint=f"Choose one with --from usb:UDID, one of: {', '.join(serials)}.",
        )
    return serials[0]


def device_info(values: dict[str, Any], *, trusted: bool, locked: bool = False) -> DeviceInfo:
    """A phone from its lockdown values. ``PasswordProtected`` (told to any computer, trusted or
    not) says whether it is passcode-locked right now; ``locked`` is what a refused session
    showed (a phone that trusts this computer but is locked opens none)."""
    udid = str(values.get("UniqueDeviceID", ""))
    said = values.get("PasswordProtected")
    product_type = _text(values.get("ProductType"))
    return DeviceInfo(
        source=f"usb:{udid}",
        name=_text(values.get("DeviceName")) or "iPhone",
        model=marketing_name(product_type),
        os_version=_text(values.get("ProductVersion")),
        identifier=udid,
        product_type=product_type,
        trusted=trusted,
        locked=locked or (said if isinstance(said, bool) else None),
    )


def app_info(entry: dict[str, Any]) -> AppInfo | None:
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


def safe_name(name: str) -> bool:
    """A listed name we handle: not hidden, no separator. Odd characters are kept (restore makes
    them safe); only a name that could reach another folder is refused."""
    if not name or name.startswith("."):  # ".", "..", and hidden system files
        return False
    if "/" in name or "\\" in name or "\0" in name:
        logger.warning("skipped a file the iPhone listed with an unusable name: %r", name)
        return False
    return True


def check_usbmux_address(address: str | None) -> None:
    """Refuse an address the USB library would choke on: it reads ``HOST:PORT`` (one colon, a
    number after it; no IPv6 literal) as TCP and anything else as a unix socket path. None
    stands for ``USBMUXD_SOCKET_ADDRESS``, which the library reads by itself."""
    if address is None:
        address = os.environ.get("USBMUXD_SOCKET_ADDRESS")
    if address is None or ":" not in address:
        return
    host, _, port = address.rpartition(":")
    if ":" in host or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(
            f"usbmuxd address {address!r} is neither HOST:PORT nor a socket path",
            hint="Give --usbmux (or USBMUXD_SOCKET_ADDRESS) a socket path, or e.g. "
            "127.0.0.1:27015 (IPv6 addresses are not supported).",
        )


def check_path(path: str) -> None:
    """Refuse to ask the phone for anything but a camera-roll path we could have listed."""
    parts = path.split("/")
    if not path.startswith(READABLE_TOPS) or any(p in ("", ".", "..") for p in parts):
        raise SourceUnavailable(
            f"refusing to read {path!r}: not a camera-roll file",
            hint="Only the Photos app's originals, edits and library are read from an iPhone.",
        )


_INT64 = (1 << 63) - 1


def mtime_ns(raw: object) -> int:
    """The phone's modification time (nanoseconds, as the phone sends it) as a stamp that is
    stable from run to run, which is all that skipping an unchanged file needs.

    A sane time gives the value earlier versions computed (through a naive local ``datetime``,
    exact to the microsecond), so their vaults keep skipping unchanged files. A time no calendar
    holds (the year 30000, before 1970 where the platform refuses it) is kept as the raw number,
    clamped to what the vault's index stores; text that is no number is 0. Never raises.
    """
    try:
        value = int(str(raw).strip())
    except ValueError:
        logger.warning("the iPhone gave a modification time that is no number: %r", raw)
        return 0
    try:
        local = datetime.fromtimestamp(value / 10**9)  # as earlier versions computed it
        return round(local.timestamp() * 1_000_000) * 1000
    except (OverflowError, ValueError, OSError):
        logger.debug("keeping an out-of-range modification time as is: %d", value)
        return max(-_INT64, min(_INT64, value))


def file_stat(raw: dict[str, str], path: str) -> tuple[str, int, int] | str:
    """The kind, size and modification stamp of a raw ``GET_FILE_INFO`` answer, or why it
    cannot be used. The size is kept as the phone gave it (even -1 or a petabyte: the read finds
    the real end); only an answer without a size at all is refused."""
    kind = raw.get("st_ifmt", "")
    try:
        size = int(raw["st_size"])
    except (KeyError, ValueError):
        return f"the iPhone described {path} without a usable size ({raw.get('st_size')!r})"
    return kind, size, mtime_ns(raw.get("st_mtime", "0"))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
