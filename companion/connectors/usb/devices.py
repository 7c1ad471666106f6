"""``companion devices``: the iPhones usbmuxd sees, without pairing with any of them."""

from __future__ import annotations

from companion.connectors.usb.aioloop import Loop
from companion.connectors.usb.iphone import check_usbmux_address
from companion.connectors.usb.options import UsbOptions
from companion.connectors.usb.session import CALL_TIMEOUT, describe_devices
from companion.connectors.usb.translate import translate
from companion.errors import CompanionError, DeviceDisconnected
from companion.model import DeviceInfo

__all__ = ["list_devices"]


def list_devices(options: UsbOptions | None = None) -> list[DeviceInfo]:
    """The iPhones usbmuxd sees, with what each tells before (or after) it trusts us.

    Never pairs: an untrusted phone shows ``trusted=False`` and only what it tells anyone; a
    trusted phone that is locked shows ``locked=True``. Errors: ``UsageError`` for an address
    the USB library cannot use; ``DeviceError``s when usbmuxd or a phone cannot be reached.
    """
    options = options or UsbOptions()
    check_usbmux_address(options.usbmux_address)
    loop = Loop("companion-usb-devices")
    try:
        return loop.run(describe_devices(options), CALL_TIMEOUT)
    except TimeoutError as exc:
        raise DeviceDisconnected("usbmuxd or an iPhone stopped answering") from exc
    except CompanionError:
        raise
    except Exception as exc:
        raise translate(exc, None) from exc
    finally:
        loop.close()
