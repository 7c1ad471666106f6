"""Before photos are written in clear into a folder a cloud client uploads (iCloud Drive,
Dropbox, OneDrive, Google Drive, Nextcloud...: ``portable.synced``), say so and ask.

``restore`` and ``share`` call ``check_folder`` before they unlock anything. On a terminal the
person answers yes or no; ``--yes`` or ``COMPANION_YES=1`` goes on without asking (the warning
is still printed); with nobody to ask, the command stops (exit 2) and says how to go on.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from companion.cli import terminal
from companion.cli.cleanup_review import YES_ENV
from companion.cli.common import printable
from companion.errors import Cancelled, UsageError
from companion.portable.synced import sync_client

YesOpt = Annotated[
    bool,
    typer.Option(
        "--yes",
        help="Write even into a folder that a cloud client (iCloud Drive, Dropbox, OneDrive...) "
        f"uploads, without asking ({YES_ENV}=1 does the same).",
    ),
]


def check_folder(folder: Path, yes: bool, *, what: str) -> str | None:
    """Ask before ``what`` (e.g. "restored photos") goes into ``folder`` when a cloud client
    syncs it; the client's name (None: not synced). ``Cancelled`` if the person says no,
    ``UsageError`` when nobody can be asked."""
    client = sync_client(folder)
    if client is None:
        return None
    typer.echo(
        f"warning: {printable(str(folder))} is synced by {client}: {what} written there, in "
        f"clear, would be uploaded to {client}'s servers.",
        err=True,
    )
    if yes or os.environ.get(YES_ENV) == "1":
        return client
    if not terminal.has_terminal():
        raise UsageError(
            f"{printable(str(folder))} is synced by {client}",
            hint="Choose a folder outside it, or add --yes (or COMPANION_YES=1) to write there.",
        )
    answer = terminal.ask_visible("Write them there anyway? (yes/no)").strip().lower()
    if answer not in ("y", "yes", "o", "oui"):
        raise Cancelled(
            f"nothing written into {printable(str(folder))}",
            hint="Choose a folder outside the synced one.",
        )
    return client
