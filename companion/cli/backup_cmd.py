"""``companion backup``: copy a source into the vault."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Any

import typer

from companion.backup import DryRunStore, VaultStore, run_backup
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
    read_passphrase,
    vault_path,
)
from companion.connectors import ConnectOptions, Connector, Preparable, connect
from companion.errors import ExitCode
from companion.model import Asset, BackupReport
from companion.vault import Vault
from companion.vault.unlock import MARKER


class _BarProgress:
    """Adapts the library's progress callbacks to a tqdm bar."""

    def __init__(self, bar: Any) -> None:
        self._bar = bar

    def start(self, total_bytes: int, total_items: int) -> None:
        self._bar.reset(total=total_bytes)
        self._bar.set_description(f"{total_items} files")

    def advance(self, nbytes: int) -> None:
        self._bar.update(nbytes)

    def item_done(self, asset: Asset, outcome: str) -> None:
        self._bar.set_postfix_str(asset.name, refresh=False)


def register(app: typer.Typer) -> None:
    app.command("backup", epilog=EXIT_STATUS)(backup)


def backup(
    source: Annotated[
        str,
        typer.Option(
            "--from",
            metavar="SOURCE",
            help="Where the photos are: usb (the only iPhone connected by cable), usb:UDID "
            "(one of several, see 'companion devices'), or folder:PATH (a camera-roll export "
            "or a mounted DCIM folder; when PATH holds a DCIM folder, only DCIM/ is backed up, "
            "and the summary counts and names the folders of photos beside it).",
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
    as_json: JsonOpt = False,
) -> int:
    """Back up an iPhone's photos and videos (or a folder's) into the vault, incrementally.

    Only new or changed files are read; each is hashed, encrypted and written once (identical
    files are stored once). Interrupt it at any time: the next run resumes where it stopped.
    Files that fail (changed while read, unreadable) are listed and retried next run (exit 4);
    photos and videos stored with a warning (an empty file, bytes that are no picture) are
    listed too (exit 4).
    """
    root = vault_path(vault)
    options = ConnectOptions(
        notify=lambda line: typer.echo(line, err=True),
        usbmux_address=usbmux,
        include_trashed=include_trashed,
        trust_timeout=trust_timeout,
    )
    connector = connect(source, options)
    with closing_connector(connector):
        return _backup(connector, root, passphrase_file, dry_run, jobs, as_json)


def _backup(
    connector: Connector,
    root: Path,
    passphrase_file: Path | None,
    dry_run: bool,
    jobs: int | None,
    as_json: bool,
) -> int:
    if dry_run:
        report = _dry_run(connector, root, passphrase_file)
    else:
        passphrase = read_passphrase(passphrase_file)
        if isinstance(connector, Preparable) and (root / MARKER).exists():
            connector.prepare()  # pairing and TLS go on while the passphrase unlocks the vault
        with Vault.open(root, passphrase, write=True) as opened:
            connector.info()  # connect (a phone may ask to be trusted) before drawing the bar
            with byte_bar(0, "backup", enabled=not as_json) as bar:
                store = VaultStore(opened, jobs)
                report = run_backup(connector, store, progress=_BarProgress(bar))
    _render(report, as_json)
    return int(ExitCode.PARTIAL) if report.failed or report.warnings else 0


def _dry_run(connector: Connector, root: Path, passphrase_file: Path | None) -> BackupReport:
    if not (root / MARKER).exists():
        return run_backup(connector, DryRunStore(None))
    with Vault.open(root, read_passphrase(passphrase_file)) as opened:
        return run_backup(connector, DryRunStore(opened))


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
            typer.echo(f"  + {path}")
        _render_left_out(report)
        return
    typer.echo(
        f"Backed up {report.new} new files ({human_bytes(report.bytes_read)} read); "
        f"{report.deduplicated} already in the vault (same content); "
        f"{report.skipped} unchanged; {len(report.failed)} failed."
    )
    for path, reason in sorted(report.warnings.items()):
        typer.echo(f"  warning: {path}: {reason}", err=True)
    for path, reason in sorted(report.failed.items()):
        typer.echo(f"  failed: {path}: {reason}", err=True)
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
