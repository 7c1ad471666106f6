"""The pretend iPhone: media, and the services a real phone speaks over USB.

This package plays the phone in tests and demos, so it imports nothing from ``companion``: the
phone does not read our code. It may use the standard library (sqlite3 for the Photos library),
Pillow, pillow_heif and segno (QR codes), plus the crypto library in ``keys`` only (the phone's
own key pair and TLS).

``build_phone`` makes a sample phone from a seed (media, Photos.sqlite, installed apps);
``Simulator`` serves it over usbmuxd, lockdown, AFC and installation_proxy, with ``Faults`` to
misbehave on purpose (``misbehave`` names the usual ones).

The names below load on first use: the command line reads the fault table of ``misbehave`` for
its help, and that must not pull in the phone's crypto and image libraries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from companion.simulator.device import Faults, Stats
    from companion.simulator.phone import SamplePhone, build_phone
    from companion.simulator.server import Simulator

__all__ = ["Faults", "SamplePhone", "Simulator", "Stats", "build_phone"]

_HOMES = {
    "Faults": "device",
    "Stats": "device",
    "SamplePhone": "phone",
    "build_phone": "phone",
    "Simulator": "server",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
