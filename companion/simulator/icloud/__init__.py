"""The simulated iCloud: an account whose iCloud Photos library a client reaches over HTTPS.

Like the simulated iPhone beside it, it imports nothing from ``companion`` outside the simulator
(a client does not read our code), and it is a real server: tests drive the unmodified pyicloud
against it over TLS on 127.0.0.1, never patched functions. The library is a camera roll from
``companion.simulator.media``, kept in memory.

``SimulatedICloud`` serves an account (sign-in with SRP and two-factor codes, sessions, the
Photos CloudKit database, downloads); ``Faults`` makes it misbehave on purpose; ``Stats`` counts
what it did. docs/design/icloud-protocol-notes.md describes the answers.

The names below load on first use, as in ``companion.simulator``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from companion.simulator.icloud.faults import Faults, Stats
    from companion.simulator.icloud.library import CloudAsset
    from companion.simulator.icloud.server import SimulatedICloud

__all__ = ["CloudAsset", "Faults", "SimulatedICloud", "Stats"]

_HOMES = {
    "CloudAsset": "library",
    "Faults": "faults",
    "Stats": "faults",
    "SimulatedICloud": "server",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
