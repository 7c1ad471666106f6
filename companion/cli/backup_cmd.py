"""``companion backup``: copy a source into the vault."""

from __future__ import annotations

import contextlib
import shlex
from typing import Annotated, Any

import typer

from companion.cli.common import (
    EXIT_STATUS,
    JobsOpt,
    JsonOpt,
    PassFileOpt,
    TrustTimeoutOpt,
    UsbmuxOpt,
    VaultOpt,
    byte_bar,
    closing_connector,
    emit_json,
    human_bytes,
    printable,
    vault_ref,
)
from companion.cli.sources import connect_options
from companion.connectors import connect, source_help
from companion.errors import PartialFailure, UsageError
from companion.model import Asset, BackupReport
from companion.usecases.backup import back_up, plan_backup


class _LazyBar:
    """The backup's progress callbacks on a tqdm bar, drawn when the transfer starts: after the
    vault is unlocked and the phone connected, so that no bar sits under a prompt."""

    def __init__(self, *, enabled: bool) -> None:
        self._enabled = enabled
        self._stack = contextlib.ExitStack()
        self._bar: Any = None

    def __enter__(self) -> _LazyBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def start(self, total_bytes: int, total_items: int) -> None:
        if self._bar is None:
            self._bar = self._stack.enter_context(byte_bar(0, "backup", enabled=self._enabled))
        self._bar.reset(total=total_bytes)
        self._bar.set_description(f"{total_items} files")

    def advance(self, nbytes: int) -> None:
        if self._bar is not None:
            self._bar.update(nbytes)

    def item_done(self, asset: Asset, outcome: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(asset.name, refresh=False)


def register(app: typer.Typer) -> None:
    app.command("backup", epilog=EXIT_STATUS)(backup)


def backup(
    source: Annotated[
        str,
        typer.Option(
            "--from",
            metavar="SOURCE",
            help=f"Where the photos are: {source_help()}. When a folder holds a DCIM folder, "
            "only DCIM/ is backed up, and the summary counts and names the folders of photos "
            "beside it.",
        ),
    ] = "usb",
    vault: VaultOpt = None,
    passphrase_file: PassFileOpt = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="List what would be backed up; read and write nothing."),
    ] = False,
    jobs: JobsOpt = None,
    usbmux: UsbmuxOpt = None,
    trust_timeout: TrustTimeoutOpt = 120.0,
    include_trashed: Annotated[
        bool,
        typer.Option(
            "--include-trashed",
            help="Also back up what the iPhone keeps in Recently Deleted.",
        ),
    ] = False,
    album: Annotated[
        list[str] | None,
        typer.Option(
            "--album",
            metavar="NAME",
            help="With --from icloud: back up only the pictures of this album (repeat for "
            "several; letter case aside). Each file records its albums either way.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Back up an iPhone's photos and videos (or a folder's) into the vault, incrementally.

    Only new or changed files are read; each is hashed, encrypted and written once (identical
    files are stored once). Interrupt it at any time: the next run resumes where it stopped.
    Files that fail (changed while read, unreadable) are listed and retried next run (exit 4);
    photos and videos stored with a warning (an empty file, bytes that are no picture) are
    listed too (exit 4).
    """
    ref = vault_ref(vault, passphrase_file)
    albums = _albums(source, album)
    options = connect_options(usbmux, trust_timeout, include_trashed=include_trashed, albums=albums)
    connector = connect(source, options)
    with closing_connector(connector):
        if dry_run:
            report = plan_backup(connector, ref)
        else:
            with _LazyBar(enabled=not as_json) as progress:
                report = back_up(connector, ref, jobs=jobs, progress=progress)
    _render(report, as_json)
    _partial(report)


def _albums(source: str, names: list[str] | None) -> tuple[str, ...]:
    """``--album``'s names, refused for a source other than iCloud before anything is opened."""
    wanted = tuple(name.strip() for name in names or () if name.strip())
    if wanted and source.split(":", 1)[0].strip().lower() != "icloud":
        raise UsageError(
            "--album chooses albums of an iCloud Photos library",
            hint="Use it with --from icloud; a USB or folder backup takes the whole camera roll.",
        )
    return wanted


def _partial(report: BackupReport) -> None:
    """Exit 4 when a file failed (retried next run) or was stored with a warning."""
    failed, odd = len(report.failed), len(report.warnings)
    if not failed and not odd:
        return
    parts = [f"{failed} file{'s' * (failed != 1)} failed"] if failed else []
    parts += [f"{odd} stored with a warning"] if odd else []
    hint = (
        None if failed else "They are in the vault as they were read; look at them on the source."
    )
    raise PartialFailure(" and ".join(parts) + " (listed above)", hint)


def _render(report: BackupReport, as_json: bool) -> None:
    if as_json:
        emit_json(report)
        return
    if report.dry_run:
        typer.echo(
            f"Dry run: {len(report.would_store)} files would be backed up, "
            f"{report.skipped} are already in the vault unchanged."
        )
        for path in report.would_store:
            typer.echo(f"  + {printable(path)}")
        _render_left_out(report)
        return
    typer.echo(
        f"Backed up {report.new} new files ({human_bytes(report.bytes_read)} read); "
        f"{report.deduplicated} already in the vault (same content); "
        f"{report.skipped} unchanged; {len(report.failed)} failed."
    )
    for path, reason in sorted(report.warnings.items()):
        typer.echo(f"  warning: {printable(path)}: {reason}", err=True)
    for path, reason in sorted(report.failed.items()):
        typer.echo(f"  failed: {printable(path)}: {reason}", err=True)
    _render_left_out(report)


_LEFT_OUT_SHOWN = 3  # folders named in the note; the rest are counted


def _render_left_out(report: BackupReport) -> None:
    """Say which photos beside DCIM/ the source did not look at, and how to back them up."""
    if not report.left_out:
        return
    total = sum(report.left_out.values())
    folders = [name for name in report.left_out if name]
    parts = [f"{name}/ ({report.left_out[name]})" for name in folders[:_LEFT_OUT_SHOWN]]
    if len(folders) > _LEFT_OUT_SHOWN:
        parts.append(f"{len(folders) - _LEFT_OUT_SHOWN} more folders")
    if "" in report.left_out:
        parts.append(f"{report.left_out['']} at the top, beside DCIM/")
    typer.echo(
        f"Note: {total} photos and videos outside DCIM/ were not looked at: "
        f"{', '.join(parts)}. Only DCIM/ is backed up from a folder that holds one."
    )
    for name in folders[:_LEFT_OUT_SHOWN]:
        spec = shlex.quote(f"{report.source}/{name}")
        typer.echo(f"  to back up {name}/: companion backup --from {spec}")
