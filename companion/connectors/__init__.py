"""Connectors: where assets come from. Found by scheme in a registry, never by ``if`` chains.

``connect("folder:/path/to/DCIM")`` builds the connector registered for ``folder``. Each entry
names its module so that heavy libraries (pymobiledevice3, pyicloud) load only when that scheme is
used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from companion.connectors.base import Connector, Prober, Shareable
from companion.errors import UsageError

__all__ = ["Connector", "Prober", "Shareable", "connect", "schemes"]

# scheme -> (module, factory name). The factory takes the text after "scheme:".
_REGISTRY: dict[str, tuple[str, str]] = {
    "folder": ("companion.connectors.folder", "FolderConnector"),
}


def schemes() -> list[str]:
    """The source schemes this installation knows, for help texts."""
    return sorted(_REGISTRY)


def connect(spec: str) -> Connector:
    """Build the connector for a source spec such as ``folder:~/Pictures/DCIM``."""
    scheme, sep, rest = spec.partition(":")
    if not sep or scheme not in _REGISTRY:
        known = ", ".join(f"{s}:" for s in schemes())
        raise UsageError(
            f"unknown source {spec!r}",
            hint=f"Name a source as SCHEME:WHERE, one of: {known} (e.g. folder:/media/DCIM).",
        )
    module_name, factory_name = _REGISTRY[scheme]
    factory: Callable[[str], Connector] = getattr(
        importlib.import_module(module_name), factory_name
    )
    return factory(rest)
