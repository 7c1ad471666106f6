"""``companion doctor``: what this computer has, and lacks, for a backup, with what to do.

Meant as the first command on a new computer, on Linux, macOS or Windows alike: it reaches for
iPhones the way ``companion devices`` does (``list_devices``: nothing paired, nothing changed),
looks at the vault's folder without unlocking it (no passphrase is asked: only where it is, its
disk, whether a cloud client uploads it), and at the optional tools and the scan extra without
loading any model. Each missing piece comes with the hint that fixes it on this platform.

Only reaching iPhones is needed for a backup from one (``Diagnosis.ready``); the rest is said so
that nothing is a surprise later: a FAT32 drive refuses a video over 4 GiB, a vault in a synced
folder is uploaded (encrypted) as it is written.
"""

from __future__ import annotations

import importlib.util
import platform as platform_module
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from companion import __version__
from companion.errors import CompanionError
from companion.model import DeviceInfo
from companion.portable import reach, synced, volume
from companion.sensitivity.base import INSTALL_HINT
from companion.vault import Vault

SCAN_MODULES = ("onnxruntime", "nudenet", "rapidocr", "zxingcpp", "av")
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "firefox")
# What opens a web page in the person's default browser where no browser is found by name; on
# Windows there is always one (os.startfile).
_OPENERS = {"linux": "xdg-open", "darwin": "open"}


@dataclass(frozen=True, slots=True)
class Reach:
    """How iPhones are reached here, and the phones seen."""

    address: str  # where the service is looked for
    named: bool  # given by --usbmux or USBMUXD_SOCKET_ADDRESS, not the platform's default
    service: str  # what listens there on this platform
    answers: bool  # something accepted a connection there
    installed: str | None  # Linux: usbmuxd's program, which starts when a phone is plugged in
    phones: list[DeviceInfo] = field(default_factory=list)
    problem: str | None = None  # why the phones could not be listed
    hint: str = ""

    @property
    def ready(self) -> bool:
        """An iPhone plugged in would be reached."""
        return self.answers or (self.installed is not None and not self.named)


@dataclass(frozen=True, slots=True)
class VaultPlace:
    """The vault's folder, looked at from outside: never unlocked."""

    path: Path
    holds_vault: bool
    disk: volume.Volume
    largest_file: int | None  # bytes: FAT32's limit, None when the disk sets none
    synced_by: str | None  # the cloud client that uploads the folder, if one does
    hints: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Tool:
    """An optional program: what it is for, where it is, how to get it."""

    name: str
    purpose: str
    found: str | None
    hint: str = ""


@dataclass(frozen=True, slots=True)
class ScanExtra:
    installed: list[str]
    missing: list[str]
    hint: str = ""


@dataclass(frozen=True, slots=True)
class Diagnosis:
    python: str
    companion: str
    platform: str  # sys.platform: linux, darwin, win32
    system: str  # the system's own name and release, for a person
    iphones: Reach
    vault: VaultPlace
    tools: list[Tool]
    scan: ScanExtra

    @property
    def ready(self) -> bool:
        """Everything a backup from an iPhone needs is here."""
        return self.iphones.ready


def diagnose(
    vault: Path,
    usbmux: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    platform: str = sys.platform,
) -> Diagnosis:
    """What this computer offers for a backup into ``vault`` (not opened) from an iPhone reached
    at ``usbmux`` (else ``USBMUXD_SOCKET_ADDRESS``, else the platform's service)."""
    return Diagnosis(
        python=platform_module.python_version(),
        companion=__version__,
        platform=platform,
        system=f"{platform_module.system()} {platform_module.release()}".strip(),
        iphones=look_for_iphones(usbmux, environ, platform),
        vault=look_at_vault(vault, platform),
        tools=find_tools(platform),
        scan=scan_extra(),
    )


def look_for_iphones(
    usbmux: str | None, environ: Mapping[str, str] | None = None, platform: str = sys.platform
) -> Reach:
    """Whether the service that reaches iPhones answers, and the phones it sees."""
    where, named = reach.address(usbmux, environ, platform)
    answers = reach.answers(where)
    installed = None if named else reach.installed_program(platform)
    found = Reach(where, named, reach.service(platform), answers, installed)
    if not answers:
        if found.ready:  # installed, waiting for a phone
            return replace(found, hint="Plug the iPhone in with a cable: usbmuxd starts then.")
        return replace(
            found, problem=f"nothing answers at {where}", hint=_unreachable(where, named, platform)
        )
    from companion.connectors.usb import UsbOptions
    from companion.connectors.usb.devices import list_devices

    try:
        phones = list_devices(UsbOptions(usbmux_address=where))
    except CompanionError as exc:
        return replace(found, problem=exc.message, hint=exc.hint)
    if not phones:
        return replace(found, hint="Plug the iPhone in with a cable and unlock it.")
    return replace(found, phones=phones, hint=_phones_hint(phones))


def _unreachable(where: str, named: bool, platform: str) -> str:
    if named:
        return (
            f"Start what should listen at {where} ('companion simulator serve' prints such an "
            f"address), or leave out --usbmux and {reach.ADDRESS_ENV} to use this computer's "
            f"own: {reach.platform_fix(platform)}"
        )
    return reach.unreachable_hint(platform)


def _phones_hint(phones: list[DeviceInfo]) -> str:
    if any(phone.trusted is not True for phone in phones):
        return "Unlock the iPhone: 'companion backup' asks you to tap Trust on it."
    if any(phone.locked for phone in phones):
        return "Unlock the iPhone to back it up."
    return ""


def look_at_vault(path: Path, platform: str = sys.platform) -> VaultPlace:
    """The vault's folder (which need not exist yet): its disk and who uploads it."""
    path = path.expanduser()
    holds = Vault.exists(path)
    disk = volume.describe(path, platform)
    limit = volume.largest_file(disk.filesystem)
    client = synced.sync_client(path)
    hints = vault_hints(holds, disk, limit, client)
    return VaultPlace(path, holds, disk, limit, client, hints)


def vault_hints(
    holds_vault: bool, disk: volume.Volume, largest_file: int | None, synced_by: str | None
) -> list[str]:
    """What a person should know about where the vault is, one hint each."""
    hints = []
    if not holds_vault:
        hints.append("No vault there yet: create it with 'companion vault init'.")
    if largest_file is not None:
        hints.append(fat_hint(disk.filesystem or "FAT"))
    if disk.free is not None and disk.free < _LOW_SPACE:
        hints.append("Little space is left on that disk: a backup needs as much as the photos.")
    if synced_by is not None:
        hints.append(
            f"{synced_by} uploads this folder: it gets the vault's files, encrypted. Never "
            "restore or share into a synced folder: those copies are not encrypted."
        )
    return hints


_LOW_SPACE = 1_000_000_000  # bytes


def fat_hint(filesystem: str) -> str:
    """What a FAT32 (``vfat``, ``msdos``) vault disk means for a backup."""
    return (
        f"{filesystem} holds no file over 4 GB and a backup writes each photo or video as one "
        "file: a longer video cannot be stored there. Format the drive exFAT (every system "
        "reads it) for a vault."
    )


def find_tools(platform: str = sys.platform) -> list[Tool]:
    """The optional programs companion or its documents use, found on PATH or not."""
    tools = [
        Tool(name, purpose, shutil.which(name), "" if shutil.which(name) else hint)
        for name, purpose, hint in _tool_rows(platform)
    ]
    return [*tools, _browser(platform)]


def _tool_rows(platform: str) -> list[tuple[str, str, str]]:
    install = _INSTALL.get(platform if platform in _INSTALL else "linux", _INSTALL["linux"])
    return [
        ("age", "opens the vault without companion, as RESTORE.txt says", install["age"]),
        ("exiftool", "shows what a shared copy still carries", install["exiftool"]),
        ("mat2", "a second opinion on shared copies", install["mat2"]),
        ("ffmpeg", "mat2 needs it for videos", install["ffmpeg"]),
    ]


_INSTALL: dict[str, dict[str, str]] = {
    "linux": {
        "age": "sudo apt install age (or https://age-encryption.org)",
        "exiftool": "sudo apt install libimage-exiftool-perl",
        "mat2": "sudo apt install mat2",
        "ffmpeg": "sudo apt install ffmpeg",
    },
    "darwin": {
        "age": "brew install age (or https://age-encryption.org)",
        "exiftool": "brew install exiftool",
        "mat2": "not packaged for macOS; nothing in companion needs it",
        "ffmpeg": "brew install ffmpeg",
    },
    "win32": {
        "age": "winget install --id FiloSottile.age (or https://age-encryption.org)",
        "exiftool": "winget install --id OliverBetz.ExifTool",
        "mat2": "not packaged for Windows; nothing in companion needs it",
        "ffmpeg": "winget install --id Gyan.FFmpeg",
    },
}


def _browser(platform: str) -> Tool:
    purpose = "shows cleanup's review page"
    for name in BROWSERS:
        if found := shutil.which(name):
            return Tool("browser", purpose, found)
    if platform == "win32":
        return Tool("browser", purpose, "the default browser")
    opener = _OPENERS.get(platform, "xdg-open")
    if found := shutil.which(opener):
        return Tool("browser", purpose, found)
    return Tool(
        "browser",
        purpose,
        None,
        "Install a browser (sudo apt install chromium) or use 'companion cleanup --no-open' "
        "and open the address it prints, or '--no-browser' to review in the terminal.",
    )


def scan_extra() -> ScanExtra:
    """Which of the scan extra's modules can be imported (found, not imported: no model is
    loaded, no library started)."""
    installed = [name for name in SCAN_MODULES if _importable(name)]
    missing = [name for name in SCAN_MODULES if name not in installed]
    return ScanExtra(installed, missing, INSTALL_HINT if missing else "")


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
