"""``usb:`` sources: an iPhone on a cable, through usbmuxd, lockdown and AFC (pymobiledevice3).

Importing this package loads no USB library: the registry builds connectors from
``connector.py`` (``open_usb``), ``companion devices`` lists phones with ``devices.py``
(``list_devices``), and a command gives its settings as ``options.UsbOptions``. Only
``session.py`` (the async side) and ``translate.py`` (its exceptions as ours, with a hint a person
can follow) import pymobiledevice3, when first used. The rest is pure: ``iphone.py`` (which phone,
safe names and paths, device and app records), ``photosdb.py`` (Photos.sqlite from copied bytes),
``roll.py`` (files and library rows as assets), ``pairing.py`` (where pair records are kept:
companion's private state folder) and ``aioloop.py`` (the private asyncio loop the library runs
on).
"""

from __future__ import annotations

from companion.connectors.usb.options import UsbOptions

__all__ = ["UsbOptions"]
