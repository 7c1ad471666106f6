"""``companion verify``: check that the vault still holds every file intact."""

from __future__ import annotations

from typing import Annotated

import typer

from companion.cli.common import (
    EXIT_STATUS,
    JobsOpt,
    JsonOpt,
    PassFileOpt,
    VaultOpt,
    byte_bar,
    emit_json,
    fed,
    human_bytes,
    printable,
    vault_ref,
)
from companion.errors import IntegrityError, UsageError
from companion.usecases.check import check
from companion.vault.verify import VerifyMode, VerifyReport


def register(app: typer.Typer) -> None:
    app.command("verify", epilog=EXIT_STATUS)(verify)


def verify(
    vault: VaultOpt = None,
    passphrase_file: PassFileOpt = None,
    full: Annotated[
        bool, typer.Option("--full", help="Decrypt and re-hash every file (reads everything).")
    ] = False,
    sample: Annotated[
        float | None,
        typer.Option(
            "--sample",
            metavar="PCT",
            min=0.01,
            max=100,
            help="Fully check this % of files, at random.",
        ),
    ] = None,
    jobs: JobsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check that the vault still holds every file intact.

    Without options, a quick check: every encrypted file exists with the exact size written.
    --full decrypts everything and compares it with the fingerprint taken at backup, and records
    the result in the vault. Damaged files are named one per line (exit 13).
    """
    if full and sample is not None:
        raise UsageError("--full and --sample exclude each other")
    mode = (
        VerifyMode.FULL if full else VerifyMode.SAMPLE if sample is not None else VerifyMode.QUICK
    )
    with byte_bar(0, f"verify ({mode.value})", enabled=not as_json) as bar:
        report = check(
            vault_ref(vault, passphrase_file),
            mode,
            sample_pct=sample or 100.0,
            jobs=jobs,
            progress=fed(bar),
        )
    _render(report, as_json)


def _render(report: VerifyReport, as_json: bool) -> None:
    if as_json:
        emit_json(report)
    else:
        typer.echo(
            f"Checked {report.objects_checked} files ({human_bytes(report.bytes_checked)}, "
            f"{report.mode.value}): {len(report.damaged)} damaged."
        )
        for damage in report.damaged:
            for path in damage.paths:
                typer.echo(f"  DAMAGED {printable(path)}: {damage.reason}", err=True)
    if not report.damaged:
        return
    count = sum(len(damage.paths) for damage in report.damaged)
    message = f"{count} file{'s' * (count != 1)} damaged in the vault"
    if report.mode is VerifyMode.QUICK:
        raise IntegrityError(message)
    raise IntegrityError(
        message,
        "Each damaged encrypted file was set aside; 'companion backup' from a source that still "
        "has the photos stores them again.",
    )
