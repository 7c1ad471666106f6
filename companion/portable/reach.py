"""How this computer reaches an iPhone on a cable, and what to do when it cannot, per platform.

A program never talks to the phone's USB link itself: a system service multiplexes it, and
companion (through pymobiledevice3) connects to that service.

- Linux: usbmuxd, a package of its own (Debian and Ubuntu: ``usbmuxd``), on the socket
  ``/var/run/usbmuxd``. Its udev rule starts it when an iPhone is plugged in, so without a
  phone on the cable the socket is often absent although usbmuxd is installed.
- macOS: usbmuxd is part of the system (launchd keeps ``/var/run/usbmuxd`` open); nothing to
  install.
- Windows: Apple's Mobile Device Service, installed with Apple's "Apple Devices" app (Microsoft
  Store) or with iTunes, listens on ``127.0.0.1:27015``; it also brings the USB driver.

``USBMUXD_SOCKET_ADDRESS`` (a socket path, or ``HOST:PORT``) names another one everywhere, such
as a simulated iPhone. The hint for an unreachable service is written here once: the USB
connector's errors and ``companion doctor`` both say it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

ADDRESS_ENV = "USBMUXD_SOCKET_ADDRESS"
SOCKET_PATH = "/var/run/usbmuxd"
WINDOWS_SERVICE = "127.0.0.1:27015"
_LINUX_PROGRAM_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin")


def default_address(platform: str = sys.platform) -> str:
    """Where the system's service listens on ``platform``."""
    return WINDOWS_SERVICE if platform == "win32" else SOCKET_PATH


def address(
    given: str | None = None, environ: Mapping[str, str] | None = None, platform: str = sys.platform
) -> tuple[str, bool]:
    """The address a connection would use (``given``, else ``USBMUXD_SOCKET_ADDRESS``, else the
    platform's) and whether it was named rather than the default."""
    environ = os.environ if environ is None else environ
    named = given or environ.get(ADDRESS_ENV)
    return (named, True) if named else (default_address(platform), False)


def service(platform: str = sys.platform) -> str:
    """What listens there on ``platform``, in a few words."""
    if platform == "darwin":
        return "usbmuxd (built into macOS)"
    if platform == "win32":
        return "Apple Mobile Device Service (from Apple Devices or iTunes)"
    return "usbmuxd"


def unreachable_hint(platform: str = sys.platform) -> str:
    """What to do when the service cannot be reached on ``platform``."""
    return f"{platform_fix(platform)} Or point {ADDRESS_ENV} at a running one."


def platform_fix(platform: str = sys.platform) -> str:
    """How to get (or get back) what reaches iPhones on ``platform``."""
    if platform == "darwin":
        return (
            "usbmuxd is built into macOS: check the cable (one that carries data, not only "
            "charge), unlock the iPhone and tap Trust; if it still fails, restart the Mac."
        )
    if platform == "win32":
        return (
            'Install Apple\'s "Apple Devices" app from the Microsoft Store (or iTunes), which '
            "provides the Apple Mobile Device Service, then plug the iPhone in again."
        )
    if platform.startswith("linux"):
        return (
            "Install and start usbmuxd (Debian and Ubuntu: sudo apt install usbmuxd; Fedora: "
            "sudo dnf install usbmuxd), then plug the iPhone in again."
        )
    return "Install and start usbmuxd, then plug the iPhone in again."


def installed_program(platform: str = sys.platform) -> str | None:
    """Where usbmuxd's program is, on Linux, where it is installed apart and may not be running
    yet (its udev rule starts it with the first iPhone); None elsewhere, or not installed."""
    if not platform.startswith("linux"):
        return None
    # sbin, where it is, is often not in a person's PATH
    return shutil.which("usbmuxd") or shutil.which(
        "usbmuxd", path=os.pathsep.join(_LINUX_PROGRAM_DIRS)
    )


def answers(where: str, timeout: float = 2.0) -> bool:
    """Whether something accepts a connection at ``where`` (a socket path, or ``HOST:PORT`` as
    pymobiledevice3 reads it). Connects and closes; sends nothing."""
    if ":" in where:
        host, _, port = where.rpartition(":")
        if not port.isdigit():
            return False
        try:
            with socket.create_connection((host, int(port)), timeout=timeout):
                return True
        except (OSError, ValueError):
            return False
    return _unix_socket_answers(where, timeout)


def _unix_socket_answers(path: str, timeout: float) -> bool:
    if sys.platform == "win32":
        return False  # no socket paths there: the service is HOST:PORT
    else:  # noqa: RET505 - the else keeps mypy --platform win32 from calling the rest unreachable
        try:
            if not stat.S_ISSOCK(Path(path).stat().st_mode):
                return False
        except OSError:
            return False
        with contextlib.closing(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)) as sock:
            sock.settimeout(timeout)
            try:
                sock.connect(path)
            except OSError:
                return False
            return True
