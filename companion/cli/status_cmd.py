"""``companion status``: what the vault holds, and when it was last backed up and checked."""

from __future__ import annotations

import shlex
from dataclasses import asdict

import typer

from companion.cli.common import (
    EXIT_STATUS,
    JsonOpt,
    PassFileOpt,
    VaultOpt,
    emit_json,
    human_bytes,
    open_vault,
    printable,
)
from companion.vault.status import VaultStatus, summarize


def register(app: typer.Typer) -> None:
    app.command("status", epilog=EXIT_STATUS)(status)


def status(
    vault: VaultOpt = None, passphrase_file: PassFileOpt = None, as_json: JsonOpt = False
) -> None:
    """Summarise the vault: how many files, how much space, which dates, last backup and check.

    A backup that stopped before its end is shown as interrupted, and sources that hold the same
    files (one folder backed up under two names) are named: those files count, and restore,
    under each.
    """
    with open_vault(vault, passphrase_file) as opened:
        root, summary = opened.root, summarize(opened)
    if as_json:
        emit_json({"vault": root, **_plain_status(summary)})
        return
    kinds = ", ".join(f"{c.count} {k}" for k, c in summary.by_kind.items() if c.count)
    typer.echo(f"Vault {root}")
    typer.echo(
        f"  files       {summary.assets} ({kinds or 'nothing yet'}), {human_bytes(summary.bytes)}"
    )
    typer.echo(
        f"  on disk     {human_bytes(summary.stored_bytes)} in {summary.objects} encrypted objects"
    )
    if summary.first_capture and summary.last_capture:
        typer.echo(f"  captured    {summary.first_capture.date()} to {summary.last_capture.date()}")
    _backup_lines(summary)
    verified = (
        f"{summary.last_verify:%Y-%m-%d %H:%M} UTC: {summary.verified_ok} files intact, "
        f"{summary.verified_bad} damaged"
        if summary.last_verify
        else "never (run companion verify --full)"
    )
    typer.echo(f"  last verify {verified}")
    typer.echo(f"  passphrases {summary.passphrases}")
    if summary.synced_by:
        typer.echo(
            f"  synced      by {summary.synced_by}: its servers get the vault's files, encrypted "
            "(fine; restore and share ask before writing photos in clear into such a folder)"
        )
    _shared_lines(summary)
    _removal_lines(summary)
    _cloud_only_lines(summary)


def _backup_lines(summary: VaultStatus) -> None:
    last, stopped = summary.last_backup, summary.interrupted
    finished = (
        f"{last.at:%Y-%m-%d %H:%M} UTC from {last.source}: {last.new} new, {last.failed} failed"
        if last
        else None
    )
    if stopped is None:
        typer.echo(f"  last backup {finished or 'never (run companion backup)'}")
        return
    again = "companion backup" + (
        f" --from {shlex.quote(stopped.sources[0])}" if len(stopped.sources) == 1 else ""
    )
    typer.echo(
        f"  last backup interrupted at {stopped.at:%Y-%m-%d %H:%M} UTC "
        f"({', '.join(stopped.sources)}), {stopped.files} file{'s' if stopped.files != 1 else ''}"
        f" stored; run {again} to finish"
    )
    if finished:
        typer.echo(f"  before that {finished}")


def _shared_lines(summary: VaultStatus) -> None:
    for shared in summary.shared[:_SHARED_SHOWN]:
        first, second = shared.sources
        typer.echo(
            f"  same files  {first} and {second} hold {shared.files} of the same files "
            f"({human_bytes(shared.bytes)}): they count and restore under each"
        )
    if len(summary.shared) > _SHARED_SHOWN:
        typer.echo(f"              and {len(summary.shared) - _SHARED_SHOWN} more pairs of sources")
    if summary.shared:
        typer.echo(
            "              (one folder backed up under two names? back it up under one of them "
            "from now on)"
        )


_SHARED_SHOWN = 3


def _plain_status(summary: VaultStatus) -> dict[str, object]:
    return asdict(summary)


def _removal_lines(summary: VaultStatus) -> None:
    """Cleanup's audit trail, one line per source."""
    for trail in summary.removals:
        typer.echo(
            f"  cleanup     {printable(trail.source)}: {trail.planned} planned, {trail.removed} "
            f"removed, {trail.confirmed} confirmed gone or deleted, {trail.refused} refused "
            f"(last {trail.last:%Y-%m-%d %H:%M} UTC)"
        )


def _cloud_only_lines(summary: VaultStatus) -> None:
    """Per source that held previews only (Optimize iPhone Storage): where the originals are."""
    for found in summary.cloud_only:
        from_icloud = found.from_icloud_by_identifier + found.from_icloud_by_name_and_time
        typer.echo(
            f"  previews    {printable(found.source)}: {found.recorded} originals were in iCloud "
            f"only; in the vault now: {from_icloud} from iCloud ({found.from_icloud_by_identifier}"
            f" by identifier, {found.from_icloud_by_name_and_time} by file name and capture time)"
            f", {found.from_source} from the phone itself; {found.missing} still missing"
        )
        if found.missing:
            typer.echo("              back them up from iCloud: companion backup --from icloud")
