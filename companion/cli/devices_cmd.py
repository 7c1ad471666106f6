"""``companion devices``: the iPhones this computer can see."""

from __future__ import annotations

import typer

from companion.cli.common import EXIT_STATUS, JsonOpt, UsbmuxOpt, emit_json
from companion.connectors.usb.options import UsbOptions
from companion.model import DeviceInfo


def register(app: typer.Typer) -> None:
    app.command("devices", epilog=EXIT_STATUS)(devices)


def devices(usbmux: UsbmuxOpt = None, as_json: JsonOpt = False) -> None:
    """List the iPhones connected by USB: name, model, iOS version, UDID, whether each one
    trusts this computer, and whether it is locked.

    Nothing is paired or changed: a phone that does not trust this computer yet shows only what
    it tells anyone, and one that trusts it but is locked shows only its UDID. 'companion backup'
    asks you to tap Trust when it needs to (unlock the phone first).
    """
    from companion.connectors.usb.devices import list_devices  # USB code only when asked

    found = list_devices(UsbOptions(usbmux_address=usbmux))
    if as_json:
        emit_json(found)
        return
    if not found:
        typer.echo("No iPhone is connected. Plug one in with a cable and unlock it.")
        return
    for device in found:
        typer.echo(device_line(device))


def device_line(device: DeviceInfo) -> str:
    state = _STATES[(device.trusted is True, device.locked is True)]
    model = device.model or "iPhone"
    ios = f"iOS {device.os_version}" if device.os_version else "iOS ?"
    return f"{device.name}  {model}  {ios}  {device.identifier}  ({state})"


_STATES = {  # (trusts this computer, passcode-locked now) -> what to say
    (True, False): "trusts this computer",
    (True, True): "trusts this computer; locked: unlock it to back it up",
    (False, False): "does not trust this computer yet",
    (False, True): "does not trust this computer yet; locked: unlock it to answer Trust",
}
