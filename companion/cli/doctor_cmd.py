"""``companion doctor``: one screen of what this computer has for a backup, and what it lacks."""

from __future__ import annotations

import typer

from companion.cli.common import (
    EXIT_STATUS,
    JsonOpt,
    UsbmuxOpt,
    VaultOpt,
    emit_json,
    human_bytes,
    printable,
    vault_path,
)
from companion.cli.devices_cmd import device_line
from companion.errors import DeviceNotFound
from companion.usecases.doctor import Diagnosis, Reach, Tool, VaultPlace, diagnose

_INDENT = " " * 14


def register(app: typer.Typer) -> None:
    app.command("doctor", epilog=EXIT_STATUS)(doctor)


def doctor(vault: VaultOpt = None, usbmux: UsbmuxOpt = None, as_json: JsonOpt = False) -> None:
    """Check this computer for a backup: Python and companion, how iPhones are reached here
    (usbmuxd on Linux and macOS, Apple's Mobile Device Service on Windows) and the phones seen,
    where the vault is (its disk, free space, FAT32's 4 GB limit, a cloud client syncing it),
    the optional tools and the scan extra. Each missing piece comes with what to do.

    The vault is never unlocked: no passphrase is asked. Exits 10 when no iPhone can be reached
    from here, 0 otherwise.
    """
    found = diagnose(vault_path(vault), usbmux)
    if as_json:
        emit_json({**_plain(found), "ready": found.ready})
    else:
        _show(found)
    if not found.ready:
        raise DeviceNotFound(
            f"no way to reach an iPhone here ({found.iphones.service})", found.iphones.hint
        )


def _plain(found: Diagnosis) -> dict[str, object]:
    from dataclasses import asdict

    plain = asdict(found)
    plain["iphones"]["ready"] = found.iphones.ready
    return plain


def _show(found: Diagnosis) -> None:
    typer.echo(
        f"companion {found.companion}, Python {found.python}, {found.system} ({found.platform})"
    )
    _iphone_lines(found.iphones)
    _vault_lines(found.vault)
    for tool in found.tools:
        _tool_line(tool)
    scan = found.scan
    if scan.missing:
        _line("scan", f"not installed (missing {', '.join(scan.missing)})", scan.hint)
    else:
        _line("scan", "installed (onnxruntime, nudenet, rapidocr, zxingcpp, av)")
    if found.ready:
        typer.echo("Ready for a backup from an iPhone.")


def _iphone_lines(iphones: Reach) -> None:
    where = f"{iphones.service} at {iphones.address}"
    if iphones.named:
        where += " (given by --usbmux or USBMUXD_SOCKET_ADDRESS)"
    if iphones.answers:
        state = f"reached through {where}"
    elif iphones.ready:
        state = f"{iphones.service} installed ({iphones.installed}); not running yet"
    else:
        state = f"nothing answers: {where}"
    _line("iPhones", state, "" if iphones.phones else iphones.hint)
    if iphones.problem and iphones.answers:
        typer.echo(f"{_INDENT}{iphones.problem}")
    for phone in iphones.phones:
        typer.echo(f"{_INDENT}{printable(device_line(phone))}")
    if iphones.phones and iphones.hint:
        typer.echo(f"{_INDENT}hint: {iphones.hint}")


def _vault_lines(place: VaultPlace) -> None:
    _line("vault", str(place.path))
    disk = place.disk
    facts = [disk.filesystem or "file system unknown"]
    if disk.free is not None:
        facts.append(f"{human_bytes(disk.free)} free")
    if place.largest_file is not None:
        facts.append("no file over 4 GB")
    facts.append(f"synced by {place.synced_by}" if place.synced_by else "not in a synced folder")
    typer.echo(f"{_INDENT}{', '.join(facts)}")
    for hint in place.hints:
        typer.echo(f"{_INDENT}hint: {hint}")


def _tool_line(tool: Tool) -> None:
    if tool.found:
        _line(tool.name, f"{tool.found} ({tool.purpose})")
    else:
        _line(tool.name, f"not found ({tool.purpose}; optional)", tool.hint)


def _line(label: str, text: str, hint: str = "") -> None:
    typer.echo(f"  {label:<11} {text}")
    if hint:
        typer.echo(f"{_INDENT}hint: {hint}")
