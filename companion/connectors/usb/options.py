"""What only the USB connector is told: where usbmuxd is, how long to wait for Trust, where the
pairing is kept. A value of ``ConnectOptions.per_connector``; imports no USB library, so a
command builds it before deciding whether a phone is needed at all."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TRUST_TIMEOUT = 120.0  # seconds a person has to tap Trust, unless told otherwise


@dataclass(frozen=True, slots=True)
class UsbOptions:
    """``usbmux_address`` overrides the ``USBMUXD_SOCKET_ADDRESS`` environment variable (a
    socket path or ``HOST:PORT``). ``trust_timeout`` is how long to wait for a person to tap
    Trust, in seconds. ``pair_records`` is the folder where a phone's pairing with this computer
    is kept; pair records are secrets. None (the default) is companion's private state folder,
    ``companion.state.private_dir("pair-records")``, made when a phone is first opened, where a
    record the USB library saved in its own folder under the home folder is copied
    (``pairing.py``). Every file in the folder is made 0600 after each connection.
    """

    usbmux_address: str | None = None
    trust_timeout: float = TRUST_TIMEOUT
    pair_records: Path | None = None
