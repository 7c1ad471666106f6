"""``companion share``: clean copies of chosen photos for someone else, the private ones left
out."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from companion.cli.cleanup_review import YES_ENV
from companion.cli.common import (
    EXIT_STATUS,
    JsonOpt,
    PassFileOpt,
    VaultOpt,
    byte_bar,
    emit_json,
    fed,
    given_options,
    human_bytes,
    parse_day,
    printable,
    vault_ref,
)
from companion.cli.synced_guard import YesOpt, check_folder
from companion.share import Filters, Item, Options, ShareReport

WORD = "SHARE"


class Format(StrEnum):
    KEEP = "keep"
    JPEG = "jpeg"


def register(app: typer.Typer) -> None:
    app.command("share", epilog=EXIT_STATUS)(share)


def share(
    to: Annotated[
        Path,
        typer.Option(
            "--to",
            metavar="DIR",
            help="Folder the clean copies go to (made if absent).",
            show_default=False,
        ),
    ],
    vault: VaultOpt = None,
    passphrase_file: PassFileOpt = None,
    since: Annotated[
        str | None, typer.Option("--since", metavar="DATE", help="Captured on or after YYYY-MM-DD.")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", metavar="DATE", help="Captured on or before YYYY-MM-DD."),
    ] = None,
    album: Annotated[
        str | None, typer.Option("--album", metavar="NAME", help="Only photos of this album.")
    ] = None,
    path: Annotated[
        str | None,
        typer.Option(
            "--path",
            metavar="GLOB",
            help="Only files whose path or name matches, e.g. 'DCIM/100APPLE/*' or 'IMG_00*'.",
        ),
    ] = None,
    include_flagged: Annotated[
        bool,
        typer.Option(
            "--include-flagged",
            help="Also share what the scan flagged or never scanned: listed, then the word "
            f"{WORD} must be typed (COMPANION_YES=1 for scripts).",
        ),
    ] = False,
    fmt: Annotated[
        Format,
        typer.Option(
            "--format",
            help="keep: each photo in its own format (a HEIC is encoded again); jpeg: every "
            "photo as JPEG (a JPEG keeps its pixels as they are).",
        ),
    ] = Format.KEEP,
    max_side: Annotated[
        int | None,
        typer.Option(
            "--max-side",
            metavar="PX",
            min=16,
            help="Make photos larger than this (long side, pixels) smaller; encodes them again.",
        ),
    ] = None,
    keep_date: Annotated[
        bool, typer.Option("--keep-date", help="Keep the capture date (nothing else).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be written; write nothing.")
    ] = False,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Write copies of the chosen photos and videos into DIR with nothing but the picture: no
    place, date, device, serial number, maker notes, XMP, IPTC, thumbnail or Live Photo movie
    (see docs/share.md).

    What the scan flagged, and what was never scanned, is left out unless --include-flagged
    (after a typed confirmation). A JPEG keeps its pixels byte for byte; a HEIC is encoded
    again; videos are copied without re-encoding. Existing files in DIR are never
    overwritten: a taken name becomes 'IMG_0001 (2).JPG'. Into a folder that a cloud client
    uploads (iCloud Drive, Dropbox, OneDrive...) it asks first.
    """
    from companion.usecases.share import share as run_share

    filters = Filters(parse_day(since), parse_day(until, end=True), album, path)
    if not dry_run:
        check_folder(to, yes, what="the copies")
    options = Options(format=fmt.value, max_side=max_side, keep_date=keep_date)
    ref = vault_ref(vault, passphrase_file)
    with byte_bar(0, "share", enabled=not as_json and not dry_run) as bar:
        report = run_share(
            ref,
            to,
            filters,
            options,
            include_flagged=include_flagged,
            confirm=_confirm,
            dry_run=dry_run,
            progress=fed(bar),
        )
    if as_json:
        emit_json(_as_object(report))
    else:
        _render(report, given_options(vault, passphrase_file))
    if (error := report.error()) is not None:
        raise error


def _confirm(items: Sequence[Item]) -> bool:
    """The flagged and unscanned items listed on stderr, then the word typed (or
    ``COMPANION_YES=1``)."""
    typer.echo(f"{len(items)} flagged or unscanned photos and videos would be shared:", err=True)
    for item in items:
        why = ", ".join(item.categories) or item.status.value
        typer.echo(f"  {printable(item.name)}  ({why})", err=True)
    if os.environ.get(YES_ENV) == "1":
        return True
    typer.echo(f"Type {WORD} to share them too (anything else cancels):", err=True)
    return sys.stdin.readline().strip() == WORD


def _as_object(report: ShareReport) -> dict[str, object]:
    return {
        "folder": report.folder,
        "dry_run": report.dry_run,
        "written": len(report.written),
        "bytes": report.bytes,
        "files": [{"name": w.name, "path": w.path, "bytes": w.bytes} for w in report.written],
        "would_write": report.would_write,
        "included": report.included,
        "left_out": {
            "flagged": report.flagged,
            "not_scanned": report.not_scanned,
            "unreadable": report.unreadable,
        },
    }


def _render(report: ShareReport, options: str) -> None:
    if report.dry_run:
        typer.echo(
            f"Dry run: nothing written. {len(report.would_write)} would go to "
            f"{printable(str(report.folder))}:"
        )
        for name in report.would_write:
            typer.echo(f"  {printable(name)}")
    else:
        typer.echo(
            f"Wrote {len(report.written)} clean copies ({human_bytes(report.bytes)}) into "
            f"{printable(str(report.folder))}."
        )
    if report.included:
        typer.echo(f"Included as asked: {len(report.included)} flagged or unscanned.")
    if report.flagged:
        typer.echo(
            f"Left out: {len(report.flagged)} flagged by the scan "
            "('companion scan --explain NAME' says why; --include-flagged to share them)."
        )
    if report.not_scanned:
        typer.echo(
            f"Left out: {len(report.not_scanned)} not scanned yet: run "
            f"'companion scan{options}', then share again."
        )
    for name, why in report.unreadable.items():
        typer.echo(f"  unreadable  {printable(name)}: {why}", err=True)
