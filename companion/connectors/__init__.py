"""Connectors: where assets come from. Found by scheme in a registry, never by ``if`` chains.

``connect("folder:/path/to/DCIM")`` builds the connector registered for ``folder``;
``connect("usb")`` (or ``usb:UDID``) the one for a phone on a cable. Each entry names its module so
that heavy libraries (pymobiledevice3, pyicloud) load only when that scheme is used. A factory
takes the text after ``scheme:`` (empty for a bare scheme) and the caller's ``ConnectOptions``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from companion.connectors.base import (
    AppLister,
    ConnectOptions,
    Connector,
    Preparable,
    Prober,
    ReadAhead,
    Reconnectable,
    Shareable,
)
from companion.errors import UsageError

__all__ = [
    "AppLister",
    "ConnectOptions",
    "Connector",
    "Preparable",
    "Prober",
    "ReadAhead",
    "Reconnectable",
    "Shareable",
    "connect",
    "schemes",
]

# scheme -> (module, factory name).
_REGISTRY: dict[str, tuple[str, str]] = {
    "folder": ("companion.connectors.folder", "open_folder"),
    "usb": ("companion.connectors.usb", "open_usb"),
}


def schemes() -> list[str]:
    """The source schemes this installation knows, for help texts."""
    return sorted(_REGISTRY)


def connect(spec: str, options: ConnectOptions | None = None) -> Connector:
    """Build the connector for a source spec such as ``usb`` or ``folder:~/Pictures/DCIM``."""
    scheme, _, rest = spec.partition(":")
    if scheme not in _REGISTRY:
        known = ", ".join(schemes())
        raise UsageError(
            f"unknown source {spec!r}",
            hint=f"Name a source as SCHEME or SCHEME:WHERE, one of: {known} "
            "(e.g. usb, usb:UDID, folder:/media/DCIM).",
        )
    module_name, factory_name = _REGISTRY[scheme]
    factory: Callable[[str, ConnectOptions], Connector] = getattr(
        importlib.import_module(module_name), factory_name
    )
    return factory(rest, options or ConnectOptions())
