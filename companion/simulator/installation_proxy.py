"""installation_proxy (``com.apple.mobile.installation_proxy``): the installed apps.

Framing is lockdown's (u32 big-endian length + plist). ``Browse`` answers in pages
``{CurrentAmount, CurrentIndex, CurrentList, Status: "BrowsingApplications", Total}`` and ends with
``{Status: "Complete"}``; ``Lookup`` answers once with ``LookupResult`` (bundle id -> attributes)
and ``Status: "Complete"``. Both honour ``ClientOptions``: ``ApplicationType`` (User, System,
Hidden or Any), ``BundleIDs`` and ``ReturnAttributes``. Anything that would change the phone
(Install, Uninstall, ...) is refused, with ``Status: "Complete"`` so a waiting host stops waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from companion.simulator.device import Device
from companion.simulator.lockdown import read_plist, write_plist

log = logging.getLogger(__name__)

# A real phone sends Browse results in pages of this many apps.
_PAGE = 20


def _select(
    apps: list[dict[str, Any]], options: Mapping[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """(bundle id, attributes) after ApplicationType, BundleIDs and ReturnAttributes."""
    kind = options.get("ApplicationType", "Any")
    wanted_ids = options.get("BundleIDs")
    attributes = options.get("ReturnAttributes")
    chosen = []
    for app in apps:
        if kind != "Any" and app.get("ApplicationType") != kind:
            continue
        if wanted_ids is not None and app.get("CFBundleIdentifier") not in wanted_ids:
            continue
        kept = app if attributes is None else {k: v for k, v in app.items() if k in attributes}
        chosen.append((str(app.get("CFBundleIdentifier")), kept))
    return chosen


def _options(request: Mapping[str, Any]) -> Mapping[str, Any]:
    options = request.get("ClientOptions")
    return options if isinstance(options, Mapping) else {}


async def _browse(writer: asyncio.StreamWriter, apps: list[dict[str, Any]]) -> None:
    total = len(apps)
    for index in range(0, total, _PAGE):
        page = apps[index : index + _PAGE]
        await write_plist(
            writer,
            {
                "CurrentAmount": len(page),
                "CurrentIndex": index,
                "CurrentList": page,
                "Status": "BrowsingApplications",
                "Total": total,
            },
        )
    await write_plist(writer, {"Status": "Complete"})


async def serve_installation_proxy(
    device: Device, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Answer Browse and Lookup until the host hangs up."""
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, ValueError):
        while (request := await read_plist(reader)) is not None:
            command = request.get("Command")
            apps = [dict(app) for app in device.phone.apps]
            if command == "Browse":
                selected = _select(apps, _options(request))
                await _browse(writer, [attributes for _, attributes in selected])
            elif command == "Lookup":
                result = dict(_select(apps, _options(request)))
                await write_plist(writer, {"LookupResult": result, "Status": "Complete"})
            else:
                log.info("installation_proxy command %r refused", command)
                await write_plist(
                    writer,
                    {
                        "Error": "APIInternalError",
                        "ErrorDescription": f"The simulated iPhone does not {command}.",
                        "Status": "Complete",
                    },
                )
