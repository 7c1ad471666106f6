"""``companion restore``: decrypt files from the vault into a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from companion.cli.common import (
    EXIT_STATUS,
    JsonOpt,
    PassFileOpt,
    VaultOpt,
    byte_bar,
    emit_json,
    fed,
    human_bytes,
    parse_day,
    printable,
    vault_ref,
)
from companion.cli.synced_guard import YesOpt, check_folder
from companion.errors import IntegrityError, PartialFailure
from companion.usecases.check import restore_to
from companion.vault.restore import RestoreReport


def register(app: typer.Typer) -> None:
    app.command("restore", epilog=EXIT_STATUS)(restore)


def restore(
    to: Annotated[
        Path,
        typer.Option("--to", metavar="DIR", help="Folder to restore into (created if needed)."),
    ],
    vault: VaultOpt = None,
    passphrase_file: PassFileOpt = None,
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="DATE", help="Only files captured on or after YYYY-MM-DD."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until", metavar="DATE", help="Only files captured on or before YYYY-MM-DD."
        ),
    ] = None,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Decrypt files from the vault into a folder, with their capture dates as file times.

    Nothing is ever overwritten: a different file of the same name makes 'IMG_0001 (2).HEIC'; a
    file already there with the same content is left alone, so restore can be re-run safely.
    Into a folder that a cloud client uploads (iCloud Drive, Dropbox, OneDrive...) it asks
    first: the photos would be uploaded in clear.
    """
    start, end = parse_day(since), parse_day(until, end=True)
    check_folder(to, yes, what="restored photos")
    with byte_bar(0, "restore", enabled=not as_json) as bar:
        report = restore_to(
            vault_ref(vault, passphrase_file), to, since=start, until=end, progress=fed(bar)
        )
    _render(report, to, as_json)


def _render(report: RestoreReport, to: Path, as_json: bool) -> None:
    if as_json:
        emit_json(report)
    else:
        typer.echo(
            f"Restored {report.restored} files ({human_bytes(report.bytes)}) into {to}; "
            f"{report.identical} were already there; {report.renamed} renamed to avoid "
            f"overwriting; {len(report.failed)} failed."
        )
        for path, reason in sorted(report.failed.items()):
            typer.echo(f"  failed: {printable(path)}: {reason}", err=True)
    failed = len(report.failed)
    if report.damaged:
        raise IntegrityError(f"{failed} file{'s' * (failed != 1)} could not be restored")
    if failed:
        raise PartialFailure(f"{failed} file{'s' * (failed != 1)} could not be restored")
