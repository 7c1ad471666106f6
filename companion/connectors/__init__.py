"""Connectors: where assets come from. Found by scheme in a registry, never by ``if`` chains.

``connect("folder:/path/to/DCIM")`` builds the connector registered for ``folder``;
``connect("usb")`` (or ``usb:UDID``) the one for a phone on a cable; ``connect("icloud")`` (or
``icloud:APPLE_ID``) an iCloud Photos library. Each entry names its module so that heavy
libraries (pymobiledevice3, pyicloud) load only when that scheme is used. A factory
takes the text after ``scheme:`` (empty for a bare scheme) and the caller's ``ConnectOptions``.
Each entry also says how its specs are written (for ``--from`` help texts, ``source_help``) and
which optional abilities every connector it builds has (``lists_apps``), so a command can refuse a
source before connecting to it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from companion.connectors.base import (
    AppLister,
    Ask,
    ConnectOptions,
    Connector,
    Preparable,
    Prober,
    ReadAhead,
    Reconnectable,
    Removal,
    RemovalChecker,
    RemovalState,
    Remover,
    Shareable,
)
from companion.errors import UsageError

__all__ = [
    "AppLister",
    "Ask",
    "ConnectOptions",
    "Connector",
    "Preparable",
    "Prober",
    "ReadAhead",
    "Reconnectable",
    "Removal",
    "RemovalChecker",
    "RemovalState",
    "Remover",
    "Shareable",
    "connect",
    "lists_apps",
    "schemes",
    "source_help",
]


@dataclass(frozen=True, slots=True)
class _Entry:
    """A scheme: the module and factory that build its connectors, how its specs are written
    (one phrase per form, for help texts), and whether its connectors are ``AppLister``s."""

    module: str
    factory: str
    forms: str
    lists_apps: bool = False


# In the order help texts show them: the default source first.
_REGISTRY: dict[str, _Entry] = {
    "usb": _Entry(
        "companion.connectors.usb.connector",
        "open_usb",
        "usb (the only iPhone on a cable) or usb:UDID (one of several, see 'companion devices')",
        lists_apps=True,
    ),
    "folder": _Entry(
        "companion.connectors.folder",
        "open_folder",
        "folder:PATH (a camera-roll export or a mounted DCIM folder)",
    ),
    "icloud": _Entry(
        "companion.connectors.icloud.connector",
        "open_icloud",
        "icloud:APPLE_ID (an iCloud Photos library; plain icloud for the one signed in with "
        "'companion icloud login')",
    ),
}


def schemes() -> list[str]:
    """The source schemes this installation knows, for help texts."""
    return sorted(_REGISTRY)


def source_help(*, apps: bool = False) -> str:
    """How to write a source, for a ``--from`` help text: every scheme's forms (with ``apps``,
    only those of schemes whose connectors list installed apps), the default source first.
    Imports no connector."""
    forms = [entry.forms for entry in _REGISTRY.values() if entry.lists_apps or not apps]
    if len(forms) < 2:
        return "".join(forms)
    return ", ".join(forms[:-1]) + ", or " + forms[-1]


def lists_apps(spec: str) -> bool:
    """Whether the connector for ``spec`` lists installed apps (``AppLister``), without
    building it; False for a scheme nobody registered."""
    entry = _REGISTRY.get(spec.partition(":")[0])
    return entry is not None and entry.lists_apps


def connect(spec: str, options: ConnectOptions | None = None) -> Connector:
    """Build the connector for a source spec such as ``usb`` or ``folder:~/Pictures/DCIM``."""
    scheme, _, rest = spec.partition(":")
    entry = _REGISTRY.get(scheme)
    if entry is None:
        known = ", ".join(schemes())
        raise UsageError(
            f"unknown source {spec!r}",
            hint=f"Name a source as SCHEME or SCHEME:WHERE, one of: {known} "
            "(e.g. usb, usb:UDID, folder:/media/DCIM).",
        )
    factory: Callable[[str, ConnectOptions], Connector] = getattr(
        importlib.import_module(entry.module), entry.factory
    )
    return factory(rest, options or ConnectOptions())
